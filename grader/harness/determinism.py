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


def _seed_image_iterators(keras, seed: int) -> None:
    """Give every ImageDataGenerator batch its own seed, derived from the grading's seed, which iterator it
    is (in the order the program made them), which pass over the data and which batch.

    Unseeded, the iterators draw their shuffles and their random rotations, shifts and flips from NumPy's
    global generator, and Keras reads batches ahead in a background thread while training runs and the
    validation iterator draws from the same generator: how far ahead it read decides what every later
    batch looks like. The same program then trained on different pictures from one grading to the next
    (a cats-vs-dogs solution measured 1.000, then 0.730, with the same seed). A program that seeds its
    iterator itself (``flow_from_directory(..., seed=1)``) keeps its own seed."""
    try:
        module = importlib.import_module(_ITERATOR_MODULES[keras.__name__.split(".")[0]])
        Iterator = module.Iterator
    except (KeyError, ImportError, AttributeError):
        return
    lock = threading.RLock()
    numbering = itertools.count()
    step = "next" if "next" in vars(Iterator) else "__next__"  # tf-keras's __next__ calls next
    original_init, original_index, original_item, original_next = (
        Iterator.__init__, Iterator._set_index_array, Iterator.__getitem__, getattr(Iterator, step))

    def seeded(self, *key):
        """Run under NumPy's generator seeded for this iterator and ``key``, then give the program's own
        stream of random numbers back as it was."""
        state = np.random.get_state()
        words = [seed, self._grader_number, *key]
        np.random.seed(int(np.random.SeedSequence([abs(int(w)) for w in words]).generate_state(1)[0]))
        return state

    def __init__(self, *args, **kwargs):
        self._grader_number = next(numbering)
        self._grader_passes = 0
        self._grader_nexts = 0
        original_init(self, *args, **kwargs)

    def _set_index_array(self):
        with lock:
            state = seeded(self, 1, self._grader_passes)
            self._grader_passes += 1
            try:
                return original_index(self)
            finally:
                np.random.set_state(state)

    def __getitem__(self, idx):
        with lock:
            state = seeded(self, 2, self._grader_passes, idx)
            try:
                return original_item(self, idx)
            finally:
                np.random.set_state(state)

    def advance(self):
        with lock:
            state = seeded(self, 3, self._grader_nexts)
            self._grader_nexts += 1
            try:
                return original_next(self)
            finally:
                np.random.set_state(state)

    Iterator.__init__, Iterator._set_index_array, Iterator.__getitem__ = __init__, _set_index_array, __getitem__
    setattr(Iterator, step, advance)


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
