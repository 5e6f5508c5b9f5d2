"""Check type ``split_data``: course 2 week 1's ``split_data(SOURCE, TRAINING, TESTING, SPLIT_SIZE)``, judged
from the files the program left (listed and hashed by the grader once it ended, never from what the
program says about them): each class's pictures copied into a training and a testing (or validation)
folder, ``SPLIT_SIZE`` of them for training, no zero-length file copied, no picture in both, and nothing
but the class's own pictures.
"""

from __future__ import annotations

import hashlib

from grader.builtin.datasets.pet_images import CLASSES, TOP, class_files
from grader.checks import CheckType, Field, failed, passed, plural
from grader.hookspecs import hookimpl

TRAINING_NAMES = ("training", "train")
TESTING_NAMES = ("testing", "validation", "test", "valid")


_SOURCES: dict = {}


def _sources(located) -> tuple:
    """{content hash: class} of the non-empty files of the program's own class folders, and {class: how
    many} (kept per copy of the dataset: a class's gradings share them). Kaggle's folders hold a Thumbs.db
    each, which the course's split_data copies like a picture (its expected 11,250 training files count it)."""
    key = (str(located.path), located.held_back, located.stamp())
    if key in _SOURCES:
        return _SOURCES[key]
    owner, counts = {}, {}
    held = {f for files in class_files(located, "test").values() for f in files}
    for cls in CLASSES:  # every file split_data sees: its pictures and the folder's Thumbs.db alike
        counts[cls] = 0
        folder = located.path / TOP / cls
        for f in sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p not in held):
            data = f.read_bytes()
            if data:
                owner[hashlib.sha256(data).hexdigest()] = cls
                counts[cls] += 1
    _SOURCES.clear()
    _SOURCES[key] = (owner, counts)
    return owner, counts


def _split_folders(files: list) -> tuple:
    """{split folder: {class folder: [file rows]}} from the inventory's relative paths ("training/cats/1.jpg")."""
    tree: dict = {}
    for row in files:
        parts = row["path"].split("/")
        if len(parts) == 3:
            tree.setdefault(parts[0], {}).setdefault(parts[1], []).append(row)
    return tree


def check_split_data(evidence, check):
    output = check.params["output"]
    listing = (evidence.run.outputs or {}).get(output)
    if not listing or listing.get("error") in ("missing", "not a folder", "outside"):
        return failed(f"Your program left no folder {output} with the split pictures.",
                      hint=f"Make {output}/training/cats, {output}/training/dogs, {output}/testing/cats and "
                           f"{output}/testing/dogs, then call split_data for each class.")
    if listing.get("error"):
        return failed(f"The grader could not read {output}: {listing['error']}.")
    tree = _split_folders(listing["files"])
    training = next((tree[n] for n in TRAINING_NAMES if n in tree), None)
    testing = next((tree[n] for n in TESTING_NAMES if n in tree), None)
    if training is None or testing is None:
        return failed(f"{output} holds the folders {', '.join(sorted(tree)) or 'none with pictures'}; split_data's "
                      "pictures belong in a training folder and a testing (or validation) folder, each with a folder "
                      "per class.")
    located = evidence.dataset
    owner, counts = _sources(located)
    share = check.params["split_size"]
    problems = []
    for name, split in (("training", training), ("testing", testing)):
        for folder, rows in sorted(split.items()):
            empty = [r["path"] for r in rows if r["size"] == 0]
            if empty:
                problems.append(f"{output}/{empty[0]} is a zero-length file" +
                                (f" ({len(empty)} in all)" if len(empty) > 1 else "") + ": skip files of size 0")
            strangers = [r["path"] for r in rows if r["size"] and owner.get(r["sha256"]) is None]
            if strangers:
                problems.append(f"{output}/{strangers[0]} is not one of the files of PetImages/Cat or PetImages/Dog" +
                                (f" ({len(strangers)} such files)" if len(strangers) > 1 else ""))
            classes = {owner[r["sha256"]] for r in rows if r["sha256"] in owner}
            if len(classes) > 1:
                problems.append(f"{output}/{name}/{folder} mixes pictures of {' and '.join(sorted(classes))}")
    summary = []
    for cls in CLASSES:
        train = {r["sha256"] for rows in training.values() for r in rows if owner.get(r["sha256"]) == cls}
        test = {r["sha256"] for rows in testing.values() for r in rows if owner.get(r["sha256"]) == cls}
        both = train & test
        if both:
            problems.append(f"{plural(len(both), 'file')} of {TOP}/{cls} {'is' if len(both) == 1 else 'are'} in both the "
                            "training and the testing folders")
        want = int(counts[cls] * share)
        if abs(len(train) - want) > 1 or len(train | test) != counts[cls]:
            problems.append(f"of the {counts[cls]} non-empty files of {TOP}/{cls}, {len(train)} are in training and "
                            f"{len(test - train)} only in testing; SPLIT_SIZE {share:g} puts {want} in training and "
                            f"the other {counts[cls] - want} in testing")
        summary.append(f"{len(train)} training and {len(test)} testing files of {TOP}/{cls}")
    if problems:
        return failed("split_data's folders are not right: " + "; ".join(problems[:4]) + ".",
                      hint="For each class: list SOURCE, keep the files whose os.path.getsize is above 0, shuffle "
                           "them (random.sample), copy the first len(files) * SPLIT_SIZE to TRAINING and the rest to "
                           "TESTING.")
    return passed(f"split_data's folders hold {' and '.join(summary)}: every non-empty file once, in the share "
                  f"SPLIT_SIZE {share:g} asks, no zero-length file.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="split_data", run=check_split_data,
        description="The program's split_data copied each class of the pet_images dataset into a training and a "
                    "testing folder: the share asked for, no zero-length file, no picture in both (read from the "
                    "files it left, listed in [submission] outputs).",
        fields={"output": Field("string", help="the folder holding the training and testing folders, as listed "
                                               "in [submission] outputs"),
                "split_size": Field("number", help="the share of each class's pictures that goes to training")}))
