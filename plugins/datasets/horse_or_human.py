"""Horses or humans: the course's two zips, ``horse-or-human.zip`` (500 horses and 527 humans, 300x300 PNG,
the class folders at the zip's top) and ``validation-horse-or-human.zip`` (128 of each), kept as one tree,
``ROOT/horses-or-humans/{train,validation}/{horses,humans}``.

Served where the course's code looks: each zip by its URL's name (``!wget``, ``get_file``, beside the
program), and the extracted folders at ``/tmp/horse-or-human`` and ``/tmp/validation-horse-or-human``
(course 1 week 4, course 2 week 3 in Colab) and ``/tmp/training`` and ``/tmp/validation`` (the 2022 lab).
``grader data import horse_or_human PATH`` takes a folder holding both zips, or a folder holding train/
and validation/.

The stand-in has the real counts, sizes and format. Its classes differ in the colour of the whole
picture (a green field under the horses, a blue sky behind the humans) and in the figure's outline, so
that a frozen pre-trained base, even the stand-in weights (plugins/datasets/pretrained.py), gives
features a small dense head learns in an epoch or two, as ImageNet's do on the real pictures.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image

from grader.builtin.datasets.image_tree import (_backgrounds, _class_shape, image_tree_dataset, import_archive,
                                               stage_tree)
from grader.hookspecs import hookimpl

NAME = "horse-or-human"
SUBDIR = "horses-or-humans"  # the folder under ROOT (and in the program's working folder) holding both splits
ZIPS = {"horse-or-human.zip": "train", "validation-horse-or-human.zip": "validation"}
# where course code finds each split already extracted
SPLIT_PATHS = {"train": ["/tmp/horse-or-human", "/tmp/training", "horse-or-human", "data/horse-or-human"],
               "validation": ["/tmp/validation-horse-or-human", "/tmp/validation", "validation-horse-or-human",
                              "data/validation-horse-or-human"]}
COUNTS = {"train": {"horses": 500, "humans": 527}, "validation": {"horses": 128, "humans": 128}}
# the colour of the whole picture, per class: a field green and a sky blue, each varying by at most
# SHADE per channel, so that no horse picture is coloured like a human one whatever augmentation does
BACKGROUNDS = {"horses": (70, 130, 40), "humans": (80, 140, 200)}
SHADE = 25
FIGURES = {"horses": ("square", 0.1), "humans": ("star", 0.8)}  # outline and hue


def _pictures(rng, cls: str, count: int, size: int):
    """``count`` pictures of ``cls``: a smooth noisy background of the class's colour (drawn at a quarter
    of the size and enlarged, so the PNGs stay small), with the class's figure in one half."""
    kind, hue = FIGURES[cls]
    for background in _backgrounds(rng, count, size // 4):
        noise = background.astype(np.int16) - background.reshape(-1, 3).mean(0).astype(np.int16)
        shade = rng.integers(-SHADE, SHADE + 1, 3)
        small = np.clip(noise // 2 + np.array(BACKGROUNDS[cls]) + shade, 0, 255).astype(np.uint8)
        large = np.asarray(Image.fromarray(small).resize((size, size), Image.BILINEAR))
        yield _class_shape(rng, kind, hue, large, int(rng.integers(0, 2)))


def synthesize(folder: Path, seed: int, size: int = 300):
    rng = np.random.default_rng(seed)
    for split, classes in COUNTS.items():
        for cls, count in classes.items():
            out = folder / split / cls
            out.mkdir(parents=True, exist_ok=True)
            for i, picture in enumerate(_pictures(rng, cls, count, size)):
                picture.save(out / f"{cls.rstrip('s')}{i // 100 + 1:02d}-{i % 100 + 1:02d}.png", compress_level=1)


def stage(located, workdir: Path):
    staged = stage_tree(located, workdir, NAME, "horse-or-human.zip", aliases=[])
    tree = staged.home
    cache = workdir / ".keras" / "datasets"
    staged.downloads = {archive: {"archive": str(cache / archive), "tree": str(tree / split), "top": ""}
                        for archive, split in ZIPS.items()}
    for split, places in SPLIT_PATHS.items():
        staged.links.update({place: str(tree / split) for place in places})
    return staged


@hookimpl
def grader_register_datasets(register):
    base = image_tree_dataset(
        "horse_or_human", "Horses or humans: 300x300 pictures in train/ and validation/, 2 classes",
        origin="https://storage.googleapis.com/laurencemoroney-blog.appspot.com/", archive=None,
        classes=("horses", "humans"), subdir=SUBDIR, synthesize=synthesize)
    register(dataclasses.replace(base, archives=dict(ZIPS), stage=stage,
                                 unpack=lambda source, dest: _unpack(source, dest)))


def _unpack(source: Path, dest: Path) -> Path:
    return import_archive(source, NAME, dest, ("horses", "humans"))
