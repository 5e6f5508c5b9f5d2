"""Fits on a tf.data pipeline made replayable (runs in the child, beside grader/harness/images.py).

A pipeline's batches come from code the trusted side cannot run again: the program's own maps, shuffles
drawn from TensorFlow's stateful generators, files it reads. So for a fit on one the harness records the
batches themselves, as the fit draws them: one step added at the pipeline's end hands each batch to a
``RowLog``, which keeps every distinct row (a sample and its label) once, and, for each batch, which
rows it holds. A pipeline that reads the same pictures every epoch, in a new order, adds nothing after
its first epoch; one that augments them inside the pipeline adds new rows every epoch, until the rows
pass the disk budget (the epochs after that are not auditable, and the report says why). Pictures too
large to keep (``image_dataset_from_directory``'s, resized to fractions of a level) are kept by a hash
alone: the evaluator reads the exercise's own pictures as that function does and finds each row among
them (grader/picture_rows.py), which also shows the rows are the exercise's data.

At each epoch's end the table of rows is saved when it grew, then the epoch's batches; the evaluator
trains on the same rows in the same batches to replay a part of it (grader/replay_batches.py).
"""

from __future__ import annotations

import threading

import numpy as np

from grader.batchorder import PICTURES, ROW_CODES, decoded_rows, row_digest, row_hashes

GROWING = ("the fit's {source} gave new rows every epoch (augmentation inside {it} makes them), "
           "and recording them passed the disk budget of {budget} MiB")
FIRST_EPOCH = "the fit's {source} gave more rows in its first epoch than the disk budget of {budget} MiB for recording them"
TOO_LARGE = ("an epoch of the fit's {source} holds about {size} MiB of rows ({steps} batches of {rows}), "
             "more than the disk budget of {budget} MiB for recording them")


def replayable(tf, a: dict, budget_bytes: int, record: dict, per_execution: int = 1) -> dict | None:
    """What replaying a fit on a tf.data pipeline of (x, y) batches needs (the ``RowLog`` recording them);
    None, and nothing changed, for a fit of another shape (inputs or labels that are not one dense
    tensor each, sample weights, a pipeline of unknown length, ``steps_per_epoch`` cutting epochs short,
    several steps per execution)."""
    dataset = a.get("x")
    if not isinstance(dataset, tf.data.Dataset) or a.get("y") is not None or per_execution != 1:
        return None
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2 and all(type(s) is tf.TensorSpec for s in spec)):
        return None
    if any(s.shape.rank in (None, 0) or not (s.dtype.is_floating or s.dtype.is_integer or s.dtype.is_bool)
           for s in spec):
        return None  # (text, complex numbers: not recorded)
    cardinality, steps = int(dataset.cardinality()), a.get("steps_per_epoch")
    if cardinality > 0 and steps in (None, cardinality):
        steps = cardinality  # a new pass of the pipeline every epoch, to its end
    elif not (cardinality == int(tf.data.INFINITE_CARDINALITY) and isinstance(steps, int) and steps > 0):
        return None  # (an infinite pipeline is read on from epoch to epoch, steps_per_epoch at a time)
    log = RowLog(budget_bytes, record, steps, continuing=cardinality < 0)

    def through(x, y):
        kept = tf.numpy_function(log.keep, [x, y], tf.int64, stateful=True)  # (stateful: never run in parallel)
        with tf.control_dependencies([kept]):
            return tf.identity(x), tf.identity(y)

    a["x"] = dataset.map(through)
    shape = tuple(spec[0].shape[1:])
    return {"kind": "recorded", "steps": steps, "log": log,
            "input_shape": shape if all(isinstance(d, int) for d in shape) else None}


