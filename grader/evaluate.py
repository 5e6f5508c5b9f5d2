"""Trusted evaluation: load the child's model as data, never as code, and answer the checks' questions.

The model file's architecture is checked against an allow-list of Keras classes before Keras
sees it (``safe_mode`` alone blocks Python lambdas only), and TensorFlow activation functions the
course uses (``tf.nn.relu``, ``tf.nn.softmax``) are mapped to their Keras names so they load.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np

from grader.checks import ModelUnavailable
from grader.tfimport import import_keras_quietly

ALLOWED_MODULES = ("keras", "keras.layers", "keras.models", "keras.initializers", "keras.regularizers",
                   "keras.constraints", "keras.optimizers", "keras.losses", "keras.metrics",
                   "keras.activations", "keras.src")
FORBIDDEN_CLASSES = {"Lambda", "TFOpLambda", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "TFSMLayer"}
# Functions from tf.nn that students pass as activation=..., by the name Keras 3 saves them under.
TF_ACTIVATIONS = {"relu": "relu", "softmax_v2": "softmax", "softmax": "softmax", "sigmoid": "sigmoid",
                  "tanh": "tanh", "elu": "elu", "selu": "selu", "softplus": "softplus", "softsign": "softsign",
                  "swish": "silu", "silu": "silu", "gelu": "gelu", "leaky_relu": "leaky_relu", "relu6": "relu6",
                  "log_softmax_v2": "log_softmax", "log_softmax": "log_softmax", "exponential": "exponential",
                  "linear": "linear"}

_keras = None
_keras_lock = threading.Lock()


def warm_up():
    """Import Keras in a background thread while the child trains (it costs seconds of CPU). The thread
    runs at the lowest priority, so it takes CPU the student's training leaves idle, not CPU from it."""

    def low_priority_import():
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (OSError, AttributeError):
            pass
        keras_module()

    thread = threading.Thread(target=low_priority_import, daemon=True)
    thread.start()
    return thread


def keras_module():
    global _keras
    with _keras_lock:
        if _keras is None:
            _keras = import_keras_quietly()[1]
    return _keras


class UnsafeModel(Exception):
    pass


