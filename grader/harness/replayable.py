"""Fits made replayable (runs in the child): what the evaluator needs to replay parts of a fit, decided
and prepared when the fit starts (grader/harness/commit.py then commits to it while it runs).

- NumPy arrays, on either Keras: the fit trains in ``grader.batchorder``'s order, a function of a seed
  (Keras' own shuffle uses stateful random ops no other process can rebuild), and the arrays are saved;
- an ImageDataGenerator's iterator, on either Keras: grader/harness/images.py;
- one batch that fits whole (fitwrap's fast path): those arrays;
- a tf.data pipeline of (x, y) batches, on either Keras: the batches it gives, recorded as the fit draws
  them (grader/harness/recorded.py);
- a Python generator or a Sequence of the program's own, on either Keras: the batches recorded as the
  model's train_step takes them (recorded.stepped).
Anything else keeps Keras' own pipeline, and the trusted side says why it cannot be verified.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from grader import batchorder
from grader.harness import images, recorded

TF_KERAS_RANDOM = ("the model has a layer that draws random numbers in training (Dropout, noise, random "
                   "augmentation) on the tf.keras 2 runtime, whose random state the grader does not replay")


SCALED_LOSS = ("the model trains in mixed precision (a mixed_float16 policy: its optimizer scales the loss), which "
               "the grader does not replay")


def prepare(tf, keras, model, a: dict, record: dict, ledger, one_batch: dict | None) -> dict | None:
    """Make the fit replayable where it can be: rewrites ``a`` (fit's arguments), saves the data through
    ``ledger``, writes ``record["replay"]`` (what the trusted side needs) or ``record["not_replayed"]``
    (why not, where the harness knows), and returns what the commitments need (None: not replayable)."""
    if ledger is None:
        return None
    keras3 = keras.__version__.startswith("3")
    per_execution = _per_execution(model)
    replay = one_batch
    if "LossScale" in type(getattr(model, "optimizer", None)).__name__:
        record["not_replayed"] = SCALED_LOSS
        return None
    if replay is None and not keras3 and _draws_randomly(model, keras):
        record["not_replayed"] = TF_KERAS_RANDOM
    elif replay is None:  # arrays in batchorder's order, an ImageDataGenerator's batches, tf.data's as drawn
        replay = arrays(tf, keras, a, ledger.seed, record["index"], per_execution) or \
            images.replayable(keras, a, ledger.rows_budget, per_execution) or \
            recorded.replayable(tf, a, ledger.rows_budget, record, per_execution) or \
            recorded.stepped(tf, keras, model, a, ledger.rows_budget, record, per_execution)
    log = (replay or {}).pop("log", None)
    if replay is None:
        return None
    # (a pipeline's rows are saved as the fit draws them; a folder's pictures as their files' bytes)
    shape = replay.pop("input_shape") if "input_shape" in replay else replay["x"].shape[1:]
    if "x" in replay:
        x, y = replay.pop("x"), replay.pop("y")
        if not ledger.save_data(record["index"], x, y, replay.pop("arrays", None)):
            if log is not None:
                log.close()
            size = (getattr(x, "nbytes", 0) + getattr(y, "nbytes", 0)) / 2**20
            record["not_replayed"] = (f"the fit's data ({size:.0f} MiB) is more than the disk budget of "
                                      f"{ledger.budget // 2**20} MiB for keeping it to replay epochs"
                                      if size * 2**20 > ledger.budget else
                                      "the fit's data could not be kept to replay epochs")
            return None
    class_weight = a.get("class_weight")
    record["replay"] = dict(replay, class_weight={str(k): float(v) for k, v in class_weight.items()}
                            if isinstance(class_weight, dict) else None, compile=compile_config(model))
    return dict(replay, input_shape=shape, log=log, per_execution=per_execution)


def compile_config(model) -> dict | None:
    """The loss, optimizer and metrics fit trains with, as Keras serialises them (the replay rebuilds them
    from this, checked: a program may compile again after training)."""
    try:
        import json

        config = model.get_compile_config()
        json.dumps(config)
        return config if isinstance(config, dict) else None
    except Exception:
        return None


def arrays(tf, keras, a: dict, seed: int | None, fit_index: int, per_execution: int = 1) -> dict | None:
    """Make an array fit train in ``grader.batchorder``'s order, so that any epoch of it can be replayed.

    Rewrites ``a`` (fit's arguments) in place and returns what a replay needs: the arrays trained on
    (as Keras' adapter would convert them), the batch size, the shuffle and the order's seed. None, and
    ``a`` untouched, for any call not of that shape (Keras' own pipeline runs it)."""
    x, y = a.get("x"), a.get("y")
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or x.ndim == 0 or y.ndim == 0:
        return None
    if x.dtype == object or y.dtype == object or len(x) != len(y) or len(x) == 0:
        return None
    if any(a.get(k) is not None for k in ("sample_weight", "steps_per_epoch", "validation_steps")):
        return None
    batch_size = a.get("batch_size")
    batch_size = 32 if batch_size is None else batch_size
    shuffle = a.get("shuffle", True)
    epochs, initial = a.get("epochs", 1), a.get("initial_epoch", 0) or 0
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0 or \
            shuffle not in (True, False) or not isinstance(epochs, int) or not isinstance(initial, int) or \
            epochs <= initial:
        return None
    split = a.get("validation_split") or 0.0
    if split:
        if a.get("validation_data") is not None or not isinstance(split, (int, float)) or not 0 < split < 1:
            return None
        at = int(math.floor(len(x) * (1.0 - split)))  # Keras' own split: the last share, before shuffling
        if at in (0, len(x)):
            return None
        a["validation_data"] = (x[at:], y[at:])
        x, y = x[:at], y[:at]
        a.pop("validation_split", None)

    def standard(v):  # what Keras' own array adapter does to float64 input
        return v.astype(keras.backend.floatx()) if v.dtype == np.float64 else v

    steps = batchorder.steps_per_epoch(len(x), batch_size)
    if isinstance(per_execution, int) and per_execution > 1 and steps % per_execution:
        return None  # the last execution of an epoch would run into the next epoch's batches
    x, y = standard(x), standard(y)
    order_seed = batchorder.fit_seed(seed, fit_index)
    a["x"] = batchorder.dataset(tf, x, y, order_seed, initial, epochs, batch_size, bool(shuffle))
    a["steps_per_epoch"] = steps
    a["shuffle"] = False
    a.pop("y", None)
    a.pop("batch_size", None)
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": bool(shuffle), "order_seed": order_seed,
            "rows": len(x), "steps": steps}


def _draws_randomly(model, keras) -> bool:
    """Whether a tf-keras model has a layer drawing random numbers in training (its BaseRandomLayer: Dropout,
    noise, random augmentation), whose draws come from TensorFlow's stateful generators, not from a
    variable of the model that a saved state would hold (Keras 3 keeps its seed generators' state there)."""
    try:
        random_layer = importlib.import_module(keras.__name__ + ".src.engine.base_layer").BaseRandomLayer
        return any(isinstance(layer, random_layer) for layer in model._flatten_layers(include_self=False))
    except Exception:
        return True  # cannot tell: leave the fit to Keras' own order


def _per_execution(model) -> int:
    """The steps a model runs per execution (Keras 3 keeps a number, tf-keras a variable)."""
    try:
        return int(np.asarray(getattr(model, "steps_per_execution", 1) or 1))
    except (TypeError, ValueError):
        return 1
