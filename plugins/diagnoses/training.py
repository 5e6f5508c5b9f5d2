"""Diagnoses read from the loss curves and epoch times: a learning rate too high, overfitting,
underfitting, and a model too slow for the time limit."""

from __future__ import annotations

import math

from grader.builtin.diagnoses.common import failed_below_threshold, finite, fits_to_read
from grader.diagnoses import Diagnosis, Hint
from grader.hookspecs import hookimpl
from grader.outcome import fit_ending


def _lower_rate(fit: dict) -> str:
    comp = fit.get("compile") or {}
    rate, name = comp.get("learning_rate"), comp.get("optimizer") or "the optimizer"
    if rate:
        return (f"Lower the learning rate: {name} used {rate:g}; try {rate / 10:g}, e.g. "
                f"optimizer=tf.keras.optimizers.{name}(learning_rate={rate / 10:g}).")
    return "Lower the optimizer's learning rate ten times."


def learning_rate_too_high(evidence, results):
    for fit in fits_to_read(evidence):
        losses = (fit.get("history") or {}).get("loss") or []
        for k, v in enumerate(losses):
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                return Hint(title="Training diverged",
                            evidence=f"the loss became {v if v is not None else 'NaN'} at epoch {k + 1}: the "
                                     "weight updates were too large and the weights stopped being numbers.",
                            try_this=_lower_rate(fit) + " Also check that inputs are scaled to 0..1.",
                            marker={"fit": fit["index"], "epoch": k, "label": "loss NaN"})
        if len(losses) >= 3:
            rises = sum(b > a for a, b in zip(losses, losses[1:]))
            if losses[-1] > 1.5 * losses[0] and rises > (len(losses) - 1) / 2:
                return Hint(title="The loss grows instead of falling",
                            evidence=f"the loss went from {losses[0]:.4g} at epoch 1 to {losses[-1]:.4g} at epoch "
                                     f"{len(losses)}, rising in {rises} of {len(losses) - 1} epochs.",
                            try_this=_lower_rate(fit))
    return None


def overfitting(evidence, results):
    for fit in fits_to_read(evidence):
        h = fit.get("history") or {}
        val, train_acc = finite(h.get("val_loss") or []), h.get("accuracy") or h.get("acc") or []
        if len(val) < 5 or len(val) != len(h.get("val_loss") or []):
            continue
        k = min(range(len(val)), key=val.__getitem__)
        after = len(val) - 1 - k
        if after < 3 or val[-1] < 1.1 * val[k] or sum(b > a for a, b in zip(val[k:], val[k + 1:])) < 0.66 * after:
            continue
        acc = finite(train_acc)
        if len(acc) == len(val) and acc[-1] > acc[k]:
            rising = f" while the training accuracy kept rising, from {acc[k]:.3f} to {acc[-1]:.3f}"
        else:
            losses = finite(h.get("loss") or [])
            if len(losses) != len(val) or losses[-1] >= losses[k]:
                continue
            rising = f" while the training loss kept falling, from {losses[k]:.4g} to {losses[-1]:.4g}"
        return Hint(title="Overfitting: training went on after the validation loss was best",
                    evidence=f"the validation loss was lowest at epoch {k + 1} ({val[k]:.4g}) and rose to "
                             f"{val[-1]:.4g} by epoch {len(val)}{rising}: the network is memorising the training "
                             "images instead of learning what generalises.",
                    try_this=f"Train for about {k + 1} epochs, or add data augmentation or Dropout so it can "
                             "train longer without memorising.",
                    marker={"fit": fit["index"], "epoch": k, "label": "validation loss lowest"})
    return None


