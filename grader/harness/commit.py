"""Commitments to training, made while it runs (in the child) so that the trusted side can audit it.

For every fit the harness
- sends the parent, over the event pipe the parent timestamps, at each epoch's start and end (and after
  every eighth of a long epoch): a digest of the model's weights and one of its optimizer's state, with
  the epoch's logs and steps;
- for fits the evaluator can replay (grader/harness/replayable.py prepares them), saves the whole state
  (every variable of the model and of its optimizer) to the artifacts folder where such a commitment is
  made: at every epoch's start when something changed since the last epoch ended, or short epochs'
  starts every SAVE_EVERY_S, and at every eighth of a long epoch (grader/harness/ledger.py keeps them
  within the budget).

After the run the trusted side picks parts the child could not predict and replays them in the
evaluator from the saved states (grader/training_audit.py): a model the program did not train, or a
record it edited, does not match what was committed. Nothing here is trusted by the parent; it is what
an honest run hands over to be checked.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np


DIGEST_CHARS = 16
SEGMENTS = 8  # an epoch of at least SPLIT_STEPS steps is committed to at the end of each eighth of it, so
SPLIT_STEPS = 16  # that an audit can replay part of an epoch rather than the whole
TF_KERAS_SCHEDULE = ("a learning-rate schedule changed the rate between epochs on the tf.keras 2 runtime, whose "
                     "optimizer keeps its rate outside the state the grader saves (on Keras 3 it replays schedules)")


def digest(array) -> str:
    """One weight array's digest, computed the same way as the evaluator's (grader.modelcheck.digest)."""
    data = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    found = hashlib.sha256(repr(data.shape).encode())
    found.update(data.reshape(-1).view(np.uint8))  # the same bytes as data.tobytes(), not copied
    return found.hexdigest()[:DIGEST_CHARS]


def combined(digests: list[str]) -> str:
    """One digest standing for a list of array digests (the trusted side combines the evaluator's alike)."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:DIGEST_CHARS]


def weights_digest(model, weights: list | None = None) -> str:
    return combined([digest(w) for w in (model.get_weights() if weights is None else weights)])


def _read(variables) -> list:
    return [np.asarray(v) for v in variables]


def _weights_among(model, variables: list) -> list | None:
    """The model's weights (get_weights' arrays, in its order) among ``variables``, the values of
    ``model.variables`` read in their order; None when a weight is not one of them (then read again)."""
    place = {id(v): i for i, v in enumerate(model.variables)}
    try:
        return [variables[place[id(w)]] for w in model.weights]
    except (KeyError, IndexError):
        return None


def _optimizer_variables(model) -> list:
    optimizer = getattr(model, "optimizer", None)
    variables = getattr(optimizer, "variables", None)
    if callable(variables):  # tf-keras's legacy optimizers
        variables = variables()
    return list(variables or [])


def optimizer_digest(model, values: list | None = None) -> str | None:
    parts = optimizer_parts(model, values)
    return None if parts is None else combined(parts)


def optimizer_parts(model, values: list | None = None) -> list[str] | None:
    """A digest of each of the optimizer's variables, in its order (the optimizer's digest combines them): the
    trusted side tells from these which of them changed between two epochs (a schedule sets the learning
    rate; nothing else sets any of them there)."""
    try:
        return [digest(v) for v in (_optimizer_variables(model) if values is None else values)]
    except Exception:
        return None


def checkpoint_stride(steps: int | None, per_execution: int = 1) -> int | None:
    """Every how many steps an epoch of ``steps`` is committed to (None: at its start and end only)."""
    if not isinstance(steps, int) or steps < SPLIT_STEPS or per_execution != 1:
        return None
    return math.ceil(steps / SEGMENTS)


def _learning_rate_variable(model):
    """The optimizer's learning rate when it is a variable a callback can set (not a schedule)."""
    optimizer = getattr(model, "optimizer", None)
    rate = getattr(optimizer, "_learning_rate", None)
    return rate if rate is not None and hasattr(rate, "assign") else None


def _build_sequential(model, input_shape):
    """A Sequential model given no input shape is built by fit's first step; built here instead, from the
    arrays' shape, its weights are drawn the same way (in the same order, from the same generator), and
    the first epoch's starting state can be saved."""
    try:
        model.build((None, *input_shape))
    except Exception:
        pass


def _build_optimizer(model):
    """Create the optimizer's variables (zeros: Adam's moments) before the first step, as Keras 3 does at
    that step, so that the first epoch's saved start holds them too."""
    optimizer = getattr(model, "optimizer", None)
    built = getattr(optimizer, "built", None)
    if built is None:  # tf-keras's optimizers set _built when built, and have no such attribute before
        built = getattr(optimizer, "_built", False)
    if optimizer is not None and not built:
        try:
            optimizer.build(model.trainable_variables)
        except Exception:
            pass


def opening_callback(keras, ledger):
    """The callback placed last in every fit's list: each epoch's starting state is what every callback's
    on_epoch_begin left (a learning-rate schedule has set its rate). It saves that state, when the fit can
    be replayed, and commits to it. (The state an epoch ends in is committed by the trace callback, first
    in the list: right after the epoch's steps, before any callback's on_epoch_end.)"""

    class Opening(keras.callbacks.Callback):
        def __init__(self, record, replay: dict | None):
            super().__init__()
            self.record, self.replay = record, replay
            self.trained = 0  # the steps the epoch has trained
            self.log = (replay or {}).get("log")  # the batches drawn (grader/harness/images.py, recorded.py)
            # a callback of the program's acts between steps: the learning rate each step ran with is kept
            self.rates: list | None = [] if replay is not None and any(
                c.get("batch_hooks") for c in record.get("callbacks") or []) else None

        def on_train_batch_end(self, batch, logs=None):
            self.trained = max(self.trained, batch + 1)  # (with steps_per_execution, once per execution)

        def on_train_batch_begin(self, batch, logs=None):
            if self.rates is not None:
                rate = _learning_rate_variable(self.model)
                self.rates.append(float(np.asarray(rate)) if rate is not None else float("nan"))

        def on_epoch_begin(self, epoch, logs=None):
            fit = self.record["index"]
            self.trained = 0
            rate, held = self._rate()
            self._schedule_outside_state(rate, held)
            if self.log is not None:
                self.log.mark()
            if self.rates is not None:
                self.start_rate = rate if rate is not None else float("nan")
            with ledger.timing(drain=False):  # (read here; hashed, saved and sent on the ledger's thread)
                if self.replay is not None and not getattr(self.model, "built", False) and \
                        isinstance(self.model, keras.Sequential):
                    _build_sequential(self.model, self.replay.get("input_shape"))
                replayable = self.replay is not None and getattr(self.model, "built", False) and \
                    bool(self.model.weights) and not (self.log is not None and self.log.over) and \
                    not self.record.get("not_replayed")
                # (a pipeline's rows passed the budget; a rate the saved state does not hold changed)
                variables = weights = None
                if replayable:
                    _build_optimizer(self.model)
                    variables = _read(self.model.variables)
                    weights = _weights_among(self.model, variables)  # (the arrays just read, not a second copy)
                weights = self.model.get_weights() if weights is None else weights
                optimizer = _read(_optimizer_variables(self.model))
            # the rate the epoch starts with, when the optimizer's state holds it (Keras 3): a replay running on
            # from the epoch before sets it, and the state it then has is held against this one's
            ledger.commit_start(fit, epoch, weights, optimizer, variables,
                                self.rates is None and self.log is None and replayable and
                                checkpoint_stride(self.replay.get("steps"), self.replay.get("per_execution", 1)) is None,
                                rate if held and rate is not None and math.isfinite(rate) else None)

        def _rate(self) -> tuple[float | None, bool]:
            """The learning rate the epoch starts with (read once: each read of a variable costs), and whether
            the optimizer's state holds it (Keras 3 keeps it among the optimizer's variables, tf-keras not)."""
            rate = _learning_rate_variable(self.model)
            if rate is None:
                return None, False
            return float(np.asarray(rate)), any(v is rate for v in _optimizer_variables(self.model))

        def _schedule_outside_state(self, value: float | None, held: bool):
            """A rate changed between epochs where the optimizer's saved state does not hold it (tf-keras keeps
            it outside its variables): the epochs from here cannot be replayed (said, and no more states saved)."""
            if self.replay is not None and not held and value is not None and \
                    getattr(self, "last_rate", value) != value:
                self.record.setdefault("not_replayed", TF_KERAS_SCHEDULE)
            self.last_rate = value

        def on_epoch_end(self, epoch, logs=None):  # after every callback's: whether one asked to stop
            rates = False
            if self.log is not None or self.rates:
                ledger.drain()
                keep = (*ledger.first.values(), ledger.path(self.record["index"], "data"))
            if self.log is not None:  # the batches the epoch trained on (and a tf.data pipeline's rows, when
                with ledger.timing():  # new ones came)
                    batches = self.log.epoch(self.trained)
                    asked = (getattr(self, "params", None) or {}).get("steps")
                    if batches is not None and (asked is None or self.trained < asked):
                        # the data ran out: Keras' last call, which found none, still counted an optimizer step
                        batches["ran_out"] = np.asarray(True)
                    rows = self.log.grown()
                    if rows is not None and not ledger.save_data(self.record["index"], rows.pop("x"), rows.pop("y"),
                                                                 rows):
                        batches = None
                    if batches is not None:
                        ledger._save(ledger.path(self.record["index"], f"epoch{epoch}-batches"), batches, keep)
            if self.rates:
                with ledger.timing():
                    if set(self.rates) != {self.start_rate}:  # changed since the epoch's start: set per step
                        rates = ledger._save(ledger.path(self.record["index"], f"epoch{epoch}-rates"),
                                             {"rates": np.asarray(self.rates, dtype=np.float64)}, keep)
                self.rates = []
            ledger.send(commit="after", fit_index=self.record["index"], at_epoch=epoch,
                        stop=bool(getattr(self.model, "stop_training", False)), rates=rates)

    return Opening
