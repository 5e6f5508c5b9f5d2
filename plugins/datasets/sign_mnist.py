"""Dataset ``sign_mnist``: Sign Language MNIST, the course's multi-class CSV dataset: 28x28 grey
pictures of a hand signing a letter, in two CSV files, ``sign_mnist_train.csv`` and
``sign_mnist_test.csv``. Each has the header ``label,pixel1,...,pixel784`` and then one row per picture:
its label (0 to 24 for A to Y; 9 = J and Z need motion and never occur) and its 784 pixels, 0 to 255.

The course published the two files on Google Drive (its notebooks run ``!gdown --id ...``); Kaggle
publishes them in a zip, which ``grader data import sign_mnist PATH.zip`` reads. No checksum is
published: ``import`` and ``fetch`` check the structure instead, naming the file and the line.

The course uses the test file as its validation data. The grade is measured on a share of its rows
(an exercise's ``[dataset] held_back``) that the student's copy of ``sign_mnist_test.csv`` lacks.
"""

from __future__ import annotations

import os
import shutil
import string
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from grader.datasets import (DataError, Dataset, Split, Staged, cache_dir, cached_arrays, check_archive,
                             held_back_rows)
from grader.builtin.datasets.mnist import stroke_templates
from grader.fingerprint import row_hashes
from grader.hookspecs import hookimpl

TRAIN, TEST = "sign_mnist_train.csv", "sign_mnist_test.csv"
SPLITS = {"train": TRAIN, "validation": TEST, "validation_visible": TEST}
HEADER = ["label"] + [f"pixel{i}" for i in range(1, 785)]
LETTERS = list(string.ascii_uppercase[:25])  # the label space: 0 = A ... 24 = Y (9 = J unused)
ABSENT = (9,)
DRIVE = {TRAIN: "1z0DkA9BytlLxO1C0BAWzknLyQmZAp0HR", TEST: "1z1BIj4qmri59GWBG4ivMNFtpZ4AXIbzg"}
FOLDER = "sign-language-mnist"  # Kaggle's name for it: ../input/sign-language-mnist/
# Where course code and students' copies read the files: beside the notebook (the course), in data/
# (local copies, the 2022 lab), ../tmp2 (Coursera's lab), Kaggle's input folder, Colab's /content, /tmp.
FOLDER_ALIASES = ["data", "../tmp2", "../input/sign-language-mnist", "/kaggle/input/sign-language-mnist",
                  "/content", "/tmp/sign-language-mnist"]


MAX_FILE_BYTES = 512 * 2**20  # the real training file is 83 MB


