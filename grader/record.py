"""The child's record of training, held against the trained model on the trusted side.

The record (fits, epochs, histories, which callback stopped training) is written inside the student's
own process, where the student's code can reach it. What the trusted side can check without replaying
training is whether the record describes the model it was handed: the last epoch's training accuracy,
as the record states it, against the model's accuracy on the grader's own copy of the same training
data. A record that claims much more than the model can do was not written by training this model;
the checks that rest on the record then fail (``CheckType.rests_on_record``).

A verdict is one of:
- ``consistent``: the record's claim agrees with the model, within ``TOLERANCE``;
- ``contradicted``: the model is far below what the record claims;
- ``unverifiable``: nothing to compare (the exercise carries its own data, no accuracy was logged,
  training used other data or a small part of it, or the model could not be measured), with the reason;
- ``no_training``: the record claims no training of the graded model, so it claims nothing to check.
"""

from __future__ import annotations

ACCURACY_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")
# Keras logs an epoch's training accuracy as its running mean while the weights improve, with dropout
# and augmentation on; the model at the epoch's end, measured without them, scores higher on the same
# data, not lower. The margin covers a sample's error and batch normalisation's lag early in training.
TOLERANCE = 0.10
SAMPLE = 10000  # training examples measured (evenly spaced): enough for +-0.01, bounded in cost
MOST = 0.5  # a fit that saw fewer than this share of the training split trained on a part of it


def verdict(evidence) -> dict:
    """The record held against the model: {status, sentence[, claimed, measured, examples]}."""
    from grader.checks import ModelUnavailable

    try:
        fit = evidence.last_graded_fit()
    except ModelUnavailable:
        return {"status": "no_training", "sentence": "The record claims no training of the graded model."}
    if evidence.dataset is None:
        return _unverifiable("the exercise carries its own data, so the grader has no copy of what the program "
                             "trained on to measure the model with")
    history = fit.get("history") or {}
    name = next((n for n in ACCURACY_NAMES if isinstance(history.get(n), list) and history[n]), None)
    values = [v for v in history.get(name) or [] if isinstance(v, (int, float))]
    if not values:
        return _unverifiable("the record logs no training accuracy to compare with the model")
    claimed = float(values[-1])
    try:
        trained_on_train = evidence.trained_on("train")
    except Exception:  # a dataset with no training split
        trained_on_train = False
    if not trained_on_train:
        return _unverifiable("the grader cannot match what the program trained on with its own copy of the "
                             "training data (a program may train on files it made itself, as split_data does)")
    try:
        measured = evidence.accuracy_sample("train", SAMPLE)
    except Exception as exc:  # no model to measure, or the evaluator failed: the checks say that themselves
        return _unverifiable(f"the model could not be measured on the training data ({exc})")
    if measured.get("problem"):
        return _unverifiable(f"the model could not be measured on the training data ({measured['problem']})")
    total, rows = measured.get("split_size"), _rows(fit)
    if rows is not None and total and rows < MOST * total:
        return _unverifiable(f"the program trained on {rows} of the {total} training examples, so the model's "
                             "accuracy on all of them is not what the record measured")
    acc, n = float(measured["accuracy"]), int(measured["examples"])
    facts = {"claimed": round(claimed, 4), "measured": round(acc, 4), "examples": n}
    if acc < claimed - TOLERANCE:
        return dict(facts, status="contradicted", sentence=(
            f"The record of training says the training accuracy reached {claimed:.3f} in the last epoch, but the "
            f"trained model scores {acc:.3f} on {n} of the same training examples: the record does not describe "
            "this model, so the checks that rest on it fail."))
    return dict(facts, status="consistent", sentence=(
        f"The record's last training accuracy ({claimed:.3f}) agrees with the trained model's ({acc:.3f} on {n} "
        "training examples, measured by the grader)."))


def _unverifiable(why: str) -> dict:
    return {"status": "unverifiable", "sentence": f"Not checked against the model: {why}.", "reason": why}


def _rows(fit: dict) -> int | None:
    """How many examples an array fit received (None for generators and datasets)."""
    shape = ((fit.get("data") or {}).get("x") or {}).get("shape")
    return shape[0] if isinstance(shape, list) and shape and isinstance(shape[0], int) else None
