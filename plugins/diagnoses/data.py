"""Diagnoses of the data fit received: the grader's own evaluation data used for training, and
augmented validation data."""

from __future__ import annotations

from grader.builtin.diagnoses.common import fits_to_read
from grader.diagnoses import Diagnosis, Hint
from grader.hookspecs import hookimpl


def trained_on_evaluation_data(evidence, results):
    splits = {c.params.get("split") for c in evidence.exercise.checks if c.type == "accuracy"}
    for split in sorted(s for s in splits if s):
        directory = evidence.folder_read(split)
        if directory:
            return Hint(title=f"Trained on the {split} data",
                        evidence=f"the training generator read the {split} folder ({directory}).",
                        try_this=f"Train on the train folder and pass the {split} data only as validation_data: "
                                 "a model graded on pictures it was trained on proves nothing.")
        share = evidence.overlap(split)
        if share >= 0.5:
            return Hint(title=f"Trained on the {split} data",
                        evidence=f"{share:.0%} of a sample of the examples model.fit trained on are identical (by "
                                 f"content hash) to the {split} examples the grader measures accuracy on.",
                        try_this=f"Train only on the training data; keep the {split} data for measuring.")
    return None


def validation_augmented(evidence, results):
    for fit in fits_to_read(evidence):
        val = fit.get("validation") or {}
        transforms = sorted(val.get("random_transforms") or {})
        ops = val.get("random_ops") or []
        if transforms or ops:
            what = ", ".join(transforms) if transforms else "random ops (" + ", ".join(ops) + ")"
            return Hint(title="The validation data is augmented",
                        evidence=f"the validation data passed to model.fit applies {what}, so val_accuracy measures "
                                 "distorted pictures and changes from one epoch to the next.",
                        try_this="Give the validation ImageDataGenerator only rescale=1./255; augment the training "
                                 "data alone.")
    return None


@hookimpl
def grader_register_diagnoses(register):
    register(Diagnosis("trained_on_evaluation_data", trained_on_evaluation_data,
                       "model.fit received the split the grader measures accuracy on (folder or content hashes)."))
    register(Diagnosis("validation_augmented", validation_augmented,
                       "The validation data passed to fit applies random transformations."))
