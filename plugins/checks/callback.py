"""Check types about the student's own callback, read from the training trace:
``callback_stopped``, ``stopped_at_threshold`` and ``stopped_early``."""

from grader.checks import CheckType, Field, ModelUnavailable, failed, passed, plural
from grader.hookspecs import hookimpl
from grader.outcome import fit_ending

METRIC_ALIASES = {"accuracy": ("accuracy", "acc"), "acc": ("acc", "accuracy"),
                  "val_accuracy": ("val_accuracy", "val_acc"), "val_acc": ("val_acc", "val_accuracy")}


def metric_values(fit: dict, metric: str) -> tuple[str, list]:
    for key in METRIC_ALIASES.get(metric, (metric,)):
        if key in fit["history"]:
            return key, fit["history"][key]
    logged = ", ".join(sorted(fit["history"])) or "nothing"
    raise ModelUnavailable(f"Training did not log '{metric}' (it logged {logged}). "
                           f"Compile with metrics=['{metric}'].")


def _stopper(fit) -> str:
    sb = fit.get("stopped_by") or {}
    return sb.get("class", "")


def check_callback_stopped(evidence, check):
    fit = evidence.last_graded_fit()
    sb = fit.get("stopped_by")
    own = [c["class"] for c in fit.get("callbacks", []) if c.get("student")]
    if fit.get("error") and fit_ending(fit) == "error":
        return failed(f"model.fit(...) stopped with an error after {plural(fit['epochs_run'], 'epoch')}: "
                      f"{fit['error'].splitlines()[0]}",
                      hint="Read the traceback under 'Your program'; your callback runs at the end of every epoch.")
    if sb and sb.get("student"):
        return passed(f"Your callback {sb['class']} stopped training after epoch {fit['epochs_run']}.")
    if sb and sb.get("grader"):
        return failed("The grader's time limit stopped training, not your callback.",
                      hint="Your callback should stop training well before the time limit; check its condition.")
    if sb:
        return failed(f"{sb['class']} stopped training, but it is a callback that comes with Keras; the exercise "
                      "asks for one you write yourself.",
                      hint="Write a subclass of tf.keras.callbacks.Callback whose on_epoch_end sets "
                           "self.model.stop_training = True.")
    if not own:
        return failed("No callback of yours was passed to model.fit(...), so nothing could stop training early.",
                      hint="Create your callback and pass it: model.fit(x, y, epochs=..., callbacks=[callbacks]).")
    return failed(f"Your callback {', '.join(own)} never stopped training: all "
                  f"{plural(fit['epochs_run'], 'epoch')} you asked for ran.",
                  hint="In on_epoch_end, compare logs.get('accuracy') with the threshold and set "
                       "self.model.stop_training = True when it is reached.")


