"""Seed the student's run, make TensorFlow's ops deterministic where the device needs it, and record
what could not be (runs in the child). The trusted side turns the record into the report's statement."""

from __future__ import annotations

import functools
import importlib
import itertools
import random
import sys
import threading

import numpy as np


def install(tf, keras, seed: int | None, recorder) -> dict:
    record: dict = {"seed": seed, "student_seeds": [], "caveats": []}
    recorder.determinism = record  # (fit adds what it finds: data made by several workers at once)
    if seed is None:  # an unseeded grading (the benchmark measures what seeding costs)
        return record
    keras.utils.set_random_seed(int(seed))  # Python, NumPy and TensorFlow
    # On a CPU, TensorFlow's kernels give the same result for the same inputs and seed (the test suite
    # checks it). Forcing op determinism there would change the errors a student's code raises (a
    # label out of range is reported as a gather index) and make unseeded random ops fail, so it is
    # forced only where it is needed: on a GPU.
    if tf.config.list_physical_devices("GPU"):
        record["device"] = "GPU"
        try:
            tf.config.experimental.enable_op_determinism()
            record["op_determinism"] = True
        except Exception as exc:  # an old TensorFlow without it
            record["op_determinism"] = False
            record["reason"] = f"{type(exc).__name__}: {exc}"
    else:
        record["device"] = "CPU"
    _watch_seeding(tf, keras, record, recorder)
    _seed_image_iterators(keras, int(seed))
    return record


# Where each Keras keeps ImageDataGenerator's iterators (the same code in both)
_ITERATOR_MODULES = {"keras": "keras.src.legacy.preprocessing.image", "tf_keras": "tf_keras.src.preprocessing.image"}


def iterator_module(keras):
    """The module of ``keras`` holding ImageDataGenerator and its iterators, or None."""
    try:
        return importlib.import_module(_ITERATOR_MODULES[keras.__name__.split(".")[0]])
    except (KeyError, ImportError):
        return None


def _seed_image_iterators(keras, seed: int) -> None:
    """Give every ImageDataGenerator batch its own seed, derived from the grading's seed, which iterator it
    is (in the order the program made them), which pass over the data and which batch.

    Unseeded, the iterators draw their shuffles and their random rotations, shifts and flips from NumPy's
    global generator, and Keras reads batches ahead in a background thread while training runs and the
    validation iterator draws from the same generator: how far ahead it read decides what every later
    batch looks like. The same program then trained on different pictures from one grading to the next
    (a cats-vs-dogs solution measured 1.000, then 0.730, with the same seed). A program that seeds its
    iterator itself (``flow_from_directory(..., seed=1)``) keeps its own seed."""
    Iterator = getattr(iterator_module(keras), "Iterator", None)
    if Iterator is None:
        return
    lock = threading.RLock()
    numbering = itertools.count()
    step = "next" if "next" in vars(Iterator) else "__next__"  # tf-keras's __next__ calls next

    def seeded(original, key, batch=False):
        """``original`` run under NumPy's generator seeded for this iterator and ``key(self, *args)`` (which
        may advance the iterator's counters), then the program's own stream of random numbers given back
        as it was. For a batch by index, the iterator keeps (pass, index) while making it, for the record
        of which batches a fit trained on (grader/harness/images.py)."""
        def method(self, *args):
            with lock:
                state = np.random.get_state()
                words = [seed, self._grader_number, *key(self, *args)]
                if batch:
                    self._grader_batch = tuple(words[3:])
                np.random.seed(int(np.random.SeedSequence([abs(int(w)) for w in words]).generate_state(1)[0]))
                try:
                    return original(self, *args)
                finally:
                    np.random.set_state(state)
        return method

    def count(self, name: str) -> int:
        value = getattr(self, name)
        setattr(self, name, value + 1)
        return value

    original_init = Iterator.__init__

    def __init__(self, *args, **kwargs):
        self._grader_number, self._grader_passes, self._grader_nexts = next(numbering), 0, 0
        original_init(self, *args, **kwargs)

    Iterator.__init__ = __init__
    Iterator._set_index_array = seeded(Iterator._set_index_array, lambda self: (1, count(self, "_grader_passes")))
    Iterator.__getitem__ = seeded(Iterator.__getitem__, lambda self, idx: (2, self._grader_passes, idx),
                                  batch=True)
    setattr(Iterator, step, seeded(getattr(Iterator, step), lambda self: (3, count(self, "_grader_nexts"))))


def _watch_seeding(tf, keras, record: dict, recorder):
    """A program that seeds for itself replaces the grader's seed from that line on: note it."""

    def wrap(owner, name: str, label: str):
        original = getattr(owner, name, None)
        if original is None:
            return

        @functools.wraps(original)
        def seeding(*args, **kwargs):
            caller = sys._getframe(1)
            if caller.f_code.co_filename == recorder.source_path:  # the student's own call, not a library's
                line = caller.f_lineno
                value = args[0] if args else kwargs.get("seed", kwargs.get("a"))
                entry = {"call": label, "value": repr(value)[:40], "line": line}
                if entry not in record["student_seeds"]:
                    record["student_seeds"].append(entry)
            return original(*args, **kwargs)

        setattr(owner, name, seeding)

    wrap(keras.utils, "set_random_seed", "keras.utils.set_random_seed")
    wrap(tf.random, "set_seed", "tf.random.set_seed")
    wrap(np.random, "seed", "np.random.seed")
    wrap(random, "seed", "random.seed")


def note_parallel_data(keras, a: dict, record: dict | None):
    """A fit whose batches are made by several workers at once (a ``PyDataset``'s ``workers`` or
    ``use_multiprocessing``; tf-keras' ``fit(workers=...)``): the order they finish in, and the random draws
    each worker makes, change from run to run, so the seed no longer fixes the training."""
    data = a.get("x")
    own = (getattr(data, "workers", 1), getattr(data, "use_multiprocessing", False)) \
        if isinstance(data, keras.utils.Sequence) else (1, False)
    workers = [w for w in (own[0], a.get("workers", 1)) if isinstance(w, int) and not isinstance(w, bool)]
    if record is None or record.get("parallel_data") or not (
            any(w > 1 for w in workers) or own[1] is True or a.get("use_multiprocessing") is True):
        return
    record["parallel_data"] = True
    record["caveats"].append("your program's batches are made by several workers at once (workers, "
                             "use_multiprocessing), in an order and with random draws that can change from run to run")
