"""Pre-trained weights served offline: a ``keras.applications`` model's weights file, registered as a
dataset (``grader data fetch/import/synth/status`` handle it like any other) and answered where course
code asks for it, with no network:

- ``InceptionV3(..., weights='imagenet')``: the application's own download (``get_file`` with the file's
  name) returns the staged file (grader/harness/offline.py);
- ``!wget .../inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 -O /tmp/...`` and
  ``urlretrieve``: a copy of it, by the URL's file name;
- ``load_weights('/tmp/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5')`` without a download:
  the file is already at /tmp (and beside the program, and in the child's Keras cache ``~/.keras/models``).

An exercise names the weights it serves in ``[dataset] pretrained = ["inception_v3"]``; the check type
``pretrained_base`` (plugins/checks/pretrained.py) then tells, from the file, whether the trained model
holds those weights unchanged and where it was cut. Register others with ``pretrained_weights(...)``.

The stand-in (``grader data synth``) is NOT pre-trained on ImageNet: it is the application's own
architecture at its own initialisation (seeded), saved in the real file's format (Keras' legacy HDF5
weights: the same layers in the same order, with the same shapes), with each batch-normalisation
layer's statistics measured on stand-in pictures so every layer's output is on a sensible scale. Its
features are weaker than ImageNet's; the stand-in datasets served beside it are drawn so that a frozen
base and a small dense head still learn them in a few epochs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from grader.datasets import DataError, Dataset, Staged
from grader.hookspecs import hookimpl
from grader.modelcheck import digest

def file_layers(path: Path) -> list[tuple[str, list[str]]]:
    """The layers of a Keras legacy HDF5 weights file in its order, each with the digests of its weight
    arrays that are not constant (an empty list for a layer without weights, such as ``mixed7``). Raises
    DataError naming the file when it is not such a file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["layer_names"]]
            out = []
            for name in names:
                layer = group[name]
                weights = [w.decode() if isinstance(w, bytes) else str(w) for w in layer.attrs.get("weight_names", [])]
                arrays = [layer[w][()] for w in weights]
                # a constant array (zero biases, unit variances) says nothing about which weights were loaded:
                # a freshly initialised model holds the same ones
                out.append((name, [digest(a) for a in arrays if a.size and a.min() != a.max()]))
            return out
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path} is not a Keras weights file (HDF5 with layer_names): {exc}.") from None


def cut_digests(path: Path, cut_at: str | None) -> tuple[list[str], list[str], list[str]]:
    """(digests of the weights up to and including ``cut_at``, digests after it, layer names in order)."""
    layers = file_layers(path)
    names = [name for name, _ in layers]
    if cut_at is not None and cut_at not in names:
        raise DataError(f"{path} has no layer '{cut_at}'; its layers include {', '.join(names[-5:])}.")
    end = names.index(cut_at) + 1 if cut_at else len(layers)
    return ([d for _, ds in layers[:end] for d in ds], [d for _, ds in layers[end:] for d in ds], names)


def matched(wanted: list[str], present: list[str]) -> int:
    """How many of ``wanted`` are in ``present``, counting repeats (two identical arrays match twice only
    if the model holds two)."""
    have = Counter(present)
    return sum(min(n, have[d]) for d, n in Counter(wanted).items())


def validate_weights(folder: Path, filename: str):
    layers = file_layers(folder / filename)
    if not any(ds for _, ds in layers):
        raise DataError(f"{folder / filename} holds no weights.")


def stage_weights(located, workdir: Path, filename: str) -> Staged:
    """The child's copy: in its Keras cache (where ``weights='imagenet'`` looks), at /tmp and beside the
    program (where course code loads it), and answered by name to a download."""
    cache = workdir / ".keras" / "models"
    cache.mkdir(parents=True, exist_ok=True)
    copy = cache / filename
    shutil.copyfile(located.path / filename, copy)  # the child may write over its own copy, never the grader's
    return Staged(env={"KERAS_HOME": str(workdir / ".keras")}, downloads={filename: {"file": str(copy)}},
                  links={f"/tmp/{filename}": str(copy), filename: str(copy)})


def synthesize_weights(folder: Path, seed: int, application: str, filename: str):
    """Write the stand-in file in a Python of its own (TensorFlow stays out of the grader's process)."""
    out = folder / filename
    done = subprocess.run([sys.executable, "-m", "grader.builtin.datasets.pretrained", application, str(out), str(seed)],
                          capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    if done.returncode != 0 or not out.is_file():
        raise DataError(f"Could not write the stand-in weights {out}: {done.stderr.strip()[-800:]}")


def pretrained_weights(name: str, title: str, application: str, filename: str, origin: str,
                       md5: str | None = None) -> Dataset:
    """A ``keras.applications`` weights file as a dataset: ``application`` is the class in
    ``keras.applications`` ("InceptionV3"), ``filename`` the published file's name (what course code and
    the application's own download ask for), ``origin`` the folder it is published in."""
    def no_split(located, split, input_shape=None):
        raise DataError(f"{name} is a weights file; it has no split '{split}' to measure a model on.")

    return Dataset(
        name=name, title=title, subdir=name, files=(filename,), origin=origin, md5={filename: md5} if md5 else {},
        validate=lambda folder: validate_weights(folder, filename),
        synthesize=lambda folder, seed: synthesize_weights(folder, seed, application, filename),
        stage=lambda located, workdir: stage_weights(located, workdir, filename),
        load_split=no_split, evaluation_copy="the weights file", examples="weight arrays")


INCEPTION_V3_NOTOP = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


@hookimpl
def grader_register_datasets(register):
    register(pretrained_weights(
        "inception_v3", "InceptionV3 (its ImageNet weights without the top: the course's transfer-learning base)",
        application="InceptionV3", filename=INCEPTION_V3_NOTOP,
        origin="https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/",
        md5="bcbd6486424b2319ff4ef7d526e38f63"))  # the file_hash keras.applications checks


# ---------------------------------------------------------------- the stand-in, in a process of its own
CALIBRATION_SIZE = 150  # the course's input size; the file's weights fit any size
CALIBRATION_PICTURES = 64


def _calibration_pictures(seed: int):
    """Stand-in pictures (shapes of every class of the image stand-ins, scaled to 0..1 as course code
    scales them), on which the batch-normalisation statistics are measured."""
    import numpy as np

    from grader.builtin.datasets.image_tree import SHAPES, _backgrounds, _class_shape

    rng = np.random.default_rng(seed)
    pictures = [np.asarray(_class_shape(rng, SHAPES[i % len(SHAPES)], (i % 7) / 7, background, i % 2))
                for i, background in enumerate(_backgrounds(rng, CALIBRATION_PICTURES, CALIBRATION_SIZE))]
    return np.stack(pictures).astype("float32") / 255.0


def build_standin(application: str, out: Path, seed: int):
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    import h5py

    keras.utils.set_random_seed(seed)
    model = getattr(keras.applications, application)(
        input_shape=(CALIBRATION_SIZE, CALIBRATION_SIZE, 3), include_top=False, weights=None)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:  # one pass in training mode: each layer's statistics become those of the pictures
        layer.momentum = 0.0
    model(_calibration_pictures(seed), training=True)
    tmp = out.with_name(out.name + ".part")
    with h5py.File(tmp, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    os.replace(tmp, out)


if __name__ == "__main__":
    build_standin(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
