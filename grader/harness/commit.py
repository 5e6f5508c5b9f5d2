"""Commitments to training, made while it runs (in the child) so that the trusted side can audit it.

For every fit the harness
- sends the parent, over the event pipe the parent timestamps, at each epoch's start and end (and after
  every eighth of a long epoch): a digest of the model's weights and one of its optimizer's state, with
  the epoch's logs and steps;
- for fits the evaluator can replay (grader/harness/replayable.py prepares them), saves the whole state
  (every variable of the model and of its optimizer) to the artifacts folder where such a commitment is
  made: at every epoch's start when something changed since the last epoch ended, or short epochs'
  starts every SAVE_EVERY_S, and at every eighth of a long epoch.

After the run the trusted side picks parts the child could not predict and replays them in the
evaluator from the saved states (grader/training_audit.py): a model the program did not train, or a
record it edited, does not match what was committed. Nothing here is trusted by the parent; it is what
an honest run hands over to be checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


DIGEST_CHARS = 16
SAVE_EVERY_S = 0.2  # short epochs that follow on from one another save their start this often at most
SEGMENTS = 8  # an epoch of at least SPLIT_STEPS steps is committed to at the end of each eighth of it, so
SPLIT_STEPS = 16  # that an audit can replay part of an epoch rather than the whole
TF_KERAS_SCHEDULE = ("a learning-rate schedule changed the rate between epochs on the tf.keras 2 runtime, whose "
                     "optimizer keeps its rate outside the state the grader saves (on Keras 3 it replays schedules)")
STATE_BUDGET_MIB = 384  # saved states and arrays, per grading, unless the job says otherwise: past it the states
# kept are thinned (Ledger._thin)


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


class Ledger:
    """Where one grading's commitments go: the event pipe, and the artifacts folder for saved states."""

    def __init__(self, events, out: Path, seed: int | None, budget_mib: int = STATE_BUDGET_MIB,
                 rows_mib: int | None = None):
        self.events = events
        self.budget = budget_mib * 2**20
        # the rows or pictures of a fit's data kept to replay it: half the budget unless the job says (in
        # memory, where states have more room, the rows have as much as on a disk: grader/runner.py)
        self.rows_budget = (budget_mib // 2 if rows_mib is None else min(rows_mib, budget_mib)) * 2**20
        self.folder = out / "training"
        self.seed = seed
        self.used = 0
        self.saved: dict[Path, int] = {}  # what is saved, oldest first, with its size
        self.positions: dict[Path, int] = {}  # each saved state's place among the states saved (0, 1, 2...)
        self.count = 0  # states saved so far
        self.first: dict[int, Path] = {}  # each fit's first saved state
        self.spent = 0.0  # seconds spent committing and saving (the benchmark reports it)
        self.ended: tuple | None = None  # the state the last epoch ended in: its arrays, and their digests
        self.saved_at: dict[int, float] = {}  # when each fit's last epoch start was saved
        # the commitments inside an epoch are hashed, saved and sent by one thread of their own, in order, while
        # training goes on (hashing and writing release the GIL: a CNN's 72 MiB state costs about 80 ms, and the
        # training thread leaves a core idle while it augments pictures); everything else waits for it first
        self.worker: ThreadPoolExecutor | None = None
        self.pending: list = []
        self.held: tuple | None = None  # the newest state: (path, arrays, the files thinning keeps), not yet written
        self.behind = 0.0  # seconds the worker spent (the training thread's own are ``spent``)

    @contextlib.contextmanager
    def timing(self):
        started = time.perf_counter()
        try:
            self.drain()
            yield
        finally:
            self.spent += time.perf_counter() - started

    def later(self, work, *args):
        """Run ``work(*args)`` on the ledger's own thread, after what it was given before."""
        if self.worker is None:
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-commitments")
        self.pending.append(self.worker.submit(self._timed, work, *args))

    def _timed(self, work, *args):
        started = time.perf_counter()
        try:
            work(*args)
        finally:
            self.behind += time.perf_counter() - started

    def drain(self):
        """Wait for the commitments the ledger's thread has not made yet (a failed one is not made: the trusted
        side finds no commitment there)."""
        while self.pending:
            try:
                self.pending.pop(0).result()
            except Exception:
                pass

    def path(self, fit: int, name: str) -> Path:
        return self.folder / f"fit{fit}-{name}.npz"

    def _save(self, path: Path, arrays: dict, keep: tuple = (), state: bool = False,
              saving: Path | None = None) -> bool:
        """Save ``arrays`` within the budget, making room by thinning the saved states (``_thin``), else by
        removing the oldest saved files, except those in ``keep`` (the current fit's arrays, each fit's first
        state): the newest state is always saved, so the part of training that made the graded model can be
        replayed. A file saved again (a table of rows that grew) replaces the old one."""
        if path in self.saved:
            self._remove(path)
        size = sum(int(np.asarray(a).nbytes) for a in arrays.values())
        while self.used + size > self.budget:
            if self._thin(keep, state, saving):
                continue
            old = next((p for p in self.saved if p not in keep), None)
            if old is None:
                return False
            self._remove(old)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            part = path.with_name(path.name + ".part")
            with open(part, "wb") as f:  # (to the file itself, each array written from where it is: a third
                np.savez(f, **arrays)  # of the time zipping it in memory first took, for a CNN's 72 MiB)
            os.replace(part, path)
        except (OSError, ValueError):
            return False
        self.saved[path] = size
        self.used += size
        return True

    def _thin(self, keep: tuple, state: bool, saving: Path | None = None) -> bool:
        """Make room among the saved states by removing the one whose neighbours are closest together: the
        states kept stay spread over the whole of training, as many as the budget holds, each fit's first and
        the newest among them, so that any part of it can be replayed from the latest state kept before it,
        through as few steps as the budget allows (the trusted side replays on from there through the states
        not kept: grader/training_segments.py). ``state``: room is made for a newer state (then the newest so
        far may go too); ``saving``: the state being written. False when there is nothing to thin."""
        victim = self._victim(keep, state, saving)
        if victim is None:
            return False
        self._remove(victim)
        return True

    def _victim(self, keep: tuple, state: bool, saving: Path | None = None, held: Path | None = None) -> Path | None:
        """The state ``_thin`` removes first (``held``, the state held, among them as if written), or None."""
        order = sorted(self.positions, key=self.positions.get)
        at = [self.positions[p] for p in order] + [self.count]  # (the place of the state to come)
        candidates = [k for k in range(1, len(order) - (0 if state else 1)) if order[k] not in keep and
                      order[k] != saving and (order[k] in self.saved or order[k] == held)]
        if not candidates:
            return None
        return order[min(candidates, key=lambda k: (at[k + 1] - at[k - 1], at[k]))]

    def _remove(self, path: Path):
        self.positions.pop(path, None)
        self.used -= self.saved.pop(path)
        try:
            path.unlink()
        except OSError:
            pass

    def save_data(self, fit: int, x: np.ndarray, y: np.ndarray, extra: dict | None = None) -> bool:
        """Save the fit's samples (at its start; a tf.data pipeline's rows again whenever new ones came),
        making room from saved states but never each fit's first."""
        with self.timing():
            return self._save(self.path(fit, "data"), {"x": x, "y": y, **(extra or {})}, tuple(self.first.values()))

    def save_state(self, fit: int, epoch: int | str, model, optimizer: list | None = None,
                   variables: list | None = None) -> bool:
        """Save every variable of ``model`` and of its optimizer (``optimizer``, ``variables``: their values,
        already read), as the state epoch ``epoch`` starts from (or "E-stepS": the state after step S of
        epoch E)."""
        try:
            optimizer = _read(_optimizer_variables(model)) if optimizer is None else optimizer
            arrays = (_read(model.variables) if variables is None else variables) + optimizer
        except Exception:
            return False
        path = self.path(fit, f"epoch{epoch}")
        keep = (self.path(fit, "data"), *self.first.values())  # and each fit's first state: where training began
        named = {f"a{i}": a for i, a in enumerate(arrays)}
        size = sum(int(np.asarray(a).nbytes) for a in arrays)
        self._settle(size)
        if fit in self.first:  # held until a newer one comes (or the run ends), and written only if kept then
            if size > self.budget:
                return False
            self.held = (path, named, keep)
            self.positions[path] = self.count
            self.count += 1
            return True
        saved = self._save(path, named, keep, state=True)
        if saved:
            self.first.setdefault(fit, path)
            self.positions[path] = self.count
            self.count += 1
        return saved

    def _settle(self, room: int):
        """The state held (the newest so far), now that a newer one of ``room`` bytes comes: written, unless
        there is no room for both and it is the one thinning would remove first (the newest states are those
        closest together), then dropped unwritten: once the budget is full, most states are never written."""
        if self.held is None:
            return
        path, named, keep = self.held
        self.held = None
        size = sum(int(np.asarray(a).nbytes) for a in named.values())
        if self.used + size + room > self.budget and self._victim(keep, True, held=path) == path:
            self.positions.pop(path, None)
            return
        if not self._save(path, named, keep, state=True, saving=path):
            self.positions.pop(path, None)

    def end_digests(self, model) -> tuple[str, str | None, list | None]:
        """The digests of the weights and of the optimizer's state an epoch ended with, and of each of the
        optimizer's variables (kept, with the arrays, for the next epoch's start)."""
        weights = model.get_weights()
        try:
            optimizer = _read(_optimizer_variables(model))
        except Exception:
            self.ended = None
            return weights_digest(model, weights), None, None
        parts = optimizer_parts(model, optimizer)
        found = weights_digest(model, weights), None if parts is None else combined(parts), parts
        self.ended = (weights, optimizer, found)
        return found

    def start_digests(self, model, weights: list, optimizer: list) -> tuple[str, str | None, list | None, bool]:
        """The digests of the state an epoch starts in (and of each of the optimizer's variables), and whether
        it is the state the last epoch ended in (then its digests are reused: comparing the arrays costs a
        fraction of hashing them)."""
        if self.ended is not None:
            before_weights, before_optimizer, found = self.ended
            if _same_arrays(weights, before_weights) and _same_arrays(optimizer, before_optimizer):
                return (*found, True)
        parts = optimizer_parts(model, optimizer)
        return weights_digest(model, weights), None if parts is None else combined(parts), parts, False

    def save_due(self, fit: int, continuing: bool) -> bool:
        """Whether to save the state an epoch starts in: always at a fit's first epoch, and when something
        changed it since the last epoch ended (a schedule set the learning rate), or the epochs can only be
        replayed one by one (``continuing`` False); else once SAVE_EVERY_S seconds have passed since the last
        save. An epoch whose start is not saved is replayed as a run from the last one that is."""
        last = self.saved_at.get(fit)
        return last is None or not continuing or time.perf_counter() - last >= SAVE_EVERY_S

    def checkpoint(self, fit: int, epoch: int, step: int, model, logs: dict):
        """Inside an epoch, right after step ``step`` (counted from 1): commit to the state, with the epoch's
        running logs so far, and save it, so that the rest of the epoch can be replayed from here. The state
        is read here (copied); hashed, saved and sent on the ledger's thread while training goes on."""
        started = time.perf_counter()
        try:
            optimizer, variables = _read(_optimizer_variables(model)), _read(model.variables)
            weights = _weights_among(model, variables)  # (the arrays just read, not a second copy of each)
            weights = model.get_weights() if weights is None else weights
        except Exception:
            return
        finally:
            self.spent += time.perf_counter() - started
        self.later(self._commit_mid, fit, epoch, step, optimizer, variables, weights, dict(logs))

    def _commit_mid(self, fit, epoch, step, optimizer, variables, weights, logs):
        saved = self.save_state(fit, f"{epoch}-step{step}", None, optimizer, variables)
        parts = optimizer_parts(None, optimizer)
        self._send(commit="mid", fit_index=fit, at_epoch=epoch, step=step, weights=weights_digest(None, weights),
                   optimizer=None if parts is None else combined(parts), saved=saved, logs=logs)

    def send(self, **commitment):
        self.drain()
        self._send(**commitment)

    def _send(self, **commitment):
        if self.events is not None:
            self.events.send(**commitment)

    def close(self):
        """Make the commitments still being made (training ended, or was stopped, inside an epoch), and write
        the state held: the newest, where the part of training that made the graded model is replayed from."""
        self.drain()
        if self.held is not None:
            path, named, keep = self.held
            self.held = None
            with self.timing():
                if not self._save(path, named, keep, state=True, saving=path):
                    self.positions.pop(path, None)
        if self.worker is not None:
            self.worker.shutdown(wait=True)
            self.worker = None


def checkpoint_stride(steps: int | None, per_execution: int = 1) -> int | None:
    """Every how many steps an epoch of ``steps`` is committed to (None: at its start and end only)."""
    if not isinstance(steps, int) or steps < SPLIT_STEPS or per_execution != 1:
        return None
    return math.ceil(steps / SEGMENTS)


def _same_arrays(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y)
                                    for x, y in zip(a, b))


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