def underfitting(evidence, results):
    short = failed_below_threshold(results)
    if not short:
        return None
    fits = [f for f in fits_to_read(evidence) if f.get("epochs_run")]
    if not fits:
        return None
    fit = fits[-1]
    if fit.get("limit_hit") == "time":
        return None  # the time-limit diagnosis says what to do
    losses = finite((fit.get("history") or {}).get("loss") or [])
    if len(losses) < 2 or losses[-2] <= 0:
        return None
    drop = (losses[-2] - losses[-1]) / losses[-2]
    accuracy = finite((fit.get("history") or {}).get("accuracy") or (fit.get("history") or {}).get("acc") or [])
    if drop < 0.03 or (accuracy and accuracy[-1] >= 0.97):
        return None  # not falling any more, or falling only because the training set is memorised
    n = len(losses)
    fixed = evidence.exercise.fixed_architecture  # the task prescribes the model: never suggest another
    cap = evidence.exercise.max_epochs
    if fit.get("capped") or (cap is not None and n >= cap):  # more epochs are not allowed: better ones are
        what = (f"The grader allows at most {fit.get('epochs_allowed') or cap} epochs per fit, so make each epoch count: "
                + ("a larger learning rate." if fixed else "a larger model, or a larger learning rate."))
    else:
        what = f"Train longer (more than {n} epochs)" + ("." if fixed else " or use a larger model.")
    return Hint(title="Training ended while the model was still learning",
                evidence=f"the loss fell by {drop:.0%} in the last epoch ({losses[-2]:.4g} to {losses[-1]:.4g}) and "
                         f"was still falling when training ended at epoch {n}, short of what '{short[0].title}' needs.",
                try_this=what)


def too_slow(evidence, results):
    run = evidence.run
    for fit in fits_to_read(evidence):
        times = finite(fit.get("epoch_times") or [])
        # only a fit the time limit cut short: not one that ended (the program hung after it), nor one the
        # student's callback stopped
        if fit_ending(fit) != "time_limit" and not (run.timed_out and fit_ending(fit) == "cut"):
            continue
        wanted = fit.get("epochs_requested")
        limit = run.time_limit_s
        if not times:
            return Hint(title="Too slow for the time limit",
                        evidence=f"not one epoch finished within the {limit:g} s time limit.",
                        try_this="Make an epoch cheaper: smaller images (target_size), fewer or smaller "
                                 "layers, or fewer steps_per_epoch.")
        trained = sum(times)
        spent = fit.get("duration_s") if isinstance(fit.get("duration_s"), (int, float)) else trained
        spent = max(spent, trained)
        done = max(len(times), fit.get("epochs_run") or 0)
        each = spent / done  # an epoch as the fit paid for it: training, the callbacks' own code, validation
        how = f"the grader stopped it, to keep within the {limit:g} s time limit" if fit.get("limit_hit") == "time" \
            else f"the {limit:g} s time limit stopped the program"
        stopped = (f"model.fit had run for {spent:.1f} s and finished {done} of its {wanted} epochs (about {each:.2f} s "
                   f"each) when {how}")
        elsewhere = spent - trained
        if elsewhere > 0.5 * spent:
            where = f" ({run.trace['stopped_at']})" if run.trace.get("stopped_at") else ""
            return Hint(title="Too slow for the time limit",
                        evidence=f"{stopped}; {elsewhere:.1f} s of it went into code run between the training steps, "
                                 f"your callbacks{where}, not the training itself.",
                        try_this="Make your callback quick: no time.sleep and no loop that waits inside on_epoch_end; "
                                 "it should only read the logs and set self.model.stop_training.")
        fits_in = max(1, int(0.8 * limit / each))
        fewer = f" or ask for fewer epochs (about {fits_in} fit in the limit)" if isinstance(wanted, int) and \
            fits_in < wanted else ""
        return Hint(title="Too slow for the time limit",
                    evidence=f"{stopped}.",
                    try_this=f"Make an epoch cheaper (smaller images, fewer filters or steps_per_epoch){fewer}.")
    return None


@hookimpl
def grader_register_diagnoses(register):
    register(Diagnosis("learning_rate_too_high", learning_rate_too_high,
                       "The loss becomes NaN or infinite, or grows, during training."))
    register(Diagnosis("overfitting", overfitting,
                       "Training accuracy keeps rising while the validation loss rises."))
    register(Diagnosis("underfitting", underfitting,
                       "A threshold was missed while the loss was still falling steeply at the last epoch."))
    register(Diagnosis("too_slow", too_slow, "Epochs too slow to finish the requested training within the limit."))
