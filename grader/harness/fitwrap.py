"""Wraps ``keras.Model.fit`` inside the child: epoch cap, time budget, trace, and an exact fast path.

Everything recorded here is plain data (the trace); the trusted side never sees these objects.
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
import time

import numpy as np

from grader.harness import commit
from grader.harness import data as data_info
from grader.harness import determinism
from grader.harness import replayable

STUDENT_MODULE = "__main__"  # the submission runs as __main__, as under `python file.py`


def _clean(value):
    """A JSON-safe float: NaN and infinities become None (the trace says where they were)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


weights_digest = commit.weights_digest  # (whether a fit changed the weights, and whether they changed after)


BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def callback_info(cb) -> dict:
    cls = type(cb)
    return {
        "class": cls.__name__,
        "module": cls.__module__,
        "student": cls.__module__ == STUDENT_MODULE,
        "bases": [b.__name__ for b in cls.__mro__[1:] if b is not object],
        # acts between the steps of an epoch (a replay of the epoch runs the steps alone)
        "batch_hooks": any(hook in vars(klass) for klass in cls.__mro__ if klass.__module__ == STUDENT_MODULE
                           for hook in BATCH_HOOKS),
    }


def compile_info(model) -> dict:
    """The loss, optimizer and learning rate fit will use (for the diagnoses on the trusted side)."""
    info = {}
    loss = getattr(model, "loss", None)
    if loss is not None:
        info["loss"] = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(
            loss, "__name__", type(loss).__name__)
        info["from_logits"] = bool(getattr(loss, "from_logits", False) or
                                   (getattr(loss, "get_config", None) and loss.get_config().get("from_logits")))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        info["optimizer"] = type(optimizer).__name__
        try:
            info["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        except Exception:  # a schedule
            pass
    return info


def output_info(model) -> dict:
    """The last layer's units and activation."""
    try:
        layer = model.layers[-1]
        config = layer.get_config()
        activation = config.get("activation")
        if isinstance(activation, dict):
            activation = activation.get("config", {}).get("name") or activation.get("class_name")
        return {"class": type(layer).__name__, "units": int(model.outputs[0].shape[-1]),
                "activation": activation if isinstance(activation, str) else None}
    except Exception:
        return {}


class Recorder:
    """Collects the trace of every fit call plus the legacy idioms met on the way."""

    def __init__(self, job: dict, source_path: str, events=None):
        self.events = events
        self.max_epochs = job.get("max_epochs")
        self.deadline = job["train_deadline"]
        self.source_path = source_path
        self.fits: list[dict] = []
        self.legacy: list[dict] = []
        self.data_access: list[dict] = []
        self.models: list = []  # models fit was called on, in order
        self.digests: dict[int, str] = {}  # id(model) -> weights digest at the end of its last fit
        self.learned: set[int] = set()  # id(model) of models whose weights some fit changed
        self.current: dict | None = None
        self.after_fit = None  # called with the model when a fit has trained it (run.py saves a checkpoint)
        self.ledger = None  # a grader.harness.ledger.Ledger: where the commitments to training go (run.py)

    def student_line(self) -> int | None:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self.source_path:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def note_data(self, how: str):
        """Course code fetched data; it got the grader's local copy (recorded, not a mistake). The grader's
        own calls (building an entry point's arguments) are not the program's and are not recorded."""
        line = self.student_line()
        if line is None:
            return
        entry = {"how": how, "line": line}
        if entry not in self.data_access:
            self.data_access.append(entry)

    def source_line_with(self, word: str) -> int | None:
        """The first line of the student's source that uses ``word`` as a keyword argument."""
        try:
            with open(self.source_path, encoding="utf-8") as f:
                for number, text in enumerate(f, start=1):
                    code = text.split("#", 1)[0]
                    if f"{word}=" in code.replace(" ", ""):
                        return number
        except OSError:
            pass
        return None

    def note_legacy(self, idiom: str, modern: str, where_unknown: bool = False, line: int | None = None):
        line = line if line is not None else (None if where_unknown else self.student_line())
        if not any(n["idiom"] == idiom and n["line"] == line for n in self.legacy):
            self.legacy.append({"idiom": idiom, "modern": modern, "line": line})


def _fast_dataset(tf, keras, args: dict):
    """NumPy arrays that fit in one batch -> the same single batch as a cached tf.data pipeline.

    Keras 3 rebuilds its array pipeline every epoch (about 25 ms here, 7x the epoch itself for
    six points). With one batch per epoch the steps, the optimizer and the data are the same;
    only the order of rows inside that batch (which Keras shuffles anyway) can differ.
    Returns (dataset, x, y), the arrays as the batch holds them, or None when the call is not of that
    exact shape.
    """
    x, y = args.get("x"), args.get("y")
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or x.ndim == 0 or y.ndim == 0:
        return None
    n = x.shape[0]
    batch_size = args.get("batch_size") or 32
    if n == 0 or y.shape[0] != n or not isinstance(batch_size, int) or batch_size < n:
        return None
    if any(args.get(k) is not None for k in ("sample_weight", "class_weight", "validation_data", "steps_per_epoch")):
        return None
    if args.get("validation_split"):
        return None

    def standard(a):  # what Keras' own array adapter does to float64 input
        return a.astype(keras.backend.floatx()) if a.dtype == np.float64 else a

    x, y = standard(x), standard(y)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(n).cache(), x, y


def _numbers(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _list_of_numbers(value) -> bool:
    """[10.0], [[1, 2], [3, 4]]: what Keras 2 took as an array and Keras 3 refuses ("Unrecognized data type")."""
    return isinstance(value, (list, tuple)) and bool(value) and all(
        _numbers(v) or (isinstance(v, (list, tuple)) and v and all(_numbers(u) for u in v)) for v in value)


def _accepting_lists(original, method: str, as_array):
    """``model.METHOD`` taking x (and y) as Python lists of numbers, as Keras 2 did."""

    @functools.wraps(original)
    def method_(self, x=None, y=None, *args, **kwargs):
        return original(self, as_array(x, method), as_array(y, method), *args, **kwargs) if y is not None else \
            original(self, as_array(x, method), *args, **kwargs)

    return method_


def _length(data) -> int:
    try:
        return int(len(data))
    except Exception:
        return 0


def _cycling(sequence):
    """The batches of a keras Sequence, pass after pass (each pass reshuffled by its on_epoch_end), as
    Keras 2's fit_generator read it."""
    def batches():
        while True:
            for i in range(len(sequence)):
                yield sequence[i]
            sequence.on_epoch_end()

    return batches()


def install(tf, keras, recorder: Recorder):
    """Patch keras.Model.fit / fit_generator / predict / evaluate / train_on_batch / test_on_batch at class
    level (tf.keras is keras here)."""
    Callback = keras.callbacks.Callback
    keras3 = keras.__version__.startswith("3")
    Opening = commit.opening_callback(keras, recorder.ledger) if recorder.ledger is not None else None

    def as_array(value, method: str):
        if not _list_of_numbers(value):
            return value
        modern = "model.predict(np.array([10.0]))" if method == "predict" else f"model.{method}(np.array(xs), np.array(ys))"
        recorder.note_legacy(f"model.{method} on a Python list", modern)
        return np.asarray(value, dtype=keras.backend.floatx())

    class GraderTrace(Callback):
        def __init__(self, record, replay: dict | None = None):
            super().__init__()
            self.record = record
            self._t = 0.0
            # a replayable fit's epochs are committed to inside too, every `stride` steps (commit.checkpoint)
            self.epoch_steps = (replay or {}).get("steps")
            self.stride = commit.checkpoint_stride(self.epoch_steps, (replay or {}).get("per_execution", 1))
            self.log = (replay or {}).get("log")  # the batches drawn, when recorded

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()
            self.record["current_epoch"] = epoch
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps = max(self.steps, batch + 1)  # with steps_per_execution, called once per execution
            if self.stride and (batch + 1) % self.stride == 0 and batch + 1 < self.epoch_steps and \
                    recorder.ledger is not None and not (self.log is not None and self.log.over):
                # right after the step, before any callback of the program's (none when a tf.data pipeline's rows
                # passed the budget: the fit can no longer be replayed)
                recorder.ledger.checkpoint(self.record["index"], self.record["current_epoch"], batch + 1, self.model,
                                           {k: _clean(v) for k, v in (logs or {}).items()})

        def on_epoch_end(self, epoch, logs=None):
            rec = self.record
            rec["epoch_times"].append(round(time.perf_counter() - self._t, 5))
            for key, value in (logs or {}).items():
                rec["history"].setdefault(key, []).append(_clean(value))
            rec["epochs_run"] += 1
            if recorder.events is not None and recorder.ledger is not None:  # progress, and the commitment
                recorder.ledger.commit_end(self.model, dict(  # to the state this epoch ended in
                    epoch=rec["epochs_run"], epochs=self.params.get("epochs"), fit=rec["index"] + 1,
                    logs={k: _clean(v) for k, v in (logs or {}).items()}, commit="end", fit_index=rec["index"],
                    at_epoch=epoch, steps=self.steps))

    class GraderTimeBudget(Callback):
        """Stops training at the grader's time budget so the model trained so far can be graded."""

        def __init__(self, record, deadline):
            super().__init__()
            self.record = record
            self.deadline = deadline

        def _check(self):
            if time.time() >= self.deadline and not self.model.stop_training:
                self.model.stop_training = True
                self.record["limit_hit"] = "time"
                if self.record["stopped_by"] is None:
                    self.record["stopped_by"] = {"class": "GraderTimeBudget", "module": "grader", "student": False,
                                                 "grader": True, "epoch": self.record.get("current_epoch")}

        def on_train_batch_end(self, batch, logs=None):
            self._check()

        def on_epoch_end(self, epoch, logs=None):
            self._check()

    aliases = {"acc": "accuracy", "accuracy": "acc", "val_acc": "val_accuracy", "val_accuracy": "val_acc"}

    class AliasLogs(dict):
        """The logs a student's callback sees: 'acc' finds 'accuracy' and back (TensorFlow 1's Keras logged
        metrics=['accuracy'] as 'acc'); each use is recorded as a legacy idiom."""

        reader: tuple = ("", "")  # (callback class, hook) reading these logs
        label = "logs"

        def _key(self, key):
            other = aliases.get(key)
            if other and not dict.__contains__(self, key) and dict.__contains__(self, other):
                recorder.note_legacy(f"{self.label}['{key}'] when the metric is logged as '{other}'",
                                     f"{self.label}['{other}']")
                return other
            rec = recorder.current
            if rec is not None and self.label == "logs" and isinstance(key, str) and not dict.__contains__(self, key):
                miss = {"key": key, "class": self.reader[0], "hook": self.reader[1], "available": sorted(self)}
                if miss not in rec["callback_misses"]:
                    rec["callback_misses"].append(miss)
            return key

        def __getitem__(self, key):
            return dict.__getitem__(self, self._key(key))

        def get(self, key, default=None):
            return dict.get(self, self._key(key), default)

        def __contains__(self, key):
            return dict.__contains__(self, self._key(key))

    class AliasHistory(AliasLogs):
        """``history.history`` after fit: ``history.history['acc']`` finds 'accuracy' the same way."""

        label = "history.history"

    def watch(cb, model):
        """Wrap a student's callback so we learn whether it is the one that stopped training."""
        if getattr(cb, "_grader_watched", False):
            return
        for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end"):
            original = getattr(cb, hook, None)
            if original is None:
                continue

            def wrapped(*args, _original=original, _hook=hook, **kwargs):
                if len(args) == 2 and isinstance(args[1], dict):
                    args = (args[0], AliasLogs(args[1]))
                    args[1].reader = (type(cb).__name__, _hook)
                elif isinstance(kwargs.get("logs"), dict):
                    kwargs["logs"] = AliasLogs(kwargs["logs"])
                    kwargs["logs"].reader = (type(cb).__name__, _hook)
                m = getattr(cb, "model", None) or model
                before = bool(getattr(m, "stop_training", False))
                out = _original(*args, **kwargs)
                rec = recorder.current
                if rec is not None and not before and getattr(m, "stop_training", False) and rec["stopped_by"] is None:
                    rec["stopped_by"] = dict(callback_info(cb), hook=_hook, epoch=rec.get("current_epoch"), grader=False)
                return out

            setattr(cb, hook, wrapped)
        try:
            cb._grader_watched = True
        except AttributeError:
            pass

    original_fit = keras.Model.fit
    signature = inspect.signature(original_fit)

    @functools.wraps(original_fit)
    def fit(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original_fit(self, *args, **kwargs)  # let Keras word the error
        a = dict(bound.arguments)
        a.pop("self", None)
        for key in ("x", "y"):
            a[key] = as_array(a.get(key), "fit")
        for key in ("steps_per_epoch", "validation_steps"):
            steps = a.get(key)
            if isinstance(steps, float) and math.isfinite(steps) and steps > 0:
                # Keras 2 ran len(x) / 32 steps as its ceiling; Keras 3 refuses a fraction
                a[key] = math.ceil(steps)
                if steps != a[key]:
                    recorder.note_legacy(f"{key}=len(...) / batch_size (a fraction)",
                                         f"{key}=math.ceil(len(...) / batch_size), or leave it out")
        epochs = a.get("epochs", 1)
        initial = a.get("initial_epoch", 0) or 0
        record = {
            "index": len(recorder.fits),
            "line": recorder.student_line(),
            "epochs_requested": epochs - initial if isinstance(epochs, int) else epochs,
            "epochs_allowed": recorder.max_epochs,
            "epochs_run": 0,
            "capped": False,
            "stopped_by": None,
            "limit_hit": None,
            "history": {},
            "epoch_times": [],
            "data": data_info.describe(a.get("x"), a.get("y")),
            "validation": None,
            "callbacks": [],
            "callback_misses": [],  # metric names a student callback read that the logs did not have
            "compile": compile_info(self),
            "output": output_info(self),
            "fast_path": False,
            "error": None,
        }
        vd = a.get("validation_data")
        if vd is not None:
            record["validation"] = data_info.describe(vd[0] if isinstance(vd, tuple) else vd)
        elif a.get("validation_split"):
            record["validation"] = {"kind": "validation_split", "fraction": a["validation_split"]}
        if isinstance(epochs, int) and recorder.max_epochs and epochs - initial > recorder.max_epochs:
            a["epochs"] = initial + recorder.max_epochs
            record["capped"] = True
            record["limit_hit"] = "epochs"
        peek_at = a.get("x")
        determinism.note_parallel_data(keras, a, getattr(recorder, "determinism", None))
        for steps_key, data_key in (("steps_per_epoch", "x"), ("validation_steps", "validation_data")):
            data, steps = a.get(data_key), a.get(steps_key)
            if keras3 and steps_key == "steps_per_epoch" and isinstance(steps, int) and \
                    isinstance(data, keras.utils.Sequence) and 0 < steps < _length(data):
                # Keras 3 goes on through a Sequence across epochs while reading ahead in a thread, and
                # reshuffles it (on_epoch_end) from the main thread at each epoch's end: which batches the
                # next epoch sees changes with how far ahead it read. Pass after pass in one thread, the
                # same program trains on the same batches every grading.
                a[data_key] = _cycling(data)
            elif isinstance(steps, int) and isinstance(data, keras.utils.Sequence) and steps > _length(data):
                # Keras 2's fit_generator cycled through the data for as many steps as asked; today's Kerases
                # end training early ("Your input ran out of data")
                a[data_key] = _cycling(data)
                recorder.note_legacy(f"{steps_key}={steps}, more than one pass of the data ({_length(data)} batches)",
                                     f"{steps_key}=len(generator), or leave it out: one pass per epoch")
        user_cbs = a.get("callbacks")
        if user_cbs is None:
            user_cbs = []
        elif not isinstance(user_cbs, (list, tuple)):
            user_cbs = [user_cbs]
        user_cbs = list(user_cbs)
        for cb in user_cbs:
            record["callbacks"].append(callback_info(cb))
            watch(cb, self)
        # tf-keras runs NumPy arrays fast itself (its cached pipeline was 4x slower than its own arrays)
        fast = _fast_dataset(tf, keras, a) if keras3 else None
        one_batch = None
        if fast is not None:
            one_batch = {"x": fast[1], "y": fast[2], "batch_size": len(fast[1]), "shuffle": False, "order_seed": 0,
                         "rows": len(fast[1]), "steps": 1}
            a["x"] = fast[0]
            for k in ("y", "batch_size"):
                a.pop(k, None)
            a["shuffle"] = False  # one batch: nothing to shuffle (and Keras would warn about a Dataset)
            record["fast_path"] = True
        replay = replayable.prepare(tf, keras, self, a, record, recorder.ledger, one_batch)
        log = (replay or {}).get("log")  # an ImageDataGenerator's batches, recorded while the fit runs
        a["callbacks"] = [GraderTrace(record, replay)] + user_cbs + [GraderTimeBudget(record, recorder.deadline)]
        if recorder.ledger is not None:
            a["callbacks"].append(Opening(record, replay))
        if any(getattr(layer, "_input_shape_arg", None) is not None for layer in getattr(self, "layers", [])):
            # Dense(..., input_shape=[1]) still works under Keras 3 (with a warning); wrapping Layer.__init__
            # to find the line would break Keras' config capture, so the line is the first in the source
            # that passes input_shape=.
            recorder.note_legacy("input_shape= on the first layer",
                                 "tf.keras.Input(shape=...) as the model's first entry",
                                 line=recorder.source_line_with("input_shape"))
        recorder.fits.append(record)
        recorder.current = record
        before = weights_digest(self) if getattr(self, "built", False) else None
        started = time.perf_counter()
        try:
            history = original_fit(self, **a)
            if isinstance(getattr(history, "history", None), dict):
                history.history = AliasHistory(history.history)
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}"
            # TensorFlow says what was wrong at the end of a long message: keep both ends
            record["error"] = text if len(text) <= 2000 else text[:500] + "\n[...]\n" + text[-1500:]
            raise
        finally:
            recorded_rows = log.rows() if log is not None else None  # (what a generator gave, for the fingerprint)
            if log is not None:
                log.close()
            record["duration_s"] = round(time.perf_counter() - started, 4)
            recorder.current = None
            if record["epochs_run"]:
                record["data"]["batch"] = data_info.peek(peek_at if fast is None else None, keras, tf)
                record["data"]["fingerprint"] = data_info.fingerprint(bound.arguments.get("x")) or \
                    data_info.fingerprint(recorded_rows)
            if record["epochs_run"] and all(m is not self for m in recorder.models):
                recorder.models.append(self)
            if record["epochs_run"]:
                recorder.digests[id(self)] = weights_digest(self)
                if recorder.digests[id(self)] != before:
                    recorder.learned.add(id(self))
        if record["epochs_run"] and recorder.after_fit is not None:
            recorder.after_fit(self)
        return history

    keras.Model.fit = fit

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        recorder.note_legacy("model.fit_generator(...)", "model.fit(...): fit accepts generators directly")
        return fit(self, generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                   callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                   validation_freq=validation_freq, class_weight=class_weight, shuffle=shuffle,
                   initial_epoch=initial_epoch)

    if not hasattr(keras.Model, "fit_generator"):
        keras.Model.fit_generator = fit_generator

    for method in ("predict", "evaluate", "train_on_batch", "test_on_batch"):
        setattr(keras.Model, method, _accepting_lists(getattr(keras.Model, method), method, as_array))
