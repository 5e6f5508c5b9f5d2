"""Dataset ``mnist``: handwritten digits in Keras' own file, ``mnist.npz`` (x_train, y_train, x_test,
y_test), under ``mnist/``.

It backs ``keras.datasets.mnist.load_data()``. Keras' loader checks the file's hash and fetches it
with its own ``get_file``, so placing a file with a held-back test split does not reach it: the
harness answers the loader itself with the student's copy (the training split, and in place of the
test split a sample of the training split). The real test split stays with the grader.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from grader.datasets import (DataError, Dataset, Split, Staged, array_fingerprints, cache_dir,
                             cached_arrays, decoy_rows)
from grader.hookspecs import hookimpl

FILE = "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
DECOY_SIZE = 2000


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
    """The student's copy, where Keras' cache would hold it, handed to the loader by the harness."""
    target = workdir / ".keras" / "datasets" / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    decoy = cache_dir() / f"mnist-child-spread-{located.stamp()}.npz"
    if not decoy.is_file():
        train = load_split(located, "train")
        rows = decoy_rows(len(train.x), DECOY_SIZE)
        # a file of its own, then renamed: two gradings staging at once each write whole files
        with tempfile.NamedTemporaryFile(dir=decoy.parent, prefix=f".{decoy.name}.", suffix=".npz", delete=False) as f:
            np.savez(f, x_train=np.asarray(train.x), y_train=np.asarray(train.y),
                     x_test=np.asarray(train.x[rows][:DECOY_SIZE]), y_test=np.asarray(train.y[rows][:DECOY_SIZE]))
        os.replace(f.name, decoy)
    target.write_bytes(decoy.read_bytes())
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


def _sample(rng, templates, n):
    """Each digit: its class's strokes blended with up to 45% of another class's, dimmed, shifted up to
    3 pixels, with pixel noise. Like real MNIST for the course's dense network (512 units): 99%
    training accuracy after about four epochs, about 94% on the test split."""
    k = len(templates)
    y = rng.integers(0, k, n)
    other = (y + rng.integers(1, k, n)) % k
    blend = rng.uniform(0, 0.45, n)[:, None, None]
    x = ((1 - blend) * templates[y] + blend * templates[other]) * rng.uniform(0.6, 1.0, (n, 1, 1))
    x = x + rng.normal(0, 0.15, (n, 28, 28))
    shifts = rng.integers(-3, 4, (n, 2))
    x = np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(x, shifts)])
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8), y.astype(np.uint8)


def synthesize(folder: Path, seed: int, train: int = 6000, test: int = 1000):
    rng = np.random.default_rng(seed)
    templates = stroke_templates(rng, 10)
    (x_train, y_train), (x_test, y_test) = _sample(rng, templates, train), _sample(rng, templates, test)
    np.savez_compressed(folder / FILE, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


@hookimpl
def grader_register_datasets(register):
    register(Dataset(
        fingerprints=array_fingerprints(load_split, DECOY_SIZE), keras_loader="mnist",
        name="mnist", title="MNIST (LeCun et al.): 28x28 grey handwritten digits, 10 classes",
        subdir="mnist", files=(FILE,),
        origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/", md5={},
        validate=validate, synthesize=synthesize, stage=stage, load_split=load_split,
    ))
