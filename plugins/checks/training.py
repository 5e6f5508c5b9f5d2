"""Check types read from the training trace: ``trained_with_fit`` and ``within_limits``."""

from grader.checks import CheckType, Field, ModelUnavailable, failed, passed, plural
from grader.hookspecs import hookimpl


def _where(fit) -> str:
    return f" (line {fit['line']})" if fit.get("line") else ""


def fell(first: float, last: float) -> str:
    """How the loss fell, with as many digits as show it falling (four, or more when four show the same)."""
    for digits in range(4, 10):
        before, after = f"{first:.{digits}g}", f"{last:.{digits}g}"
        if before != after:
            break
    return f"the loss fell from {before} to {after}"


def check_trained_with_fit(evidence, check):
    info = evidence.model_info
    if not info.get("found") or not info.get("saved"):
        raise ModelUnavailable(evidence.why_no_model())
    evidence.model()  # a model the grader cannot load is not a trained model either
    if not info.get("fitted"):
        ran = [f for f in evidence.fits if f.get("epochs_run")]
        if evidence.fits and not ran:
            message, hint = evidence.no_epoch_reason(evidence.fits[0])
            return failed(f"The graded model ({info.get('source')}) was never trained: {message}", hint=hint)
        if evidence.fits:
            return failed(f"The graded model ({info.get('source')}) was never trained: model.fit(...) was called "
                          "on a different model.",
                          hint="Train the same model object you hand in: model.fit(xs, ys, epochs=...).")
        return failed(f"The graded model ({info.get('source')}) was never trained: model.fit(...) was not called.",
                      hint="Call model.fit(xs, ys, epochs=...) after model.compile(...).")
    fits = evidence.graded_fits()
    epochs = sum(f["epochs_run"] for f in fits)
    if epochs < check.params["min_epochs"]:
        return failed(f"The model was trained for {plural(epochs, 'epoch')}; at least {check.params['min_epochs']} "
                      "are needed.",
                      expected=f">= {check.params['min_epochs']} epochs", got=epochs)
    loss = [v for f in fits for v in f["history"].get("loss", [])]
    if any(v is None for v in loss):
        first_bad = next(i for i, v in enumerate(loss) if v is None) + 1
        return failed(f"The loss became NaN or infinite at epoch {first_bad}: training diverged.",
                      got=f"loss not a number from epoch {first_bad}",
                      hint="Lower the learning rate, and scale inputs to small numbers (for images: divide by 255).")
    if info.get("weights_changed_after_fit"):
        return failed("The model's weights were changed after model.fit(...) finished, so the graded model is not "
                      "the one training produced.",
                      hint="Let model.fit(...) set the weights; do not overwrite them with set_weights(...) afterwards.")
    if len(loss) >= 2 and not loss[-1] < loss[0]:
        return failed(f"The loss did not go down during training (epoch 1: {loss[0]:.4g}, last epoch: {loss[-1]:.4g}).",
                      expected="loss falls", got=f"{loss[0]:.4g} -> {loss[-1]:.4g}")
    trend = f"; {fell(loss[0], loss[-1])}" if len(loss) >= 2 else ""
    return passed(f"The model was trained with model.fit(...) for {plural(epochs, 'epoch')}{trend}.")


def check_within_limits(evidence, check):
    run = evidence.run
    limit = run.time_limit_s
    when = evidence.outcome()["when"]
    training = {"after": ", after training had ended", "before": ", before training began"}.get(when, "")
    if run.timed_out:
        return failed(f"Your program was stopped at the {limit:g} s time limit (it was still running{training}).",
                      expected=f"<= {limit:g} s", got=f"> {limit:g} s", hint=evidence.limit_hint())
    if run.memory_exceeded:
        return failed(f"Your program was stopped{training.replace(',', '')}: it asked for more memory than the limit of "
                      f"{run.memory_limit_mib} MiB.",
                      expected=f"<= {run.memory_limit_mib} MiB", got=f"> {run.memory_limit_mib} MiB",
                      hint=evidence.limit_hint())
    if run.disk_exceeded:
        return failed(f"Your program was stopped: its files took more than the disk limit of {run.disk_limit_mib} MiB.",
                      hint="Do not write large files; save only the model.")
    fits = evidence.fits
    timed = [f for f in fits if f.get("limit_hit") == "time"]
    if timed:
        f = timed[0]
        return failed(f"Training was stopped by the grader's time budget after {f['epochs_run']} of "
                      f"{f['epochs_requested']} epochs{_where(f)}; the time limit is {limit:g} s.",
                      hint="Use fewer epochs or a smaller model; the model as trained so far was graded.")
    capped = [f for f in fits if f.get("capped")]
    if capped:
        f = capped[0]
        return failed(f"You asked model.fit for {f['epochs_requested']} epochs{_where(f)}, but the limit is "
                      f"{f['epochs_allowed']}; training stopped after {f['epochs_run']}.",
                      expected=f"<= {f['epochs_allowed']} epochs", got=f["epochs_requested"],
                      hint=f"Ask for at most {f['epochs_allowed']} epochs.")
    if not any(f["epochs_run"] for f in fits):
        return failed("No training ran, so there is nothing to check against the limits.",
                      hint=evidence.unavailable_hint())
    epochs = max(f["epochs_run"] for f in fits)
    cap = evidence.exercise.max_epochs  # the grader's own cap, not the one the trace repeats
    if cap and epochs > cap:
        return failed(f"The training record claims {plural(epochs, 'epoch')} in one call to model.fit, more than the "
                      f"{cap} the grader lets a fit run: the record is not what the grader wrote.",
                      expected=f"<= {cap} epochs", got=epochs,
                      hint="Hand in a program that trains with model.fit; do not edit the grader's record.")
    cap_text = f" (limit {cap} per fit)" if cap else ""
    count = sum(1 for f in fits if f["epochs_run"])
    used = plural(epochs, "epoch") if count == 1 else f"{count} calls to model.fit, the longest {plural(epochs, 'epoch')}"
    return passed(f"Training used {used}{cap_text} and the program took {run.duration_s:.1f} s of the {limit:g} s "
                  "limit.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="trained_with_fit",
        run=check_trained_with_fit,
        description="The graded model is a Keras model trained by model.fit, with a finite, falling loss.",
        fields={"min_epochs": Field("integer", required=False, default=1, help="fewest epochs that count")},
        rests_on_record=True,
    ))
    register(CheckType(
        name="within_limits",
        run=check_within_limits,
        description="The program stayed within the exercise's time, memory and disk limits, and each fit within its epoch limit.",
        rests_on_record=True,  # the epochs each fit ran are the record's
    ))