def infer(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The model's outputs, batch by batch, called directly: no predict() loop to retrace per model."""
    outs = [np.asarray(model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,))


# Keras 3 serialises tuples, tensors, arrays and the like as {"class_name": "__tuple__", ...} with no
# module; these carry data, not code. "__lambda__" (a Python function) is not among them.
DATA_MARKERS = {"__tuple__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__typespec__"}
MAX_CONFIG_BYTES = 16 * 2**20  # the course's largest model's config.json is about 10 KiB
MAX_METADATA_BYTES = 2**20
MAX_WEIGHTS_BYTES = 2 * 2**30
MAX_RATIO = 200  # uncompressed / compressed, for the JSON members (a zip bomb is thousands)


def _keras_class(module: str, cls: str):
    """The class ``cls`` of Keras' module ``module``, exactly as named, or None."""
    import importlib
    import sys

    if not (module in ALLOWED_MODULES or module.startswith("keras.src.")) or not cls.isidentifier():
        return None
    try:
        mod = sys.modules.get(module) or importlib.import_module(module)
    except ImportError:
        return None
    found = getattr(mod, cls, None)
    return found if isinstance(found, type) else None


def _sanitise(node, path="model"):
    """Walk a Keras config: refuse anything that is not exactly a Keras class (by module and name),
    any kind of Lambda, and custom objects; map tf.nn activations. Returns the new node."""
    if isinstance(node, list):
        return [_sanitise(v, path) for v in node]
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
            return {k: _sanitise(v, path) for k, v in node.items()}
        if not isinstance(module, str) or not (module in ALLOWED_MODULES or module.startswith("keras.src.")):
            raise UnsafeModel(f"{path} uses {cls} from '{module}', which is not part of Keras")
        found = _keras_class(module, cls)
        if found is None:
            raise UnsafeModel(f"{path} uses '{cls}', which is not a class of Keras' module '{module}'")
        lambdas = tuple(t for t in (_keras_class("keras.layers", "Lambda"),) if t is not None)
        if lambdas and issubclass(found, lambdas):
            raise UnsafeModel(f"{path} contains a {cls} layer, which runs arbitrary Python code")
        registered = node.get("registered_name")
        if registered not in (None, cls) and not str(registered).startswith("keras"):
            raise UnsafeModel(f"{path} uses the custom object '{registered}'")
        config = node.get("config")
        path = f"{path} > {config.get('name', cls) if isinstance(config, dict) else cls}"
    return {k: _sanitise(v, path) for k, v in node.items()}


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


def load_model_safely(path: Path, workdir: Path):
    """Check and load a .keras file written by the child. Raises UnsafeModel or ValueError."""
    keras = keras_module()
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if not {"config.json", "model.weights.h5"} <= names:
                raise ValueError("the saved model file is incomplete")
            config = parse_json(_read_bounded(z, _member(z, "config.json", MAX_CONFIG_BYTES)),
                                "the saved model's config.json")
            try:
                clean = _sanitise(config)
            except RecursionError:
                raise ValueError("the saved model's config.json is nested too deeply") from None
            metadata = (_read_bounded(z, _member(z, "metadata.json", MAX_METADATA_BYTES))
                        if "metadata.json" in names else b"{}")
            weights = _member(z, "model.weights.h5", MAX_WEIGHTS_BYTES, ratio=False)
            safe = workdir / "checked.keras"
            with zipfile.ZipFile(safe, "w") as out:
                out.writestr("config.json", json.dumps(clean))
                out.writestr("metadata.json", metadata)
                with z.open(weights) as src, out.open("model.weights.h5", "w", force_zip64=True) as dst:
                    copied = 0
                    while chunk := src.read(1 << 20):
                        copied += len(chunk)
                        if copied > weights.file_size:
                            raise ValueError("the saved model's weights are larger than their zip entry says")
                        dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError):
        raise ValueError("the saved model file is not a Keras archive") from None
    return keras.saving.load_model(safe, safe_mode=True, compile=False)


