"""The saved model, checked and loaded as data (runs in the evaluator process, never in the grader's).

The model file's architecture is checked against Keras' own classes, by exact module and name, before
Keras sees it (``safe_mode`` alone blocks Python lambdas only), every member of the archive is bounded
by the sizes its zip directory declares before anything is inflated, and TensorFlow activation
functions the course uses (``tf.nn.relu``, ``tf.nn.softmax``) are mapped to their Keras names so they
load. Imports only the standard library, NumPy and Keras.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

ALLOWED_MODULES = ("keras", "keras.layers", "keras.models", "keras.initializers", "keras.regularizers",
                   "keras.constraints", "keras.optimizers", "keras.optimizers.schedules", "keras.losses",
                   "keras.metrics", "keras.activations", "keras.src")
FORBIDDEN_CLASSES = {"Lambda", "TFOpLambda", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "TFSMLayer"}
# Functions from tf.nn that students pass as activation=..., by the name Keras 3 saves them under.
TF_ACTIVATIONS = {"relu": "relu", "softmax_v2": "softmax", "softmax": "softmax", "sigmoid": "sigmoid",
                  "tanh": "tanh", "elu": "elu", "selu": "selu", "softplus": "softplus", "softsign": "softsign",
                  "swish": "silu", "silu": "silu", "gelu": "gelu", "leaky_relu": "leaky_relu", "relu6": "relu6",
                  "log_softmax_v2": "log_softmax", "log_softmax": "log_softmax", "exponential": "exponential",
                  "linear": "linear"}


class UnsafeModel(Exception):
    pass


BATCH_INPUT_BYTES = 8 * 2**20  # of inputs per batch: a deep network's activations are hundreds of times more


def infer(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The model's outputs, batch by batch, called directly: no predict() loop to retrace per model.
    Batches of at most ``batch_size`` examples and BATCH_INPUT_BYTES of inputs (32 pictures of 150x150
    for InceptionV3, whose activations for 512 of them would take gigabytes)."""
    batch_size = max(1, min(batch_size, BATCH_INPUT_BYTES // max(1, x[:1].nbytes)))
    outs = [np.asarray(model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,))


# Keras 3 serialises tuples, tensors, arrays and the like as {"class_name": "__tuple__", ...} with no
# module; these carry data, not code. "__lambda__" (a Python function) is not among them.
DATA_MARKERS = {"__tuple__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__typespec__",
                "__keras_tensor__"}  # a functional model's connections: layer name and node index
MAX_CONFIG_BYTES = 16 * 2**20  # the course's largest model's config.json is about 10 KiB
MAX_METADATA_BYTES = 2**20
MAX_WEIGHTS_BYTES = 2 * 2**30
MAX_RATIO = 200  # uncompressed / compressed, for the JSON members (a zip bomb is thousands)


def _keras_module(module: str, package: str) -> bool:
    """A module of Keras itself: Keras' public modules and ``keras.src``, and for tf-keras its own
    ``tf_keras.src`` too (where it saves a functional model's class, ``tf_keras.src.engine.functional``)."""
    return module in ALLOWED_MODULES or module.startswith("keras.src.") or \
        (package == "tf_keras" and module.startswith("tf_keras.src."))


def _keras_class(module: str, cls: str, package: str = "keras"):
    """The class ``cls`` of Keras' module ``module``, exactly as named, or None. tf-keras saves its
    classes under Keras' module names ("keras.layers"): ``package`` "tf_keras" looks them up there."""
    import importlib
    import sys

    if not _keras_module(module, package) or not cls.isidentifier():
        return None
    if not module.startswith(package + "."):
        module = package + module[len("keras"):]
    try:
        mod = sys.modules.get(module) or importlib.import_module(module)
    except ImportError:
        return None
    found = getattr(mod, cls, None)
    return found if isinstance(found, type) else None


def _sanitise(node, path="model", package="keras"):
    """Walk a Keras config: refuse anything that is not exactly a Keras class (by module and name),
    any kind of Lambda, and custom objects; map tf.nn activations. Returns the new node."""
    if isinstance(node, list):
        return [_sanitise(v, path, package) for v in node]
    if not isinstance(node, dict):
        return node
    if "class_name" in node:
        module, cls = node.get("module"), node.get("class_name")
        if module == "builtins" and cls == "function":
            name = node.get("config")
            if name in TF_ACTIVATIONS:
                return TF_ACTIVATIONS[name]
            raise UnsafeModel(f"the function '{name}' in {path} is not a Keras activation")
        if not isinstance(cls, str):
            raise UnsafeModel(f"{path} names a class that is not a name")
        if "lambda" in cls.lower() or cls.rsplit(".", 1)[-1] in FORBIDDEN_CLASSES:
            raise UnsafeModel(f"{path} contains a {cls} layer, which runs arbitrary Python code")
        if module is None and cls in DATA_MARKERS:
            return {k: _sanitise(v, path, package) for k, v in node.items()}
        if not isinstance(module, str) or not _keras_module(module, package):
            raise UnsafeModel(f"{path} uses {cls} from '{module}', which is not part of Keras")
        found = _keras_class(module, cls, package)
        if found is None:
            raise UnsafeModel(f"{path} uses '{cls}', which is not a class of Keras' module '{module}'")
        lambdas = tuple(t for t in (_keras_class("keras.layers", "Lambda", package),) if t is not None)
        if lambdas and issubclass(found, lambdas):
            raise UnsafeModel(f"{path} contains a {cls} layer, which runs arbitrary Python code")
        registered = node.get("registered_name")
        if registered not in (None, cls) and not str(registered).startswith("keras"):
            raise UnsafeModel(f"{path} uses the custom object '{registered}'")
        config = node.get("config")
        path = f"{path} > {config.get('name', cls) if isinstance(config, dict) else cls}"
    return {k: _sanitise(v, path, package) for k, v in node.items()}


def _member(z: zipfile.ZipFile, name: str, limit: int, ratio: bool = True) -> zipfile.ZipInfo:
    """The zip entry ``name``, refused by the sizes its directory declares, before anything is inflated."""
    info = z.getinfo(name)
    if info.file_size > limit or (ratio and info.file_size > 2**20 and info.file_size > MAX_RATIO * max(
            info.compress_size, 1)):
        raise ValueError(f"the saved model's {name} is too large ({info.file_size / 2**20:.0f} MiB)")
    return info


def _read_bounded(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, never more than it declared (a forged directory cannot inflate past it)."""
    with z.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise ValueError(f"the saved model's {info.filename} is larger than its zip entry says")
    return data


def parse_json(data, what: str):
    """JSON from the child, with its nesting bounded (a deep document is malformed, not a crash)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{what} is not valid JSON") from None


def load_model_safely(path: Path, workdir: Path, runtime: str = "keras3"):
    """Check and load a .keras file written by the child, with the Keras of ``runtime`` (the one it was
    trained on). Only the architecture and weights are read: the compile settings (loss, optimizer,
    metrics: any function the student liked) are dropped unread, since evaluation never compiles.
    Raises UnsafeModel or ValueError."""
    from grader.tfimport import import_keras_quietly

    keras = import_keras_quietly(runtime)[1]
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if not {"config.json", "model.weights.h5"} <= names:
                raise ValueError("the saved model file is incomplete")
            config = parse_json(_read_bounded(z, _member(z, "config.json", MAX_CONFIG_BYTES)),
                                "the saved model's config.json")
            if isinstance(config, dict):
                config.pop("compile_config", None)
            try:
                clean = _sanitise(config, package="tf_keras" if runtime == "keras2" else "keras")
            except RecursionError:
                raise ValueError("the saved model's config.json is nested too deeply") from None
            metadata = (_read_bounded(z, _member(z, "metadata.json", MAX_METADATA_BYTES))
                        if "metadata.json" in names else b"{}")
            weights = _member(z, "model.weights.h5", MAX_WEIGHTS_BYTES, ratio=False)
            safe = workdir / "checked.keras"
            on_disk = workdir / "weights.h5"  # tf-keras reads them from here (_weights_from_disk)
            with zipfile.ZipFile(safe, "w") as out:
                out.writestr("config.json", json.dumps(clean))
                out.writestr("metadata.json", metadata)
                with z.open(weights) as src, (open(on_disk, "wb") if runtime == "keras2" else
                                              out.open("model.weights.h5", "w", force_zip64=True)) as dst:
                    copied = 0
                    while chunk := src.read(1 << 20):
                        copied += len(chunk)
                        if copied > weights.file_size:
                            raise ValueError("the saved model's weights are larger than their zip entry says")
                        dst.write(chunk)
                if runtime == "keras2":
                    out.writestr("model.weights.h5", b"")  # tf-keras looks for the member, then reads on_disk
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError):
        raise ValueError("the saved model file is not a Keras archive") from None
    if runtime == "keras2":
        _weights_from_disk(on_disk)
    return keras.saving.load_model(safe, safe_mode=True, compile=False)


_WEIGHTS_ON_DISK: list = [None]  # where the weights of the model being loaded were copied


def _weights_from_disk(path: Path):
    """tf-keras reads a .keras file's weights through the zip member itself, and Python's zipfile answers
    each backward seek by reading the member again from its start: 90 s for InceptionV3's 330 MB (Keras 3
    copies the member out first). Here its store opens ``path``, the weights copied there once, instead."""
    import h5py
    from tf_keras.src.saving import saving_lib

    _WEIGHTS_ON_DISK[0] = path
    original = saving_lib.H5IOStore.__init__
    if getattr(original, "grader_from_disk", False):
        return

    def __init__(self, root_path, archive=None, mode="r"):
        if archive is None or mode != "r":
            return original(self, root_path, archive, mode)
        self.root_path, self.mode, self.archive, self.io_file = root_path, mode, archive, None
        self.h5_file = h5py.File(_WEIGHTS_ON_DISK[0], mode="r")

    __init__.grader_from_disk = True
    saving_lib.H5IOStore.__init__ = __init__


def _shape(layer, which: str) -> list | None:
    """The layer's input or output shape, batch axis first (None), or None when it has no single one."""
    try:
        return [None if d is None else int(d) for d in getattr(layer, which).shape]
    except Exception:
        return None


def _plain(value, depth: int = 0):
    """A config value as plain JSON (an activation as its name, an initializer as its class name)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and depth < 2:
        return [_plain(v, depth + 1) for v in value[:16]]
    if isinstance(value, dict):
        name = value.get("config", {}).get("name") if isinstance(value.get("config"), dict) else None
        return name if isinstance(name, str) and value.get("class_name") in (None, "function") else value.get("class_name")
    return getattr(value, "__name__", None) or type(value).__name__


def layer_rows(model) -> list[dict]:
    """The model's layers, nested models opened up: class, name, input and output shapes (lists of ints,
    None for the batch), parameters, depth, and the layer's Keras config as saved (units, activation,
    filters, kernel_size, ...), in plain values."""
    rows = []

    def walk(layers, depth):
        for layer in layers:
            try:
                config = {k: _plain(v) for k, v in layer.get_config().items() if k not in ("layers", "build_config")}
            except Exception:
                config = {}
            rows.append({"class": type(layer).__name__, "name": layer.name,
                         "input_shape": _shape(layer, "input") if layer.built else None,
                         "output_shape": _shape(layer, "output") if layer.built else None,
                         "params": int(layer.count_params()) if layer.built else 0, "depth": depth,
                         "config": config})
            if getattr(layer, "layers", None):
                walk(layer.layers, depth + 1)

    walk(model.layers, 0)
    return rows


MAX_DIGESTS = 20_000  # weight arrays; InceptionV3 has 376


DIGEST_CHARS = 16


def digest(array) -> str:
    """What identifies one weight array, in the evaluator and on the trusted side alike (a weights file
    read there): its shape and float32 bytes, hashed."""
    data = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    found = hashlib.sha256(repr(data.shape).encode())
    found.update(data.reshape(-1).view(np.uint8))  # the same bytes as data.tobytes(), not copied
    return found.hexdigest()[:DIGEST_CHARS]


def combined(digests: list[str]) -> str:
    """One digest standing for a list of array digests, as the child combines its own
    (grader/harness/commit.py): the commitments to training name a model's weights by it."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:DIGEST_CHARS]


def weight_digests(model) -> list[str]:
    """A digest of each of the model's weight arrays (trainable or not): whether it holds a weights
    file's arrays unchanged is told from these, on the trusted side."""
    return [digest(w) for w in model.get_weights()[:MAX_DIGESTS]]


def input_shape(model) -> list | None:
    """The shape of one input example (without the batch axis), or None when the model has no fixed one."""
    try:
        return [d for d in model.inputs[0].shape[1:]]
    except Exception:
        return None
