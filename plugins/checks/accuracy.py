"""Check type ``accuracy``: the grader measures the model's accuracy on a split the student never had."""

from grader.checks import CheckType, Field, failed, passed
from grader.hookspecs import hookimpl


def check_accuracy(evidence, check):
    split, threshold, seen = check.params["split"], check.params["threshold"], check.params["seen"]
    if seen and not evidence.model_info.get("fitted") and evidence.model_info.get("saved"):
        return failed("Your model was never trained with model.fit(...), so its accuracy on these images says nothing "
                      "about what training taught it.",
                      hint="Train the model you hand in with model.fit(...).")
    if seen and evidence.model_info.get("fitted") and not evidence.model_info.get("learned_in_fit"):
        return failed("Your model's weights did not change while model.fit(...) ran: whatever it knows about these "
                      "images, it did not learn from training, so its accuracy on them proves nothing.",
                      hint="Let model.fit(...) train the layers (trainable=True), starting from Keras' own initial "
                           "weights.")
    if not seen and evidence.trained_on(split):
        return failed(f"Your model was trained on the {split} images themselves, so its accuracy on them says "
                      "nothing about pictures it has not seen.",
                      hint=f"Train on the training data; use the {split} data only as validation_data.")
    result = evidence.accuracy(split)
    if result.get("problem"):
        return failed(result["problem"], hint=result.get("hint", ""))
    acc, n = result["accuracy"], result["examples"]
    scale = result["scale_note"] + _reported(evidence, split) + _visible(evidence, split) + _skipped(result["skipped"])
    what = f"on the {n} {split} images your program trained on" if seen else \
        f"on {n} {split} examples your program never saw" if split == "test" else \
        f"on the {n} {split} images held back from your program" if evidence.held_back(split) else \
        f"on the grader's copy of the {n} {split} images"
    slack = acc - threshold
    if check.hidden:
        if acc >= threshold:
            return passed(f"Your model's accuracy {what} is {acc:.3f}, enough to pass.{scale}", slack=slack)
        return failed(f"Your model's accuracy {what} is {acc:.3f}, below what this exercise requires.{scale}",
                      hint="Train until the training accuracy is high, and check that the data you train on is "
                           "prepared the same way as new pictures are (pixels scaled to 0..1, by dividing by 255 or "
                           "with a Rescaling layer in the model).", slack=slack)
    if acc >= threshold:
        return passed(f"Your model's accuracy {what} is {acc:.3f} (at least {threshold:g} needed).{scale}",
                      expected=f">= {threshold:g}", got=round(acc, 4), slack=slack)
    return failed(f"Your model's accuracy {what} is {acc:.3f}; at least {threshold:g} is needed.{scale}",
                  expected=f">= {threshold:g}", got=round(acc, 4), slack=slack, hint=_accuracy_hint(evidence, acc))


def _accuracy_hint(evidence, measured: float | None = None) -> str:
    """What to try, from how training ended: more training only helps a model that has not yet fitted
    the data it trains on (nearly all of it, or far better than the pictures it is graded on)."""
    try:
        history = evidence.last_graded_fit()["history"]
    except Exception:
        return "Train for more epochs or use a larger model."
    values = [v for v in history.get("accuracy", history.get("acc", [])) if v is not None]
    if values and (values[-1] >= 0.98 or (measured is not None and values[-1] - measured >= 0.2)):
        return (f"Your training accuracy reached {values[-1]:.3f}, so more epochs or a larger model will not help: "
                "the model fits the pictures it trained on but not new ones. Augment the training data, add "
                "Dropout, and check that new pictures are prepared like the training ones (the same scaling).")
    if values:
        return f"Your training accuracy ended at {values[-1]:.3f}: train for more epochs or use a larger model."
    return "Train for more epochs or use a larger model."


def _reported(evidence, split) -> str:
    """The student's own last val_accuracy, shown beside the grader's number (not trusted)."""
    if split != "validation":
        return ""
    try:
        history = evidence.last_graded_fit()["history"]
    except Exception:
        return ""
    values = [v for v in history.get("val_accuracy", history.get("val_acc", [])) if v is not None]
    return f" Your training reported {values[-1]:.3f} at its last epoch." if values else ""


def _visible(evidence, split) -> str:
    """With part of the split held back: the accuracy on the part the program had, for comparison."""
    if not evidence.held_back(split):
        return ""
    seen = evidence.accuracy(f"{split}_visible")
    if seen.get("problem"):
        return ""
    return (f" On the {seen['examples']} {split} images your program had, it scores {seen['accuracy']:.3f} "
            "(not graded).")


def _skipped(files) -> str:
    if not files:
        return ""
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return f" {len(files)} image(s) that do not decode were left out: {shown}."


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="accuracy", run=check_accuracy,
        description="Accuracy measured by the grader on a dataset split the student's process never received "
                    "(or, with seen = true, on the data it trained on).",
        fields={"split": Field("string", required=False, default="test", help="the dataset split to measure on"),
                "threshold": Field("number", help="the accuracy needed, 0 to 1"),
                "seen": Field("boolean", required=False, default=False,
                              help="the split is the one the program trained on: measures what the trained model "
                                   "learnt (not how it generalises), for a dataset with nothing to hold back")}))
