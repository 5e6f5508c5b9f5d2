"""Dataset ``mnist``: handwritten digits in Keras' own file, ``mnist.npz`` (x_train, y_train, x_test,
y_test), under ``mnist/``.

It backs ``keras.datasets.mnist.load_data()``. Keras' loader checks the file's hash and fetches it
with its own ``get_file``, so placing a file with a held-back test split does not reach it: the
harness answers the loader itself with the student's copy (the training split, and in place of the
test split as many training digits as the test split has, at most one in five). The real test split
stays with the grader.
"""

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from grader.datasets import (DataError, Dataset, Split, Staged, array_decoys, array_fingerprints, cache_dir,
                             cached_arrays)
from grader.hookspecs import hookimpl

FILE = "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")


def _arrays(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in KEYS if k not in f.files]
            if missing:
                raise DataError(f"{path} lacks {', '.join(missing)}: Keras' mnist.npz holds {', '.join(KEYS)}.")
            arrays = {k: f[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a NumPy .npz archive ({exc}). Keras' mnist.npz holds {', '.join(KEYS)}.")
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{path}: x_{part} has shape {x.shape}; MNIST's images are 28x28.")
        if len(x) != len(y):
            raise DataError(f"{path}: x_{part} has {len(x)} images but y_{part} has {len(y)} labels.")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise DataError(f"{path}: y_{part} has label {int(y.max())}; MNIST's labels are 0 to 9.")
    return arrays


def validate(folder: Path):
    _arrays(folder / FILE)


def load_split(located, split: str, input_shape=None) -> Split:
    if split not in ("train", "test"):
        raise DataError(f"mnist has the splits 'train' and 'test', not '{split}'.")

    def build():
        arrays = _arrays(located.path / FILE)
        return {"x": arrays[f"x_{split}"], "y": arrays[f"y_{split}"]}

    arrays = cached_arrays(f"mnist-{split}-{located.stamp()}", build)
    return Split(x=arrays["x"], y=arrays["y"], classes=[str(i) for i in range(10)])


def stage(located, workdir: Path) -> Staged:
    """The student's copy, where Keras' cache would hold it, handed to the loader by the harness: the
    training split, and as its test split as many training digits as the real test split has (at most
    one in five; see grader.datasets.decoy_rows)."""
    target = workdir / ".keras" / "datasets" / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    decoy = cache_dir() / f"mnist-child-hashed-{located.stamp()}.npz"
    if not decoy.is_file():
        train = load_split(located, "train")
        x_test, y_test = array_decoys(located, load_split)
        # a file of its own, then renamed: two gradings staging at once each write whole files
        with tempfile.NamedTemporaryFile(dir=decoy.parent, prefix=f".{decoy.name}.", suffix=".npz", delete=False) as f:
            np.savez(f, x_train=np.asarray(train.x), y_train=np.asarray(train.y), x_test=x_test, y_test=y_test)
        os.replace(f.name, decoy)
    shutil.copyfile(decoy, target)
    parts = {"x_train": [0, 0], "y_train": [0, 1], "x_test": [1, 0], "y_test": [1, 1]}
    return Staged(env={"KERAS_HOME": str(workdir / ".keras")},
                  paths={k: {"keras_dataset": "mnist", "part": v} for k, v in parts.items()},
                  loaders={"mnist": str(target)})


def stroke_templates(rng, count: int, low: float = 5, high: float = 23, width: float = 3.0) -> np.ndarray:
    """``count`` 28x28 templates, one per class: three thick strokes between four random points in
    [low, high), like a handwritten shape (``width``: the strokes' spread, in squared pixels)."""
    yy, xx = np.mgrid[0:28, 0:28].astype(float)
    out = []
    for _ in range(count):
        img = np.zeros((28, 28))
        points = rng.uniform(low, high, (4, 2))
        for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
            for t in np.linspace(0, 1, 24):
                cy, cx = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
                img = np.maximum(img, np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / width))
        out.append(img)
    return np.stack(out)


def shift(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each picture of ``x`` (n, h, w) rolled by its own (rows, columns) of ``shifts`` (n, 2), as
    np.roll does, for all pictures at once."""
    n, h, w = x.shape
    rows = (np.arange(h)[None, :, None] - shifts[:, 0, None, None]) % h
    cols = (np.arange(w)[None, None, :] - shifts[:, 1, None, None]) % w
    return x[np.arange(n)[:, None, None], rows, cols]


def in_chunks(sample, rng, templates, n: int, chunk: int = 10_000):
    """``sample(rng, templates, m)`` for n pictures, ``chunk`` at a time (a float copy of 60,000 pictures
    would take a quarter of a gigabyte): (x uint8, y uint8)."""
    parts = [sample(rng, templates, min(chunk, n - start)) for start in range(0, n, chunk)] or \
        [(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def to_pixels(x: np.ndarray) -> np.ndarray:
    """Floats in 0..1 (clipped) as 0..255 bytes."""
    np.clip(x, 0, 1, out=x)
    x *= 255
    return np.rint(x).astype(np.uint8)


def _sample(rng, templates, n):
    """Each digit: its class's strokes blended with up to 45% of another class's, dimmed, shifted up to
    3 pixels, with pixel noise. Like real MNIST for the course's dense network (512 units): 99%
    training accuracy after two epochs of 60,000 digits, about 98% on the test split."""
    k = len(templates)
    y = rng.integers(0, k, n)
    other = (y + rng.integers(1, k, n)) % k
    x = templates[y]
    x += rng.uniform(0, 0.45, (n, 1, 1)).astype(np.float32) * (templates[other] - x)
    x *= rng.uniform(0.6, 1.0, (n, 1, 1)).astype(np.float32)
    x += rng.standard_normal((n, 28, 28), dtype=np.float32) * np.float32(0.15)
    return shift(to_pixels(x), rng.integers(-3, 4, (n, 2))), y.astype(np.uint8)


def save_npz(path: Path, **arrays):
    """np.savez_compressed, at zlib's fastest level: noisy pixels barely compress at any level, and its
    default level takes four times as long."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, array in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)


def synthesize(folder: Path, seed: int, train: int = 60_000, test: int = 10_000):
    """Keras' mnist.npz with as many digits as the real file (60,000 training, 10,000 test), so code
    that hard-codes reshape(60000, 28, 28, 1) runs on it."""
    rng = np.random.default_rng(seed)
    templates = stroke_templates(rng, 10).astype(np.float32)
    (x_train, y_train), (x_test, y_test) = (in_chunks(_sample, rng, templates, n) for n in (train, test))
    save_npz(folder / FILE, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


@hookimpl
def grader_register_datasets(register):
    register(Dataset(
        fingerprints=array_fingerprints(load_split), keras_loader="mnist",
        name="mnist", title="MNIST (LeCun et al.): 28x28 grey handwritten digits, 10 classes",
        subdir="mnist", files=(FILE,),
        origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/", md5={},
        validate=validate, synthesize=synthesize, stage=stage, load_split=load_split,
    ))