def read_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels int64) of one CSV file, or DataError naming what is wrong
    and where (the file and its line)."""
    try:
        size = path.stat().st_size
        with open(path, encoding="utf-8-sig", errors="strict") as f:  # a byte-order mark is not part of the header
            header = f.readline(20_000).strip().split(",")  # the real header is 6,000 characters
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read as text ({exc}). It should be a CSV file.") from None
    if size > MAX_FILE_BYTES:
        raise DataError(f"{path} is {size / 2**20:.0f} MiB; Sign Language MNIST's files are under 100 MiB.")
    if header[0].lstrip().startswith("<"):
        raise DataError(f"{path} is a web page, not the CSV file: Google Drive answers a large download with a "
                        "warning page. Download the two files in a browser (or from Kaggle), then run "
                        "`grader data import sign_mnist FOLDER`.")
    if [h.strip().strip('"') for h in header] != HEADER:
        shown = ",".join(header[:4])[:80]
        raise DataError(f"{path} does not start with the header label,pixel1,...,pixel784 (785 columns); its first "
                        f"line is '{shown}...' with {len(header)} columns. Is it Sign Language MNIST's CSV file?")
    try:  # whole numbers only: NumPy's own parser, strict (no True, 1.5, NaN or empty fields)
        values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2, encoding="utf-8-sig",
                            comments=None)
    except ValueError:
        raise DataError(_first_bad_line(path)) from None
    raw = path.read_bytes()
    if raw.count(b"\n") + (not raw.endswith(b"\n")) - 1 != len(values):  # NumPy skipped blank lines
        raise DataError(_first_bad_line(path))  # the course's csv.reader code would stop at them
    if values.shape[0] and values.shape[1] != 785:
        raise DataError(f"{path} has {values.shape[1]} columns; Sign Language MNIST has 785 (label, 784 pixels).")
    labels = values[:, 0]
    bad = (values[:, 1:] < 0).any(axis=1) | (values[:, 1:] > 255).any(axis=1)
    bad |= (labels < 0) | (labels > 24) | np.isin(labels, ABSENT)
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2  # the header is line 1
        raise DataError(f"{path}, line {line}: every row is a label (0 to 24, not 9) and 784 whole pixel values "
                        f"from 0 to 255 ({int(bad.sum())} row(s) are not).")
    if not len(values):
        raise DataError(f"{path} has a header but no rows.")
    return values[:, 1:].astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)


def _first_bad_line(path: Path) -> str:
    """Which line NumPy's parser stopped at, and why, found again line by line (its own row numbers skip
    blank lines and differ between its messages)."""
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        f.readline()
        for number, line in enumerate(f, start=2):
            fields = line.rstrip("\r\n").split(",")
            if len(fields) != 785:
                return (f"{path}, line {number}: {len(fields)} fields where a row has 785 (a label and 784 pixel "
                        "values, separated by commas).")
            wrong = next((v for v in fields if not v.strip().isdigit()), None)
            if wrong is not None:
                return (f"{path}, line {number}: '{wrong[:20]}' is not a whole number. Every row is a label and 784 "
                        "whole pixel values, separated by commas.")
    return f"{path} is not a table of whole numbers separated by commas."


def validate(folder: Path):
    for name in (TRAIN, TEST):
        read_table(folder / name)


def load_split(located, split: str, input_shape=None) -> Split:
    """"train", "validation" (the held-back rows of the test file, or all of it when nothing is held
    back) or "validation_visible" (the rows the student's copy holds)."""
    if split not in SPLITS:
        raise DataError(f"sign_mnist has the splits 'train' and 'validation' (its test file), not '{split}'.")

    def build():
        x, y = read_table(located.path / SPLITS[split])
        if split != "train" and located.held_back:
            held = held_back_rows(y, located.held_back)
            keep = held if split == "validation" else ~held
            x, y = x[keep], y[keep]
        return {"x": x, "y": y}

    arrays = cached_arrays(f"sign_mnist-{split}-{located.held_back:g}-{located.stamp()}", build)
    return Split(x=arrays["x"], y=arrays["y"], classes=LETTERS, spare_units=True,
                 occurring=tuple(k for k in range(len(LETTERS)) if k not in ABSENT))


def _write_table(path: Path, x: np.ndarray, y: np.ndarray):
    rows = np.concatenate([np.asarray(y, np.int64)[:, None], np.asarray(x, np.int64).reshape(len(x), -1)], axis=1)
    # a file of its own, then renamed: two gradings staging at once each write whole files
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="\n", dir=path.parent, prefix=f".{path.name}.",
                                     suffix=".part", delete=False) as f:
        f.write(",".join(HEADER) + "\n")
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    os.replace(f.name, path)