def stepped(tf, keras, model, a: dict, budget_bytes: int, record: dict, per_execution: int = 1) -> dict | None:
    """What replaying a fit on a Python generator, or a ``Sequence`` (``PyDataset``) of the program's own,
    needs: their batches are recorded where training takes them, at the model's ``train_step`` (one step
    added before it hands each ``(x, y)`` batch to a ``RowLog``), so what Keras read ahead, peeked at or
    reshuffled in between never counts: the epoch's rows are the batches it trained on, in order. None,
    and nothing changed, for a fit of another shape (labels given apart, class weights, which Keras turns
    into sample weights before the step, XLA, several steps per execution)."""
    import inspect

    data = a.get("x")
    if not (inspect.isgenerator(data) or isinstance(data, keras.utils.Sequence)) or a.get("y") is not None or \
            a.get("class_weight") or per_execution != 1 or getattr(model, "jit_compile", False) is True:
        return None
    steps = a.get("steps_per_epoch")
    if not isinstance(steps, int) or steps <= 0:
        steps = len(data) if isinstance(data, keras.utils.Sequence) else 1  # (1: no estimate before the rows come)
    source = "Python generator" if inspect.isgenerator(data) else "Sequence"
    log = RowLog(budget_bytes, record, steps, source=source)
    had_own = "train_step" in vars(model)
    original = model.train_step

    def train_step(data):
        if isinstance(data, (tuple, list)) and len(data) == 2 and all(
                isinstance(t, tf.Tensor) and (t.dtype.is_floating or t.dtype.is_integer or t.dtype.is_bool)
                for t in data):  # (not ragged, sparse or text)
            kept = tf.numpy_function(log.keep, list(data), tf.int64, stateful=True)
            with tf.control_dependencies([kept]):
                data = (tf.identity(data[0]), tf.identity(data[1]))
        else:  # (at tracing: inputs or labels of other shapes, sample weights)
            log.fail(f"the fit's {source} gave batches other than (inputs, labels), one tensor each")
        return original(data)

    def give_back():
        if had_own:
            model.train_step = original
        else:
            vars(model).pop("train_step", None)
        model.train_function = None  # (built around the recording step: the next fit builds its own)

    model.train_step, model.train_function, log.closing = train_step, None, give_back
    return {"kind": "recorded", "steps": steps, "log": log, "input_shape": None}