def opening_callback(keras, ledger: Ledger):
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
            self._schedule_outside_state()
            if self.log is not None:
                self.log.mark()
            if self.rates is not None:
                rate = _learning_rate_variable(self.model)
                self.start_rate = float(np.asarray(rate)) if rate is not None else float("nan")
            with ledger.timing():
                saved = False
                if self.replay is not None and not getattr(self.model, "built", False) and \
                        isinstance(self.model, keras.Sequential):
                    _build_sequential(self.model, self.replay.get("input_shape"))
                weights = self.model.get_weights()
                replayable = self.replay is not None and getattr(self.model, "built", False) and bool(weights) \
                    and not (self.log is not None and self.log.over) and not self.record.get("not_replayed")
                # (a pipeline's rows passed the budget; a rate the saved state does not hold changed)
                if replayable:
                    _build_optimizer(self.model)
                optimizer = _read(_optimizer_variables(self.model))  # read once, for both
                weights_found, optimizer_found, parts, unchanged = ledger.start_digests(self.model, weights, optimizer)
                if replayable and ledger.save_due(fit, unchanged and self.rates is None and self.log is None and
                                                  checkpoint_stride(self.replay.get("steps"),
                                                                    self.replay.get("per_execution", 1)) is None):
                    saved = ledger.save_state(fit, epoch, self.model, optimizer)
                    if saved:
                        ledger.saved_at[fit] = time.perf_counter()
                ledger.send(commit="start", fit_index=fit, at_epoch=epoch, weights=weights_found,
                            optimizer=optimizer_found, optimizer_parts=parts, saved=saved, rate=self._held_rate())

        def _held_rate(self):
            """The learning rate the epoch starts with, when the optimizer's state holds it (Keras 3): a replay
            running on from the epoch before sets it, and the state it then has is held against this one's."""
            rate = _learning_rate_variable(self.model)
            if rate is None or not any(v is rate for v in _optimizer_variables(self.model)):
                return None
            value = float(np.asarray(rate))
            return value if math.isfinite(value) else None

        def _schedule_outside_state(self):
            """A rate changed between epochs where the optimizer's saved state does not hold it (tf-keras keeps
            it outside its variables): the epochs from here cannot be replayed (said, and no more states saved)."""
            rate = _learning_rate_variable(self.model)
            value = float(np.asarray(rate)) if rate is not None else None
            held = rate is not None and any(v is rate for v in _optimizer_variables(self.model))
            if self.replay is not None and not held and value is not None and \
                    getattr(self, "last_rate", value) != value:
                self.record.setdefault("not_replayed", TF_KERAS_SCHEDULE)
            self.last_rate = value

        def on_epoch_end(self, epoch, logs=None):  # after every callback's: whether one asked to stop
            rates = False
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
