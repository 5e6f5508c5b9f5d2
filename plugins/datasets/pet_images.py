"""Kaggle's cats and dogs, as course 2 week 1 downloads it: ``kagglecatsanddogs_5340.zip`` (formerly
``kagglecatsanddogs_3367a.zip``) holding ``PetImages/Cat`` and ``PetImages/Dog``, JPEGs named by number,
with the faults students meet: a zero-length picture in each class (``Cat/666.jpg``, ``Dog/11702.jpg``),
a picture whose EXIF block is garbage (it decodes all the same), and Windows' ``Thumbs.db`` in each folder. Kept as ``ROOT/kagglecatsanddogs/PetImages/{Cat,Dog}``.

There is no validation split: the student's ``split_data`` makes one. The exercise holds back a share
of each class (``[dataset] held_back``, chosen by a hash of each file's name): the program's PetImages
lacks them, and the grader measures the trained model on them (split "test").

Served where course code looks: ``/tmp/PetImages`` (what the course's zip extracts to), ``./PetImages``,
and the zip behind ``!wget`` / ``urlretrieve`` of Microsoft's address (by the URL's file name) and
``/tmp/cats-and-dogs.zip``. The stand-in has the course lab's own size (1,500 pictures per class, the
subset Coursera's lab shipped; the full download has 12,500), 150x150 JPEGs of an elongated shape lying
(cats) or standing (dogs) anywhere in the picture.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from grader.builtin.datasets.image_tree import _backgrounds, _shape_image, import_archive, load_files
from grader.datasets import DataError, Dataset, Split, Staged, held_back_files
from grader.hookspecs import hookimpl

SUBDIR = "kagglecatsanddogs"
TOP = "PetImages"
CLASSES = ("Cat", "Dog")
EMPTY = {"Cat": "666.jpg", "Dog": "11702.jpg"}  # the real download's zero-length pictures
# pictures whose EXIF block is garbage, as some of the real download's are ("Possibly corrupt EXIF data"):
# the picture itself decodes
CORRUPT_EXIF = {"Cat": "10.jpg", "Dog": "20.jpg"}
ZIPS = ("kagglecatsanddogs_5340.zip", "kagglecatsanddogs_3367a.zip", "cats-and-dogs.zip")
STANDIN_PER_CLASS = 1500
IMAGE_SUFFIXES = {".jpg", ".jpeg"}


def pictures(folder: Path) -> list[Path]:
    """A class folder's pictures: regular JPEG files (zero-length ones included), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.is_symlink())


def class_files(located, split: str) -> dict:
    """{class: [files]}: "test" the held-back pictures (what the grade is measured on), "train" the
    program's copy (all the others, zero-length ones included)."""
    if split not in ("train", "test"):
        raise DataError(f"{located.dataset.name} has the splits 'train' (the program's pictures) and 'test' (held "
                        f"back); not '{split}'.")
    out = {}
    for cls in CLASSES:
        files = pictures(located.path / TOP / cls)
        held = held_back_files([f for f in files if f.stat().st_size > 0], located.held_back)
        out[cls] = [f for f in files if (f in held) == (split == "test")]
    return out


def validate(folder: Path):
    for cls in CLASSES:
        where = folder / TOP / cls
        if not where.is_dir():
            raise DataError(f"{where} is missing: the dataset holds {TOP}/Cat and {TOP}/Dog.")
        if sum(1 for p in pictures(where) if p.stat().st_size > 0) < 10:
            raise DataError(f"{where} holds fewer than 10 pictures.")


def synthesize(folder: Path, seed: int, per_class: int = STANDIN_PER_CLASS):
    rng = np.random.default_rng(seed)
    for k, cls in enumerate(CLASSES):
        out = folder / TOP / cls
        out.mkdir(parents=True, exist_ok=True)
        for i, background in enumerate(_backgrounds(rng, per_class, 150)):
            _shape_image(rng, 90 * k, background, int(rng.integers(0, 2))).save(out / f"{i}.jpg", quality=90)
        (out / EMPTY[cls]).write_bytes(b"")
        _break_exif(out / CORRUPT_EXIF[cls], rng)
        (out / "Thumbs.db").write_bytes(bytes(rng.integers(0, 256, 2048, dtype=np.uint8)))


def _break_exif(path: Path, rng):
    """Put an EXIF block of garbage (a TIFF header that leads nowhere) right after the JPEG's start marker."""
    data = path.read_bytes()
    body = b"Exif\x00\x00II*\x00" + bytes(rng.integers(0, 256, 64, dtype=np.uint8))
    path.write_bytes(data[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + data[2:])


def load_split(located, split: str, input_shape=None) -> Split:
    return load_files(located, split, class_files(located, split), input_shape)


def stage(located, workdir: Path) -> Staged:
    """The program's copy (without the held-back pictures) at ./PetImages and /tmp/PetImages, and the
    course's zip (PetImages/ at its top) behind its downloads."""
    tree = workdir / SUBDIR
    held = {str(f) for files in class_files(located, "test").values() for f in files}
    shutil.copytree(located.path, tree, ignore=lambda where, names: {
        n for n in names if n == "STAND-IN.txt" or str(Path(where) / n) in held or (Path(where) / n).is_symlink()})
    cache = workdir / ".keras" / "datasets"
    cache.mkdir(parents=True, exist_ok=True)
    entry = {"tree": str(tree), "top": ""}
    return Staged(env={"KERAS_HOME": str(workdir / ".keras")}, paths={"source_dir": str(tree / TOP)},
                  downloads={name: dict(entry, archive=str(cache / name)) for name in ZIPS},
                  links={"/tmp/PetImages": str(tree / TOP), TOP: str(tree / TOP)})


@hookimpl
def grader_register_datasets(register):
    register(Dataset(
        name="pet_images", title="Kaggle's cats and dogs: PetImages/Cat and PetImages/Dog, with its empty files",
        subdir=SUBDIR, files=(TOP,), archive="kagglecatsanddogs_5340.zip", md5={},
        origin="https://download.microsoft.com/download/3/E/1/3E1C3F21-EF3A-4E7B-9A8F-6A7D59F8AE1B/",
        validate=validate, synthesize=synthesize, stage=stage, load_split=load_split,
        unpack=_unpack,
        evaluation_copy="your PetImages folder (the pictures held back are not in it)", examples="pictures",
        held_from=""))


def _unpack(source: Path, dest: Path) -> Path:
    """A folder holding the PetImages/ of the course's zip (its pdf and readme left out)."""
    return import_archive(source, TOP, dest, (TOP,))
