"""Dataset ``fashion_mnist``: Keras' four IDX gzip files under ``fashion-mnist/``.

The student's process gets the training files and, in place of the test files, as many training
examples as the test split has (at most one in five; see grader.datasets.decoy_rows): the real test split
stays with the grader, which measures accuracy on it.
"""

import shutil
from pathlib import Path

import numpy as np

from grader.datasets import (DataError, Dataset, Split, Staged, array_decoys, array_fingerprints, cache_dir,
                             cached_arrays)
from grader.hookspecs import hookimpl
from grader.builtin.datasets import idx
from grader.builtin.datasets.mnist import in_chunks, shift, to_pixels

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_LABELS, TRAIN_IMAGES, TEST_LABELS, TEST_IMAGES)
MD5 = {
    TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
    TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
    TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
}


def _pair(folder: Path, images: str, labels: str):
    x = idx.read(folder / images, 3)
    y = idx.read(folder / labels, 1)
    if x.shape[1:] != (28, 28):
        raise DataError(f"{folder / images} holds {x.shape[1]}x{x.shape[2]} images; Fashion-MNIST's are 28x28.")
    if len(x) != len(y):
        raise DataError(f"{folder / images} has {len(x)} images but {folder / labels} has {len(y)} labels.")
    if y.size and y.max() > 9:
        raise DataError(f"{folder / labels} has label {int(y.max())}; Fashion-MNIST's labels are 0 to 9.")
    return x, y


def validate(folder: Path):
    _pair(folder, TRAIN_IMAGES, TRAIN_LABELS)
    _pair(folder, TEST_IMAGES, TEST_LABELS)


def load_split(located, split: str, input_shape=None) -> Split:
    if split not in ("train", "test"):
        raise DataError(f"fashion_mnist has the splits 'train' and 'test', not '{split}'.")
    names = (TRAIN_IMAGES, TRAIN_LABELS) if split == "train" else (TEST_IMAGES, TEST_LABELS)

    def build():
        x, y = _pair(located.path, *names)
        return {"x": x, "y": y}

    arrays = cached_arrays(f"fashion_mnist-{split}-{located.stamp()}", build)
    return Split(x=arrays["x"], y=arrays["y"], classes=[str(i) for i in range(10)])


def stage(located, workdir: Path) -> Staged:
    """Put the student's copy where tf.keras.datasets.fashion_mnist.load_data() reads it."""
    target = workdir / ".keras" / "datasets" / "fashion-mnist"
    target.mkdir(parents=True, exist_ok=True)
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        shutil.copyfile(located.path / name, target / name)
    decoy = cache_dir() / f"fashion_mnist-decoy-hashed-{located.stamp()}"
    if not (decoy / TEST_LABELS).is_file():
        x, y = array_decoys(located, load_split)
        decoy.mkdir(parents=True, exist_ok=True)
        idx.write(decoy / TEST_IMAGES, x)
        idx.write(decoy / TEST_LABELS, y)
    for name in (TEST_IMAGES, TEST_LABELS):
        shutil.copyfile(decoy / name, target / name)
    # For an entry point such as train_mnist(x_train, y_train): the child loads them from its own copy.
    parts = {"x_train": [0, 0], "y_train": [0, 1], "x_test": [1, 0], "y_test": [1, 1]}
    return Staged(env={"KERAS_HOME": str(workdir / ".keras")},
                  paths={k: {"keras_dataset": "fashion_mnist", "part": v} for k, v in parts.items()})


def _templates(rng, classes=10):
    yy, xx = np.mgrid[0:28, 0:28] / 27.0
    out = []
    for _ in range(classes):
        img = np.zeros((28, 28))
        for _ in range(4):
            cx, cy = rng.uniform(0.2, 0.8, 2)
            sx, sy = rng.uniform(0.08, 0.25, 2)
            img += rng.uniform(0.5, 1.0) * np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
        out.append(img / img.max())
    return np.stack(out)


def _sample(rng, templates, n):
    """Each image: its class's pattern, blended with up to 45% of another class's, dimmed, plus a
    random distracting blob, pixel noise and a shift of up to 3 pixels. Learnable, not at once:
    the course's dense network passes 90% training accuracy after about six epochs."""
    k = len(templates)
    y = rng.integers(0, k, n)
    other = (y + rng.integers(1, k, n)) % k
    x = templates[y]
    x += rng.uniform(0, 0.45, (n, 1, 1)).astype(np.float32) * (templates[other] - x)
    x *= rng.uniform(0.6, 1.0, (n, 1, 1)).astype(np.float32)
    yy, xx = (np.mgrid[0:28, 0:28] / 27.0).astype(np.float32)
    c = rng.uniform(0.1, 0.9, (n, 2, 1, 1)).astype(np.float32)
    sd = rng.uniform(0.08, 0.2, (n, 1, 1)).astype(np.float32)
    blob = np.exp(-(((xx - c[:, 0]) ** 2 + (yy - c[:, 1]) ** 2) / sd ** 2))
    x += rng.uniform(0, 0.8, (n, 1, 1)).astype(np.float32) * blob
    x += rng.standard_normal((n, 28, 28), dtype=np.float32) * np.float32(0.1)
    return shift(to_pixels(x), rng.integers(-3, 4, (n, 2))), y.astype(np.uint8)


def synthesize(folder: Path, seed: int, train: int = 60_000, test: int = 10_000):
    """The four IDX files with as many images as the real ones (60,000 training, 10,000 test)."""
    rng = np.random.default_rng(seed)
    templates = _templates(rng).astype(np.float32)
    for (images, labels), n in (((TRAIN_IMAGES, TRAIN_LABELS), train), ((TEST_IMAGES, TEST_LABELS), test)):
        x, y = in_chunks(_sample, rng, templates, n)
        idx.write(folder / images, x)
        idx.write(folder / labels, y)


@hookimpl
def grader_register_datasets(register):
    register(Dataset(
        fingerprints=array_fingerprints(load_split),
        name="fashion_mnist", title="Fashion-MNIST (Zalando): 28x28 grey images of clothing, 10 classes",
        subdir="fashion-mnist", files=FILES,
        origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/", md5=MD5,
        validate=validate, synthesize=synthesize, stage=stage, load_split=load_split,
    ))
