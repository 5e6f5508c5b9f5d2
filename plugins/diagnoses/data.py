"""Diagnoses of the data fit received: the grader's own evaluation data used for training, and
augmented validation data."""

from __future__ import annotations

import re

from grader.builtin.diagnoses.common import fits_to_read
from grader.diagnoses import Diagnosis, Hint
from grader.hookspecs import hookimpl


def trained_on_evaluation_data(evidence, results):
    splits = {c.params.get("split") for c in evidence.exercise.checks
              if c.type == "accuracy" and not c.params.get("seen")}  # seen: measured on training data on purpose
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
        share = evidence.overlap(f"{split}_visible")
        if share >= 0.5 and not evidence.held_back(split):  # the decoy test split the program was handed
            return Hint(title=f"Trained on your {split} split",
                        evidence=f"{share:.0%} of a sample of the examples model.fit trained on are the {split} "
                                 f"examples your program was given (x_{split}, y_{split}).",
                        try_this=f"Train on x_train and y_train; keep the {split} split for model.evaluate, to "
                                 "measure the model on examples it has not seen.")
        if share >= 0.5:
            return Hint(title=f"Trained on your {split} images",
                        evidence=f"{share:.0%} of a sample of the examples model.fit trained on are identical (by "
                                 f"content hash) to the {split} images your program was given, whatever folder "
                                 "they were copied to.",
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


def validation_gap(evidence, results):
    """Far better on the validation images the program had than on those held back: tuned to them."""
    for check in evidence.exercise.checks:
        split = check.params.get("split")
        if check.type != "accuracy" or not split or not evidence.held_back(split):
            continue
        try:
            held, seen = evidence.accuracy(split), evidence.accuracy(f"{split}_visible")
        except Exception:
            return None
        if held.get("problem") or seen.get("problem") or seen["accuracy"] - held["accuracy"] < 0.15:
            continue
        return Hint(title="Much better on the validation images you had than on those held back",
                    evidence=f"your model scores {seen['accuracy']:.3f} on the {seen['examples']} {split} images your "
                             f"program had, but {held['accuracy']:.3f} on the {held['examples']} held back from it: it "
                             f"fits those particular pictures rather than what they show in general.",
                    try_this="Choose epochs and settings by the training curve, not by rerunning until val_accuracy "
                             "is high; more augmentation or dropout makes the model generalise.")
    return None


_QUOTED = re.compile(r"'([^']+)'")


def data_path_missing(evidence, results):
    """The program looked for its data at a path the grader does not serve: name the places it does."""
    err = evidence.trace.get("error") or {}
    places = evidence.run.data_places
    if not places or err.get("type") not in ("FileNotFoundError", "NotADirectoryError"):
        return None
    asked = _QUOTED.search(err.get("message") or "")
    where = f" at {err['where']}" if err.get("where") else ""
    name = evidence.dataset.dataset.name if evidence.dataset is not None else "the exercise's"
    return Hint(title="Your program looked for its data where the grader does not put it",
                evidence=f"it asked for '{asked.group(1) if asked else '?'}' ({err['type']}{where}); while grading, "
                         f"the dataset {name} is at {', '.join(places)}.",
                try_this=f"Read the data from one of those paths, for example '{places[0]}'.")


@hookimpl
def grader_register_diagnoses(register):
    register(Diagnosis("validation_gap", validation_gap,
                       "Accuracy on the validation images the program had is far above that on the held-back ones."))
    register(Diagnosis("data_path_missing", data_path_missing,
                       "The program asked for a data path the grader does not serve; the hint names those it does."))
    register(Diagnosis("trained_on_evaluation_data", trained_on_evaluation_data,
                       "model.fit received the split the grader measures accuracy on (folder or content hashes)."))
    register(Diagnosis("validation_augmented", validation_augmented,
                       "The validation data passed to fit applies random transformations."))