def check_stopped_at_threshold(evidence, check):
    fit = evidence.last_graded_fit()
    metric, threshold = check.params["metric"], check.params["threshold"]
    if fit.get("error") and fit_ending(fit) == "error":
        return failed(f"Training ended with an error after {plural(fit['epochs_run'], 'epoch')} "
                      f"({fit['error'].splitlines()[0]}), not by stopping at the threshold.",
                      expected=f"{metric} >= {threshold:g}",
                      hint="Fix the error first (its traceback is under 'Your program'); your callback runs at "
                           "the end of every epoch, so an error in it ends training.")
    key, values = metric_values(fit, metric)
    reached = [i for i, v in enumerate(values) if v is not None and v >= threshold]
    last = fit["epochs_run"] - 1
    stopped = bool(fit.get("stopped_by"))
    got = {f"epoch {i + 1}": round(v, 4) for i, v in enumerate(values) if v is not None}
    if not reached:
        best = max((v for v in values if v is not None), default=None)
        best_text = f" (best {best:.3f})" if best is not None else ""
        if stopped and _stopper(fit) != "GraderTimeBudget":
            return failed(f"Training stopped at epoch {last + 1}, when {key} was {values[last]:.3f}: below "
                          f"{threshold:g}, so it stopped too early.", expected=f"{key} >= {threshold:g}", got=got,
                          hint=f"Stop only when logs.get('{key}') >= {threshold:g}.")
        return failed(f"{key} never reached {threshold:g} in {plural(len(values), 'epoch')}{best_text}.",
                      expected=f"{key} >= {threshold:g}", got=got,
                      hint="Ask model.fit for more epochs so the threshold can be reached.",
                      slack=None if best is None else best - threshold)
    first = reached[0]
    if last == first:
        return passed(f"Training stopped at epoch {first + 1}, the first epoch whose {key} ({values[first]:.3f}) "
                      f"reached {threshold:g}.")
    stricter = stricter_threshold(values[:last + 1], threshold, check.params.get("accept_up_to"))
    if stricter is not None:
        return passed(f"Training stopped at epoch {last + 1}, the first epoch whose {key} ({values[last]:.4f}) "
                      f"passed your threshold, stricter than {threshold:g}: this exercise also accepts a callback "
                      f"that stops at any threshold up to {check.params['accept_up_to']:g}.")
    if last < first:
        return failed(f"Training stopped at epoch {last + 1}, when {key} was {values[last]:.3f}: below "
                      f"{threshold:g}, so it stopped too early.", expected=f"stop at epoch {first + 1}", got=got,
                      hint=f"Stop only when logs.get('{key}') >= {threshold:g}.")
    how = "training went on" if not stopped else f"{_stopper(fit)} stopped it only"
    return failed(f"{key} reached {values[first]:.3f} at epoch {first + 1}, but {how} to epoch {last + 1}.",
                  expected=f"stop at epoch {first + 1}", got=f"stopped at epoch {last + 1}",
                  hint=f"Check {key} in on_epoch_end, every epoch, and stop as soon as it reaches {threshold:g}.")


def stricter_threshold(values: list, threshold: float, accept_up_to) -> float | None:
    """The lowest threshold in [threshold, accept_up_to] whose first crossing is the last of ``values``
    (a callback that waits for, say, 99.8% where the exercise asks for 99.5%), or None."""
    if not isinstance(accept_up_to, (int, float)) or not values or values[-1] is None or values[-1] < threshold:
        return None
    earlier = max((v for v in values[:-1] if v is not None), default=float("-inf"))
    return max(threshold, earlier) if earlier < min(values[-1], accept_up_to) else None


def check_stopped_early(evidence, check):
    fit = evidence.last_graded_fit()
    asked, ran = fit["epochs_requested"], fit["epochs_run"]
    sb = fit.get("stopped_by") or {}
    if sb.get("student") and isinstance(asked, int) and ran < asked:
        return passed(f"Your callback ended training after {ran} of the {plural(asked, 'epoch')} you asked for.")
    if sb.get("student"):
        return failed(f"Your callback fired at epoch {ran}, the last of the {plural(asked, 'epoch')} you asked for, "
                      "so the epoch count, not your callback, ended training.",
                      hint="Ask model.fit for more epochs than you need; the callback decides when to stop.")
    return failed(f"Training ran {ran} of the {plural(asked, 'epoch')} you asked for without your callback "
                  "stopping it.", hint="Ask for more epochs than needed and let your callback stop training.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="callback_stopped", run=check_callback_stopped,
        description="A callback defined in the student's code set model.stop_training.", rests_on_record=True))
    register(CheckType(
        name="stopped_at_threshold", run=check_stopped_at_threshold,
        description="Training stopped at the first epoch whose metric reached the threshold.",
        fields={"metric": Field("string", required=False, default="accuracy", help="the logged metric"),
                "threshold": Field("number", help="the value that should stop training"),
                "accept_up_to": Field("number", required=False, default=None,
                                      help="also right: a stricter threshold up to this value (the course's "
                                           "older versions asked for more)")}, rests_on_record=True))
    register(CheckType(
        name="stopped_early", run=check_stopped_early,
        description="The student's callback stopped training before the requested epochs ran out.",
        rests_on_record=True))
