"""The child's ledger of saved training states (grader/harness/commit.py commits to training; this keeps what a
replay needs): each state written within a budget, thinned past it so that as many as it holds stay spread over
training, the newest held unwritten until a newer one comes; the commitments (inside epochs and at their
boundaries) hashed, written and sent on a thread of its own while training goes on, the training thread only
reading the state. Nothing here is trusted by the parent.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from grader.harness.commit import (_optimizer_variables, _read, _weights_among, combined, optimizer_parts,
                                   weights_digest)

SAVE_EVERY_S = 0.2  # short epochs that follow on from one another save their start this often at most
MOST_PENDING = 2  # commitments waiting for the ledger's thread, at most (each holds a copy of the state)
THREAD_BYTES = 1 << 20  # a state this large is hashed and saved on the ledger's thread; a smaller one at once (handing
# it over costs more than hashing it: hello_world's 1,000 epoch boundaries)
STATE_BUDGET_MIB = 384  # saved states and arrays, per grading, unless the job says otherwise: past it the states
# kept are thinned (Ledger._thin)


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
        # the commitments are hashed, saved and sent by one thread of their own, in order, while training goes
        # on (hashing and writing release the GIL: a CNN's 72 MiB state costs about 80 ms, and the training
        # thread leaves a core idle while it augments pictures); what else touches the saved files waits for it
        self.worker: ThreadPoolExecutor | None = None
        self.pending: list = []
        self.held: tuple | None = None  # the newest state: (path, arrays, the files thinning keeps), not yet written
        self.behind = 0.0  # seconds the worker spent (the training thread's own are ``spent``)
        self.failures = 0  # states whose writing failed (the trusted side then cannot tell one gone from one removed)

    @contextlib.contextmanager
    def timing(self, drain: bool = True):
        """Time what training waits for here (``drain``: after what the ledger's thread has not done yet)."""
        started = time.perf_counter()
        try:
            if drain:
                self.drain()
            yield
        finally:
            self.spent += time.perf_counter() - started

    def later(self, work, *args, state: bool = True):
        """Run ``work(*args)`` on the ledger's own thread, after what it was given before (``state``: it holds a
        copy of the state; when MOST_PENDING such are waiting, training waits for the oldest)."""
        if self.worker is None:
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-commitments")
        while state and sum(1 for _, holds in self.pending if holds) >= MOST_PENDING:
            self._wait(self.pending.pop(0)[0])
        self.pending.append((self.worker.submit(self._timed, work, *args), state))

    def soon(self, size: int, work, *args):
        """``work(*args)``, for a state of ``size`` bytes: on the ledger's thread when it is THREAD_BYTES or more,
        else at once (after what the thread has not done yet)."""
        if size >= THREAD_BYTES:
            self.later(work, *args)
        else:
            with self.timing():
                work(*args)

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
            self._wait(self.pending.pop(0)[0])

    @staticmethod
    def _wait(future):
        try:
            future.result()
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
        size = _bytes(arrays.values())
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
            self.failures += 1
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
        size = _bytes(arrays)
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
        size = _bytes(named.values())
        if self.used + size + room > self.budget and self._victim(keep, True, held=path) == path:
            self.positions.pop(path, None)
            return
        if not self._save(path, named, keep, state=True, saving=path):
            self.positions.pop(path, None)

    def commit_end(self, model, fields: dict):
        """Commit to the state an epoch ended in (``fields``: the progress the event carries too): read here, hashed
        and sent on the ledger's thread for a large state; its digests and arrays kept for the next epoch's start."""
        with self.timing(drain=False):
            weights = model.get_weights()
            try:
                optimizer = _read(_optimizer_variables(model))
            except Exception:
                optimizer = None
        self.soon(_bytes(weights) + _bytes(optimizer or []), self._commit_end, weights, optimizer, fields)

    def _commit_end(self, weights: list, optimizer: list | None, fields: dict):
        found = _digests(weights, optimizer)
        self.ended = (weights, optimizer, found) if optimizer is not None else None
        self._send(**fields, weights=found[0], optimizer=found[1], optimizer_parts=found[2])

    def commit_start(self, fit: int, epoch: int, weights: list, optimizer: list, variables: list | None,
                     steady: bool, rate: float | None):
        """Commit to the state an epoch starts in (read by the caller: ``variables``, the model's, when it may be
        saved; ``steady``: nothing but the last epoch's end could have changed it) and save it when due: on the
        ledger's thread for a large state."""
        self.soon(_bytes(weights) + _bytes(optimizer), self._commit_start, fit, epoch, weights, optimizer, variables,
                  steady, rate)

    def _commit_start(self, fit, epoch, weights, optimizer, variables, steady, rate):
        weights_found, optimizer_found, parts, unchanged = self.start_digests(weights, optimizer)
        saved = False
        if variables is not None and self.save_due(fit, unchanged and steady):
            saved = self.save_state(fit, epoch, None, optimizer, variables)
            if saved:
                self.saved_at[fit] = time.perf_counter()
        self._send(commit="start", fit_index=fit, at_epoch=epoch, weights=weights_found, optimizer=optimizer_found,
                   optimizer_parts=parts, saved=saved, rate=rate)

    def start_digests(self, weights: list, optimizer: list) -> tuple[str, str | None, list | None, bool]:
        """The digests of the state an epoch starts in (and of each of the optimizer's variables), and whether
        it is the state the last epoch ended in (then its digests are reused: comparing the arrays costs a
        fraction of hashing them)."""
        if self.ended is not None:
            before_weights, before_optimizer, found = self.ended
            if _same_arrays(weights, before_weights) and _same_arrays(optimizer, before_optimizer):
                return (*found, True)
        return (*_digests(weights, optimizer), False)

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
        found, optimizer_found, _ = _digests(weights, optimizer)
        self._send(commit="mid", fit_index=fit, at_epoch=epoch, step=step, weights=found, optimizer=optimizer_found,
                   saved=saved, logs=logs)

    def send(self, **commitment):
        """Send a commitment after those the ledger's thread has not sent yet (through it, when there are any)."""
        if any(not future.done() for future, _ in self.pending):
            self.later(functools.partial(self._send, **commitment), state=False)
        else:
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


def _bytes(arrays) -> int:
    return sum(int(np.asarray(a).nbytes) for a in arrays)


def _digests(weights: list, optimizer: list | None) -> tuple[str, str | None, list | None]:
    """The digests of a state's weights and of its optimizer's state (None where it could not be read), and of
    each of the optimizer's variables."""
    parts = optimizer_parts(None, optimizer) if optimizer is not None else None
    return weights_digest(None, weights), None if parts is None else combined(parts), parts


def _same_arrays(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y)
                                    for x, y in zip(a, b))
