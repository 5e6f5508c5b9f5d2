"""Diagnoses of a student's own callback: it reads a metric the logs do not have, or compares the
metric with the threshold the wrong way round."""

from __future__ import annotations

from grader.builtin.diagnoses.common import fits_to_read
from grader.diagnoses import Diagnosis, Hint
from grader.hookspecs import hookimpl


def callback_metric_name(evidence, results):
    for fit in fits_to_read(evidence):
        for miss in fit.get("callback_misses") or []:
            key, available = miss["key"], miss.get("available") or []
            shown = ", ".join(available) or "nothing"
            if key.startswith("val_") and not any(k.startswith("val_") for k in available):
                plain = key[4:]
                held = plain if plain in available else {"acc": "accuracy", "accuracy": "acc"}.get(plain, plain)
                fix = (f"Pass validation_data=... to model.fit if you want {key}; otherwise read "
                       f"logs.get('{held if held in available else plain}').")
            else:
                close = [k for k in available if key.replace("acc", "accuracy") == k or k in key or key in k]
                fix = f"Read logs.get('{close[0] if close else (available[0] if available else 'accuracy')}')" + \
                      " instead: the key must be one the logs hold."
            return Hint(title="Your callback reads a metric that is not in the logs",
                        evidence=f"{miss.get('class') or 'your callback'}.{miss.get('hook')} read '{key}', but the "
                                 f"logs it received held only {shown}: logs['{key}'] raises KeyError and "
                                 f"logs.get('{key}') gives None.",
                        try_this=fix)
    return None


def callback_wrong_direction(evidence, results):
    lines = {c.params["metric"]: c.params["threshold"] for c in evidence.exercise.public_checks
             if c.type == "stopped_at_threshold"}
    if not lines:
        return None
    for fit in fits_to_read(evidence):
        stop, history = fit.get("stopped_by") or {}, fit.get("history") or {}
        mine = any(cb.get("student") for cb in fit.get("callbacks") or [])
        for metric, threshold in lines.items():
            values = history.get(metric) or history.get({"accuracy": "acc", "acc": "accuracy"}.get(metric, "")) or []
            if not mine or not values:
                continue
            reached = [i for i, v in enumerate(values) if v is not None and v >= threshold]
            last = len(values) - 1
            if stop.get("student") and not reached and last <= 1 and values[last] is not None:
                return Hint(title="Your callback stops training the wrong way round",
                            evidence=f"{stop.get('class')} stopped training at epoch {last + 1}, when {metric} was "
                                     f"{values[last]:.3f}, below {threshold:g}: it stops while the metric is under "
                                     "the line instead of once it is over it.",
                            try_this=f"Stop when logs.get('{metric}') >= {threshold:g} (check the comparison sign).")
            if reached and last - reached[0] >= 2 and not stop.get("student") and not fit.get("callback_misses"):
                return Hint(title="Your callback did not stop training at the threshold",
                            evidence=f"{metric} reached {values[reached[0]]:.3f} at epoch {reached[0] + 1}, at or above "
                                     f"{threshold:g}, but your callback let training run to epoch {last + 1}.",
                            try_this=f"In on_epoch_end, set self.model.stop_training = True when "
                                     f"logs.get('{metric}') >= {threshold:g} (check the comparison sign and the "
                                     "threshold).")
    return None


@hookimpl
def grader_register_diagnoses(register):
    register(Diagnosis("callback_metric_name", callback_metric_name,
                       "A student callback reads a metric name the logs do not hold (acc, val_acc, ...)."))
    register(Diagnosis("callback_wrong_direction", callback_wrong_direction,
                       "A student callback compares the metric with the threshold the wrong way round."))
