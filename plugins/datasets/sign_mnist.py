"""Dataset ``sign_mnist``: Sign Language MNIST, the course's multi-class CSV dataset: 28x28 grey
pictures of a hand signing a letter, in two CSV files, ``sign_mnist_train.csv`` and
``sign_mnist_test.csv``. Each has the header ``label,pixel1,...,pixel784`` and then one row per picture:
its label (0 to 24 for A to Y; 9 = J and Z need motion and never occur) and its 784 pixels, 0 to 255.

The course published the two files on Google Drive (its notebooks run ``!gdown --id ...``); Kaggle
publishes them in a zip, which ``grader data import sign_mnist PATH.zip`` reads. No checksum is
published: ``import`` and ``fetch`` check the structure instead, naming the file and the line.

The course uses the test file as its validation data. The grade is measured on a share of its rows
(an exercise's ``[dataset] held_back``) that the student's copy of ``sign_mnist_test.csv`` holds only
in name: in their places it holds decoys, rows of the training file, so the copy has as many rows as
the real file (7,172) and gives nothing away.

The course's 2024-25 notebooks read the same pictures as PNG files in a folder per letter
(``data/train/A/a1.png`` ... ``data/validation/Y/...``, 24 letters, no J or Z) with
``tf.keras.utils.image_dataset_from_directory``: the student's copy holds that tree too, built from the
rows of its two CSV files.
"""

from __future__ import annotations

import os
import shutil
import string
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from grader.datasets import (DataError, Dataset, Split, Staged, cache_dir, cached_arrays, check_archive,
                             decoy_rows, held_back_rows)
from grader.builtin.datasets.mnist import in_chunks, shift, stroke_templates
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


def _csv_rows(x: np.ndarray, y: np.ndarray) -> bytes:
    """The rows of a table as CSV text (a label and 784 pixels per line), all at once: each value's
    digits looked up in a table, the padding dropped (np.savetxt formats a value at a time)."""
    values = np.concatenate([np.asarray(y, np.int64)[:, None], np.asarray(x, np.int64).reshape(len(x), -1)], axis=1)
    if values.size and (values.min() < 0 or values.max() > 255):
        raise ValueError("a label or pixel outside 0..255")
    digits = np.zeros((2, 256, 4), np.uint8)  # [last column?][value] -> its digits, then ',' or '\n', 0-padded
    for v in range(256):
        for last, end in ((0, ","), (1, "\n")):
            text = f"{v}{end}".encode()
            digits[last, v, :len(text)] = np.frombuffer(text, np.uint8)
    last = np.zeros(values.shape, np.int64)
    last[:, -1] = 1
    out = digits[last, values].reshape(-1)
    return out[out != 0].tobytes()


def _write_table(path: Path, x: np.ndarray, y: np.ndarray):
    # a file of its own, then renamed: two gradings staging at once each write whole files
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part",
                                     delete=False) as f:
        f.write((",".join(HEADER) + "\n").encode())
        for start in range(0, len(y), 5000):  # a few megabytes of text at a time
            f.write(_csv_rows(x[start:start + 5000], y[start:start + 5000]))
    os.replace(f.name, path)


def program_test_rows(located) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the program's copy of the test file (images, labels): the file's own rows, except that
    each held-back row's place holds a decoy, a row of the training file (``decoy_rows``: never more
    than one training row in five; held-back rows beyond that are left out), so the copy has the real
    file's size and tells the program nothing about the rows the grade is measured on."""
    def build():
        x, y = read_table(located.path / TEST)
        if located.held_back:
            held = np.flatnonzero(held_back_rows(y, located.held_back))
            train = load_split(located, "train")
            rows = decoy_rows(len(train.y), len(held))
            x, y = x.copy(), y.copy()
            x[held[:len(rows)]], y[held[:len(rows)]] = train.x[rows], train.y[rows]
            keep = np.ones(len(y), bool)
            keep[held[len(rows):]] = False
            x, y = x[keep], y[keep]
        return {"x": x, "y": y}

    arrays = cached_arrays(f"sign_mnist-program-test-{located.held_back:g}-{located.stamp()}", build)
    return arrays["x"], arrays["y"]


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(picture: np.ndarray) -> bytes:
    """A greyscale PNG file of one picture (h, w) of bytes: each line unfiltered, deflated."""
    h, w = picture.shape
    lines = np.zeros((h, w + 1), np.uint8)  # each line starts with its filter type, 0 (none)
    lines[:, 1:] = picture
    return (PNG_SIGNATURE + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(lines.tobytes(), 6)) + _png_chunk(b"IEND", b""))


PICTURE_SPLITS = ("train", "validation")  # the 2024-25 notebooks' folders, from the training and test files


def picture_tree(located) -> dict:
    """The PNG files of the program's picture folders, encoded once per copy of the dataset:
    {"png": every file's bytes, one after the other, "ends": where each file ends, "split": 0 (train) or
    1 (validation) per file, "label": its label}."""
    def build():
        parts = [(load_split(located, "train").x, load_split(located, "train").y), program_test_rows(located)]
        files, splits, labels = [], [], []
        for number, (x, y) in enumerate(parts):
            files += [png_bytes(np.asarray(picture)) for picture in x]
            splits.append(np.full(len(y), number, np.int8))
            labels.append(np.asarray(y, np.int64))
        png = np.frombuffer(b"".join(files), np.uint8)
        return {"png": png, "ends": np.cumsum([len(f) for f in files], dtype=np.int64),
                "split": np.concatenate(splits), "label": np.concatenate(labels)}

    return cached_arrays(f"sign_mnist-pictures-{located.held_back:g}-{located.stamp()}", build)