def stage(located, workdir: Path) -> Staged:
    """The student's copy: the training file as it is, and the test file without the held-back rows,
    in ./sign-language-mnist/, beside the program (as the course has them), and where course code and
    students' copies look (``FOLDER_ALIASES``)."""
    home = workdir / FOLDER
    home.mkdir()
    shutil.copyfile(located.path / TRAIN, home / TRAIN)
    if located.held_back:
        visible = cache_dir() / f"sign_mnist-child-{located.held_back:g}-{located.stamp()}.csv"
        if not visible.is_file():
            part = load_split(located, "validation_visible")
            _write_table(visible, part.x, part.y)
        shutil.copyfile(visible, home / TEST)
    else:
        shutil.copyfile(located.path / TEST, home / TEST)
    files = {name: str(home / name) for name in (TRAIN, TEST)}
    links = {name: path for name, path in files.items()}
    links.update({f"/tmp/{name}": path for name, path in files.items()})
    links.update({f"{Path(name).stem}/{name}": path for name, path in files.items()})  # Kaggle's zip
    downloads = {key: {"file": path, "name": name} for name, path in files.items() for key in (name, DRIVE[name])}
    return Staged(paths={"train_file": files[TRAIN], "validation_file": files[TEST]}, downloads=downloads,
                  home=home, aliases=list(FOLDER_ALIASES), links=links)


def fingerprints(located, split: str) -> set:
    return set(row_hashes(load_split(located, split).x, limit=None))


def _letter_templates(rng, labels) -> dict:
    """One template per letter: three bold strokes between random points, a shape of its own."""
    return dict(zip((int(v) for v in labels), stroke_templates(rng, len(labels), low=3, high=25, width=5.0)))


def _pictures(rng, templates: dict, n: int):
    """Each picture: its letter's shape, bright on a grey background of its own, shifted up to 2
    pixels, with pixel noise."""
    labels = np.array(sorted(templates))
    y = labels[rng.integers(0, len(labels), n)]
    x = rng.uniform(90, 170, (n, 1, 1)) + np.stack([templates[int(v)] for v in y]) * rng.uniform(110, 140, (n, 1, 1))
    x = x + rng.normal(0, 4, (n, 28, 28))
    shifts = rng.integers(-2, 3, (n, 2))
    x = np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(x, shifts)])
    return np.clip(x, 0, 255).round().astype(np.uint8), y


def synthesize(folder: Path, seed: int, train: int = 3600, test: int = 1080):
    """Stand-in CSV files in the real format (header, label, 784 pixels), 24 letters (no J, no Z).
    Like the real files where it matters: the course's network with the course's augmentation
    (rotation_range=40, shifts, shear, zoom, horizontal_flip) passes 80% validation accuracy within its
    15 epochs (about 0.9 after 7 to 10), on a tenth of the rows, so a grading takes about a minute."""
    rng = np.random.default_rng(seed)
    templates = _letter_templates(rng, [k for k in range(25) if k not in ABSENT])
    for name, n in ((TRAIN, train), (TEST, test)):
        x, y = _pictures(rng, templates, n)
        _write_table(folder / name, x, y)


def unpack(archive: Path, dest: Path) -> Path:
    """Kaggle's zip (the two CSV files, at its top or in folders of their own): a folder holding both."""
    out = dest / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as z:
            check_archive(z, archive)
            for name in (TRAIN, TEST):
                members = sorted((m for m in z.infolist() if Path(m.filename).name == name and not m.is_dir()),
                                 key=lambda m: m.filename.count("/"))
                if not members:
                    raise DataError(f"{archive} holds no {name}: Sign Language MNIST's zip holds {TRAIN} and {TEST}.")
                if members[0].file_size > MAX_FILE_BYTES:
                    raise DataError(f"{archive}: {name} is {members[0].file_size / 2**20:.0f} MiB; Sign Language "
                                    "MNIST's files are under 100 MiB.")
                with z.open(members[0]) as src, open(out / name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{archive} could not be unpacked: {exc}. Download it again.") from None
    return out


@hookimpl
def grader_register_datasets(register):
    register(Dataset(
        name="sign_mnist", title="Sign Language MNIST: 28x28 grey hands signing 24 letters, two CSV files",
        subdir=FOLDER, files=(TRAIN, TEST), origin="https://drive.google.com/", md5={},
        sources={name: f"https://drive.google.com/uc?id={key}" for name, key in DRIVE.items()},
        validate=validate, synthesize=synthesize, stage=stage, load_split=load_split,
        fingerprints=fingerprints, unpack=unpack,
        evaluation_copy=f"your copy of {TEST}", examples="rows",
    ))