class RowLog:
    """The distinct rows a pipeline gave (``x``, ``y``: each row once, found again by a hash of its bytes and
    compared whole), and the batches drawn as lists of rows, in the order made, which is the order trained
    on: the step that records them is the pipeline's last, run as the fit draws each batch. An epoch
    trains on the first batches drawn since it started (``mark()``): a batch drawn before the first epoch,
    to build the model, is not trained on. A finite pipeline is read anew every epoch, and what an epoch
    did not train on is dropped at the next; an infinite one (``continuing``) is read on from one epoch to
    the next, and Keras draws a batch ahead: the next epoch's first batch is drawn during this one."""

    def __init__(self, budget_bytes: int, record: dict, steps: int, continuing: bool = False,
                 source: str = "tf.data pipeline"):
        self.budget, self.record, self.steps, self.continuing = budget_bytes, record, steps, continuing
        self.source, self.pipeline = source, source == "tf.data pipeline"  # (else recorded at train_step)
        self.it = "the pipeline" if self.pipeline else "it"
        self.closing = None  # what ends the recording when the fit ends (stepped's: train_step given back)
        self.marked = False
        self.lock = threading.Lock()
        self.x: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.count = 0  # rows held
        self.saved_count = 0  # rows in the table last saved
        self.by_hash: dict[int, list[int]] = {}
        self.batches: list[np.ndarray] = []
        self.over = False
        self.digests: np.ndarray | None = None  # (pictures kept by their hashes: each one's digest too)
        self.epochs = 0  # ended

    def add(self, x: np.ndarray, y: np.ndarray):
        x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        with self.lock:
            if self.over:
                return
            if self.x is None and not self._start(x, y):
                return
            if len(x) != len(y) or x.shape[1:] != self.shape or y.shape[1:] != self.y.shape[1:] or \
                    x.dtype != self.dtype or y.dtype != self.y.dtype:
                return self._give_up(f"the fit's {self.source} gave batches of different shapes or types")
            if self.code is not None and self.code != PICTURES:
                encoded = _encoded(self.code, x)
                if encoded is None:  # a row this way cannot keep: the table goes back to the pipeline's type
                    self.x, self.code = decoded_rows(self.code, self.x, self.dtype), None
                else:
                    x = encoded
            pictures = x
            if self.code == PICTURES:  # a picture is known by its hash alone (and a digest, taken once)
                hashes = row_hashes(x)
                x = np.asarray(hashes, dtype=np.uint64)
            else:
                hashes = row_hashes(np.concatenate([x.reshape(len(x), -1).view(np.uint8),
                                                    y.reshape(len(y), -1).view(np.uint8)], axis=1))
            known = [self.by_hash.get(h) for h in hashes]
            if all(k is not None and len(k) == 1 for k in known):  # every row seen before (epochs after the
                index = np.fromiter((k[0] for k in known), np.int64, len(known))  # first): checked at once
                if _same_bytes(self.x[index], x) and _same_bytes(self.y[index], y):
                    self.batches.append(index)
                    return
            elif all(k is None for k in known) and len(set(hashes)) == len(hashes) and \
                    (self.count + len(x)) * (self.x[0].nbytes + self.y[0].nbytes) <= self.budget:
                index = self._extend(hashes, x, y)  # every row new (the first epoch): added at once
                if self.code == PICTURES:
                    for i, j in enumerate(index):
                        self.digests[j] = row_digest(pictures[i])
                self.batches.append(index)
                return
            index = np.empty(len(x), dtype=np.int64)
            for i, h in enumerate(hashes):
                index[i] = self._find(h, x[i], y[i])
                if index[i] < 0:
                    if (self.count + 1) * (self.x[0].nbytes + self.y[0].nbytes) > self.budget:
                        # (a generator's length is not known before: its first epoch alone may be too many rows)
                        first = not self.epochs and not self.pipeline
                        return self._give_up((FIRST_EPOCH if first else GROWING).format(
                            source=self.source, it=self.it, budget=self.budget // 2**20))
                    index[i] = self._append(h, x[i], y[i])
                    if self.code == PICTURES:
                        self.digests[index[i]] = row_digest(pictures[i])
            self.batches.append(index)

    def keep(self, x: np.ndarray, y: np.ndarray) -> np.int64:
        """``add``, as a step of the program's training calls it (``tf.numpy_function``): a failure stops the
        recording, and says why, never the training."""
        try:
            self.add(x, y)
        except Exception as exc:
            self.fail(f"recording the fit's {self.source} failed ({type(exc).__name__})")
        return np.int64(0)

    def _start(self, x: np.ndarray, y: np.ndarray) -> bool:
        """How the rows are kept, from the first batch: as bytes where they come back exactly, else as they
        are; pictures too large to keep (float32, as ``image_dataset_from_directory`` reads them) by their
        hashes, for the evaluator to find among the exercise's own pictures (grader/picture_rows.py)."""
        self.dtype, self.shape = x.dtype, x.shape[1:]
        self.code = next((c for c in ROW_CODES if _encoded(c, x) is not None), None)
        row = x[:1].nbytes // (x.dtype.itemsize if self.code else 1) + y[:1].nbytes
        size = self.steps * len(x) * row  # (an epoch's rows, from the first batch)
        if size > self.budget:
            why = TOO_LARGE.format(source=self.source, size=size // 2**20, steps=self.steps, rows=len(x),
                                   budget=self.budget // 2**20)
            if x.dtype != np.float32 or x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or \
                    not self.pipeline or not isinstance(self.record.get("replay"), dict):
                self._give_up(why)
                return False
            self.code = PICTURES
            self.record["replay"].update(pictures=True, too_large=why)
        kept = np.uint64 if self.code == PICTURES else np.uint8 if self.code else x.dtype
        self.x = np.empty((max(64, len(x)),) + (() if self.code == PICTURES else x.shape[1:]), kept)
        self.digests = np.empty(len(self.x), np.uint64) if self.code == PICTURES else None
        self.y = np.empty((max(64, len(y)),) + y.shape[1:], y.dtype)
        return True

    def _find(self, h: int, x: np.ndarray, y: np.ndarray) -> int:
        for j in self.by_hash.get(h, ()):  # the same bytes (-0.0 is not 0.0 here; a NaN is itself)
            if _same_bytes(self.x[j], x) and _same_bytes(self.y[j], y):
                return j
        return -1

    def _append(self, h: int, x: np.ndarray, y: np.ndarray) -> int:
        return int(self._extend([h], x[None], y[None])[0])

    def _extend(self, hashes: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Rows ``x``, ``y`` added to the table (known from now on by ``hashes``); where they are in it."""
        while self.count + len(x) > len(self.x):
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
            if self.digests is not None:
                self.digests = np.concatenate([self.digests, np.empty_like(self.digests)])
        first = self.count
        self.x[first:first + len(x)], self.y[first:first + len(x)] = x, y
        for j, h in enumerate(hashes, start=first):
            self.by_hash.setdefault(h, []).append(j)
        self.count += len(x)
        return np.arange(first, self.count, dtype=np.int64)

    def fail(self, why: str):
        with self.lock:
            self._give_up(why)

    def _give_up(self, why: str):
        self.over = True
        self.record.setdefault("not_replayed", why)
        self.x = self.y = None
        self.by_hash, self.batches = {}, []

    def mark(self):
        with self.lock:
            if not (self.continuing and self.marked):
                self.batches = []
            self.marked = True

    def grown(self) -> dict | None:
        """The table of rows (``x``, ``y``, and how ``x`` is kept: ``x_code``, ``x_dtype``), when it holds
        rows not saved yet."""
        with self.lock:
            if self.over or self.x is None or self.count == self.saved_count:
                return None
            self.saved_count = self.count
            return {"x": self.x[:self.count], "y": self.y[:self.count], "x_code": np.asarray(self.code or "raw"),
                    "x_dtype": np.asarray(self.dtype.str), "x_shape": np.asarray(self.shape, dtype=np.int64),
                    **({"x_digest": self.digests[:self.count]} if self.digests is not None else {})}

    def epoch(self, steps: int) -> dict | None:
        """The ``steps`` batches the epoch trained on, as arrays to save; None when they are not all recorded."""
        with self.lock:
            trained, self.batches = self.batches[:steps], self.batches[steps:]
            self.epochs += 1
            if not self.over and len(trained) < steps and not self.pipeline:
                # (at train_step every batch trained is recorded: only a step removed or gone round misses one)
                self._give_up(f"the fit trained on {steps - len(trained)} batches of its {self.source} that the step "
                              "recording them before the model's train_step never saw (it was removed or gone round)")
            if self.over or not trained or len(trained) < steps:
                return None
            return {"index": np.concatenate(trained), "sizes": np.asarray([len(b) for b in trained], dtype=np.int64)}

    def rows(self) -> np.ndarray | None:
        """The rows recorded, as kept (bytes of pixels or the pipeline's own values; None for pictures known by
        their hashes, or once given up): what ``grader.fingerprint`` samples to tell the exercise's data."""
        with self.lock:
            return None if self.over or self.x is None or self.code == PICTURES else self.x[:self.count]

    def close(self):
        with self.lock:
            self.x = self.y = None
            self.by_hash, self.batches = {}, []
        if self.closing is not None:
            self.closing()


def _encoded(code: str, x: np.ndarray) -> np.ndarray | None:
    """``x`` as bytes that ``grader.batchorder.decoded_rows(code, ...)`` gives back exactly; None when not."""
    if x.dtype.kind not in "fiu" or (x.dtype.kind != "f" and code != "whole"):
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = x if code == "whole" else x.astype(np.float64) * 255.0
        if not np.all((scaled >= 0) & (scaled <= 255)):
            return None
        small = np.rint(scaled).astype(np.uint8)
    back = decoded_rows(code, small, x.dtype)
    return small if np.array_equal(back.view(np.uint8), x.view(np.uint8)) else None


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.uint8).reshape(-1),
                                                 np.ascontiguousarray(b).view(np.uint8).reshape(-1))