def write_picture_tree(located, home: Path) -> dict:
    """``home/train/<LETTER>/<letter><k>.png`` from the training file's rows and ``home/validation/...``
    from the rows of the program's test file, k counting each letter's pictures from 1; a folder for
    each of the 24 letters. Returns {split: its folder}."""
    tree = picture_tree(located)
    png, ends = np.asarray(tree["png"]), np.asarray(tree["ends"])
    starts = np.concatenate([[0], ends[:-1]])
    occurring = [LETTERS[k] for k in range(len(LETTERS)) if k not in ABSENT]
    folders = {}
    for number, split in enumerate(PICTURE_SPLITS):
        folders[split] = home / split
        for letter in occurring:
            (home / split / letter).mkdir(parents=True)
    counts = np.zeros((len(PICTURE_SPLITS), len(LETTERS)), np.int64)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for i, (number, label) in enumerate(zip(tree["split"].tolist(), tree["label"].tolist())):
        counts[number, label] += 1
        letter = LETTERS[label]
        fd = os.open(home / PICTURE_SPLITS[number] / letter / f"{letter.lower()}{counts[number, label]}.png", flags,
                     0o644)
        try:
            os.write(fd, png[starts[i]:ends[i]].tobytes())
        finally:
            os.close(fd)
    return folders


def stage(located, workdir: Path) -> Staged:
    """The student's copy, in ./sign-language-mnist/, beside the program (as the course has them), and
    where course code and students' copies look (``FOLDER_ALIASES``, ./data/ among them): the training
    file as it is, the test file with decoys in place of the held-back rows (``program_test_rows``), and
    the same rows as PNG files in train/ and validation/, a folder per letter."""
    home = workdir / FOLDER
    home.mkdir()
    shutil.copyfile(located.path / TRAIN, home / TRAIN)
    if located.held_back:
        visible = cache_dir() / f"sign_mnist-program-test-{located.held_back:g}-{located.stamp()}.csv"
        if not visible.is_file():
            _write_table(visible, *program_test_rows(located))
        shutil.copyfile(visible, home / TEST)
    else:
        shutil.copyfile(located.path / TEST, home / TEST)
    folders = write_picture_tree(located, home)
    files = {name: str(home / name) for name in (TRAIN, TEST)}
    links = {name: path for name, path in files.items()}
    links.update({f"/tmp/{name}": path for name, path in files.items()})
    links.update({f"{Path(name).stem}/{name}": path for name, path in files.items()})  # Kaggle's zip
    downloads = {key: {"file": path, "name": name} for name, path in files.items() for key in (name, DRIVE[name])}
    return Staged(paths={"train_file": files[TRAIN], "validation_file": files[TEST],
                         "train_dir": str(folders["train"]), "validation_dir": str(folders["validation"])},
                  downloads=downloads, home=home, aliases=list(FOLDER_ALIASES), links=links)


def fingerprints(located, split: str) -> set:
    """The content hashes of a split; "validation_visible" is what the program's test file holds (its
    decoys too: training on that file is training on the validation data it was given)."""
    if split == "validation_visible" and located.held_back:
        return set(row_hashes(program_test_rows(located)[0], limit=None))
    return set(row_hashes(load_split(located, split).x, limit=None))


def _letter_templates(rng, count: int) -> np.ndarray:
    """One template per letter: three bold strokes between random points, a shape of its own."""
    return stroke_templates(rng, count, low=3, high=25, width=5.0).astype(np.float32)


def _pictures(rng, templates: np.ndarray, n: int):
    """Each picture: its letter's shape blended with up to 40% of another letter's, bright on a grey
    background of its own, shifted up to 2 pixels, with pixel noise. ``templates``: one per occurring
    label, in order. Not learnt at once: with 27,455 rows the course's network reaches about 0.97 on
    the test rows after one epoch and stays below 1."""
    labels = np.array([k for k in range(len(LETTERS)) if k not in ABSENT])
    pick = rng.integers(0, len(labels), n)
    other = (pick + rng.integers(1, len(labels), n)) % len(labels)
    shape = templates[pick]
    shape += rng.uniform(0, 0.4, (n, 1, 1)).astype(np.float32) * (templates[other] - shape)
    x = rng.uniform(90, 170, (n, 1, 1)).astype(np.float32) + shape * rng.uniform(110, 140, (n, 1, 1)).astype(np.float32)
    x += rng.standard_normal((n, 28, 28), dtype=np.float32) * np.float32(10)
    np.clip(x, 0, 255, out=x)
    return shift(np.rint(x).astype(np.uint8), rng.integers(-2, 3, (n, 2))), labels[pick]


def synthesize(folder: Path, seed: int, train: int = 27_455, test: int = 7_172):
    """Stand-in CSV files in the real format (header, label, 784 pixels) with as many rows as the real
    ones (27,455 and 7,172), 24 letters (no J, no Z). Like the real files where it matters: the course's
    network with the course's augmentation (rotation_range=40, shifts, shear, zoom, horizontal_flip)
    passes 80% validation accuracy within its 15 epochs."""
    rng = np.random.default_rng(seed)
    templates = _letter_templates(rng, len(LETTERS) - len(ABSENT))
    for name, n in ((TRAIN, train), (TEST, test)):
        _write_table(folder / name, *in_chunks(_pictures, rng, templates, n))


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
        evaluation_copy=f"your copy of {TEST} (rows of {TRAIN} stand in for those held back)", examples="rows",
    ))