class Evidence:
    """What checks look at: the run, its trace, and (lazily) the trusted model and its predictions."""

    def __init__(self, exercise, run, source, dataset=None):
        self.exercise = exercise
        self.run = run
        self.source = source
        self.dataset = dataset  # grader.datasets.Located, or None for exercises that carry their data
        self.trace = run.trace or {}
        self._model = None
        self._model_error: str | None = None
        self._loaded = False
        self._tmp = Path(tempfile.mkdtemp(prefix="grader-eval-"))
        self._fingerprints: dict = {}

    # ------------------------------------------------------------ the run
    @property
    def fits(self) -> list[dict]:
        return self.trace.get("fits") or []

    @property
    def model_info(self) -> dict:
        return self.trace.get("model") or {}

    def graded_fits(self) -> list[dict]:
        """The fit calls made on the graded model."""
        calls = set(self.model_info.get("fit_calls") or [])
        return [f for f in self.fits if f["index"] in calls] if self.model_info.get("fitted") else []

    def why_no_model(self) -> str:
        """A sentence for a student on why there is no trained model to test."""
        run, t = self.run, self.trace
        err = t.get("error") or {}
        expected = self.expected_model_sentence()
        if run.status == "syntax_error":
            return f"Your code could not run: a syntax error at {err.get('where')} ({err.get('message')})."
        if run.status == "timeout":
            return (f"Your program was stopped at the {run.time_limit_s:g} s time limit before a trained model "
                    "could be saved.")
        if run.status == "memory":
            return f"Your program was stopped: it used more than the memory limit of {run.memory_limit_mib} MiB."
        if run.status == "disk":
            return (f"Your program was stopped: its files took more than the disk limit of {run.disk_limit_mib} MiB "
                    "in its working directory.")
        if run.status == "error" and not self.model_info.get("fitted"):
            return f"Your code raised {err.get('type')} at {err.get('where') or 'start-up'} before a model was trained."
        if run.status == "crashed":
            how = f"signal {run.signal}" if run.signal else f"exit code {run.exit_code}"
            return f"Your program ended abruptly ({how}) before the grader could save the model."
        mi = self.model_info
        if mi.get("not_keras"):
            return f"No Keras model to test: {mi['not_keras']}. {expected}"
        if mi.get("found") and not mi.get("saved"):
            return f"The model could not be saved for testing ({mi.get('save_error', 'unknown error')})."
        return f"No Keras model was found. {expected}"

    def expected_model_sentence(self) -> str:
        ex = self.exercise
        where = f"a variable named `{ex.model_variable}`"
        if ex.entry_point:
            where = f"a function `{ex.entry_point}()` that returns the model (or its History), or " + where
        return f"The grader looks for {where} holding a model built with tf.keras and trained with model.fit()."

    def unavailable_hint(self) -> str:
        if self.run.status == "timeout":
            return "Your program must finish within the time limit: look for a loop that never ends, or train for fewer epochs."
        if self.run.status == "memory":
            return "Load less data at once (use generators or smaller batches) or build a smaller model."
        if self.run.status in ("syntax_error", "error"):
            return "Fix the error shown under 'Your program' below, run your file once yourself, then submit again."
        return "Build the model with tf.keras.Sequential([...]), call model.compile(...) and model.fit(...)."

    # ------------------------------------------------------------ the model
    def model(self):
        if not self._loaded:
            self._loaded = True
            failed_early = self.run.status in ("error", "timeout", "crashed", "memory", "disk") and \
                not self.model_info.get("fitted")
            if self.run.model_path is None or failed_early:
                self._model_error = self.why_no_model()
            else:
                try:
                    self._model = load_model_safely(self.run.model_path, self._tmp)
                except UnsafeModel as exc:
                    self._model_error = f"The model cannot be graded safely: {exc}. Use only built-in Keras layers."
                except Exception as exc:
                    self._model_error = f"The saved model could not be loaded ({type(exc).__name__}: {str(exc)[:300]})."
        if self._model is None:
            raise ModelUnavailable(self._model_error)
        return self._model

    def predict(self, inputs) -> np.ndarray:
        """Predictions for a list of scalar inputs, one output per input (flattened)."""
        model = self.model()
        x = np.asarray(inputs, dtype="float32")
        errors = []
        for shaped in (x.reshape(-1, 1), x):
            try:
                y = infer(model, shaped)
                return y.reshape(len(x), -1)[:, 0]
            except Exception as exc:
                errors.append(exc)
        raise ModelUnavailable(f"The model could not make a prediction for one number at a time "
                               f"({type(errors[0]).__name__}). Give the first layer input_shape=[1].")

    def last_graded_fit(self) -> dict:
        """The last fit call that trained the graded model (ModelUnavailable, with the reason, if none)."""
        fits = [f for f in self.graded_fits() if f["epochs_run"]]
        if not fits:
            if not self.model_info.get("fitted"):
                raise ModelUnavailable(self.why_no_model() if not self.model_info.get("found")
                                       else "The graded model was never trained with model.fit(...).")
            raise ModelUnavailable("model.fit(...) did not complete a single epoch.")
        return fits[-1]

    def input_scale(self) -> tuple[float, str]:
        """The factor that turns 0..255 pixels into what the model was trained on, so held-out images
        are fed the same way: read from a batch of the training inputs (the trace peeks at one)."""
        for fit in reversed(self.graded_fits()):
            data = fit.get("data") or {}
            top = (data.get("batch") or {}).get("max", (data.get("x") or {}).get("max"))
            if top is None and data.get("kind") == "ImageDataGenerator":
                return float(data.get("rescale") or 1.0), ""
            if top is None:
                continue
            if top > 1.5:
                return 1.0, (" (Your model was trained on pixel values up to 255, so the grader fed these "
                             "unscaled too.)")
            return 1 / 255.0, ""
        return 1 / 255.0, ""

    def trained_on(self, split: str) -> bool:
        """Whether the graded model was trained on the dataset's ``split``: a training generator read
        that folder, or most of what fit received has the content of the grader's own copy of it."""
        return bool(self.folder_read(split)) or self.overlap(split) >= 0.5

    def folder_read(self, split: str) -> str:
        """The folder named ``split`` that a generator fed to a graded fit read ("" if none)."""
        for fit in self.graded_fits():
            directory = (fit.get("data") or {}).get("directory") or ""
            if directory and Path(directory).name == split:
                return directory
        return ""

    def overlap(self, split: str) -> float:
        """The largest share, over the graded fits, of training examples whose content hash is in the
        grader's copy of ``split`` (0.0 when nothing can be compared)."""
        ds = self.dataset.dataset if self.dataset is not None else None
        sampled = [(fit.get("data") or {}).get("fingerprint") or [] for fit in self.graded_fits()]
        if ds is None or ds.fingerprints is None or not any(sampled):
            return 0.0
        if split not in self._fingerprints:
            try:
                self._fingerprints[split] = ds.fingerprints(self.dataset, split)
            except Exception:  # no such split in this dataset
                self._fingerprints[split] = set()
        held_out = self._fingerprints[split]
        return max((sum(h in held_out for h in hashes) / len(hashes) for hashes in sampled if hashes), default=0.0)

    def accuracy(self, split: str) -> dict:
        """Accuracy of the graded model on a held-out split: {accuracy, examples, scale_note, skipped} or
        {problem, hint}."""
        if self.dataset is None:
            raise ModelUnavailable(f"The exercise '{self.exercise.name}' names no dataset to measure accuracy on.")
        model = self.model()
        try:
            input_shape = tuple(model.inputs[0].shape[1:])
        except Exception:
            input_shape = None
        data = self.dataset.dataset.load_split(self.dataset, split, input_shape)
        x, y = data.x, np.asarray(data.y)
        factor, note = self.input_scale()
        classes = len(data.classes)
        out, error = None, None
        for shaped in (x, x[..., None]):
            try:
                out = infer(model, np.asarray(shaped, dtype="float32") * factor)
                break
            except Exception as exc:
                error = exc
        if out is None:
            return {"problem": f"The model could not take the {split} images ({type(error).__name__}: "
                               f"{str(error).splitlines()[0][:200]}).",
                    "hint": "Make the first layer accept the images as they are, e.g. Flatten(input_shape=(28, 28))."}
        units = out.shape[-1] if out.ndim > 1 else 1
        if units == 1 and classes == 2:
            predicted = (out.reshape(-1) > 0.5).astype(int)
        elif units != classes:
            return {"problem": f"Your model's last layer has {units} unit{'s' if units != 1 else ''}, but the data "
                               f"has {classes} classes ({', '.join(data.classes)}).",
                    "hint": ("End the model with Dense(1, activation='sigmoid') for two classes, or "
                             f"Dense({classes}, activation='softmax').") if classes == 2 else
                            f"End the model with Dense({classes}, activation='softmax')."}
        else:
            predicted = out.reshape(len(y), -1).argmax(axis=1)
        return {"accuracy": float(np.mean(predicted == y)), "examples": int(len(y)), "scale_note": note,
                "skipped": data.skipped}

    def layer_summary(self, required: bool = False) -> list[dict]:
        """The graded model's layers, nested models opened up. Without a model: [] (or, if
        ``required``, ModelUnavailable with the reason)."""
        try:
            model = self.model()
        except ModelUnavailable:
            if required:
                raise
            return []
        rows = []

        def walk(layers, depth):
            for layer in layers:
                try:
                    shape = str(layer.output.shape)
                except Exception:
                    shape = ""
                rows.append({"class": type(layer).__name__, "name": layer.name, "output_shape": shape,
                             "params": int(layer.count_params()) if layer.built else 0, "depth": depth})
                if getattr(layer, "layers", None):
                    walk(layer.layers, depth + 1)

        walk(model.layers, 0)
        return rows

    def close(self):
        shutil.rmtree(self._tmp, ignore_errors=True)
