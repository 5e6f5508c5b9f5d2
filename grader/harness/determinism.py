"""Seed the student's run, make TensorFlow's ops deterministic where the device needs it, and record
what could not be (runs in the child). The trusted side turns the record into the report's statement."""

from __future__ import annotations

import functools
import random
import sys

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
    return record


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
