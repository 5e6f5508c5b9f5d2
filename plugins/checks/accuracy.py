"""Check type ``accuracy``: the grader measures the model's accuracy on a split the student never had."""

from grader.checks import CheckType, Field, failed, passed
from grader.hookspecs import hookimpl


def check_accuracy(evidence, check):
    split, threshold = check.params["split"], check.params["threshold"]
    result = evidence.accuracy(split)
    if result.get("problem"):
        return failed(result["problem"], hint=result.get("hint", ""))
    acc, n = result["accuracy"], result["examples"]
    scale = result["scale_note"]
    what = f"on {n} {split} examples your program never saw"
    if check.hidden:
        if acc >= threshold:
            return passed(f"Your model's accuracy {what} is {acc:.3f}, enough to pass.{scale}")
        return failed(f"Your model's accuracy {what} is {acc:.3f}, below what this exercise requires.{scale}",
                      hint="Train until the training accuracy is high, and check that the data you train on is "
                           "prepared the same way as for predictions (pixels scaled to 0..1).")
    if acc >= threshold:
        return passed(f"Your model's accuracy {what} is {acc:.3f} (at least {threshold:g} needed).{scale}",
                      expected=f">= {threshold:g}", got=round(acc, 4))
    return failed(f"Your model's accuracy {what} is {acc:.3f}; at least {threshold:g} is needed.{scale}",
                  expected=f">= {threshold:g}", got=round(acc, 4),
                  hint="Train for more epochs or use a larger model.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="accuracy", run=check_accuracy,
        description="Accuracy measured by the grader on a dataset split the student's process never received.",
        fields={"split": Field("string", required=False, default="test", help="the dataset split to measure on"),
                "threshold": Field("number", help="the accuracy needed, 0 to 1")}))
