"""The evaluator process, from the grader's side (trusted): started with the student's run so its Keras
import overlaps the training, sandboxed like the student's program but running only the grader's
own code (``grader.evalworker``), with a memory limit and a time budget of its own. The grader hands it
the saved model and held-out inputs as files and reads back ``.npy`` arrays (never pickles); a model
that is too big, too slow or crafted to blow up parsing ends in a sentence for the student
("could not be evaluated within 120 s"), never a grader crash or hang."""

from __future__ import annotations

import errno
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import runner, sandbox, workfolders
from grader.modelview import ModelView
from grader.modelcheck import UnsafeModel

WORKER_FILES = ("__init__.py", "tfimport.py", "modelcheck.py", "evalworker.py", "replay.py", "replay_batches.py",
                "batchorder.py", "picture_rows.py", "fresh_start.py")
MAX_REPLY_BYTES = 8 * 2**20
# predictions for the largest held-out split are a few MiB (10,000 pictures x 26 classes of float32: 1 MiB);
# a model whose output is made huge (RepeatVector(60,000,000)) made the grader hold 750 MB at 1 GiB
MAX_OUTPUT_BYTES = 64 * 2**20
MAX_FILE_BYTES = 2**30  # what the evaluator may write: a copy of the model (a course CNN with its optimizer's
# state is over 100 MiB) and its outputs


@dataclass(frozen=True)
class EvalLimits:
    time_s: float = 120.0
    memory_mib: int = 4096

    @classmethod
    def of(cls, exercise) -> "EvalLimits":
        return cls(exercise.evaluation_time, exercise.evaluation_memory_mib)


class EvaluationLimit(Exception):
    """The evaluator could not finish: the message is a sentence for the student."""


class EvaluatorUnavailable(Exception):
    """The evaluator process could not start: the grader's failure (exit 3), never the student's."""


class InferenceError(Exception):
    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


def _create(path: Path):
    """A new file at ``path``, in the evaluator's folder, whose user may have put a link there: whatever
    is at that name is removed (not followed), and the file is created only if the name is still free."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    os.fchmod(fd, 0o644)
    return os.fdopen(fd, "wb")


def _linked(src, path: Path, target: Path) -> bool:
    """``target`` made a second name of the file at ``path``, open as ``src`` (a plain file, opened with
    _open_regular), readable by the evaluator; False where it cannot be (another filesystem: then copied), or
    the name no longer leads to the file opened. The run that wrote the file is over; the evaluator may read the
    file or replace its name, and what it makes of it is what it answers anyway."""
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    try:
        os.link(path, target, follow_symlinks=False)
        opened, linked = os.fstat(src.fileno()), os.lstat(target)
        if (linked.st_dev, linked.st_ino) != (opened.st_dev, opened.st_ino):
            raise OSError(errno.ESTALE, "not the file opened")
        os.fchmod(src.fileno(), 0o644)
    except OSError:
        try:
            os.unlink(target)
        except OSError:
            pass
        return False
    return True


def _open_regular(path: Path, max_bytes: int | None = None):
    """``path`` opened for reading only if it is a plain file (no link followed, no FIFO waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (max_bytes is not None and st.st_size > max_bytes):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a plain file of a sensible size")
    return os.fdopen(fd, "rb")


class Evaluator:
    def __init__(self, limits: EvalLimits, isolation: str | None = None, runtime: str = "keras3"):
        """``runtime``: the Keras that loads the model, the one the program trained on (grader/runtime.py)."""
        self.limits = limits
        self.used_s = 0.0
        self.extra_s = 0.0  # time granted beyond the evaluation's own (replays of training)
        self.failure: str | None = None
        self.loads = 0
        self.folder = workfolders.work_folder("eval", workfolders.work_base())
        (self.folder / "tmp").mkdir()
        # what a replay reads (the model, saved states) is handed over in a folder in memory where the run's
        # states are (grader/runner.py): linked there, not copied (a CNN's eight states: 576 MiB, 0.4 s to a disk)
        memory = workfolders.memory_base(runner.IN_MEMORY_STATE_MIB)
        self.handover = workfolders.work_folder("eval", memory) if memory is not None else self.folder
        self.box = sandbox.open_sandbox(limits.memory_mib, 512, isolation, max_file_bytes=MAX_FILE_BYTES)
        try:
            argv, files = runner.python_command(self.box, "grader.evalworker", WORKER_FILES)
            view = sandbox.View(workdir=self.folder, artifacts=self.handover, readable=runner.python_installation(),
                                harness=files, hide=runner.grader_tree())
            self.box.prepare(view)
            command = self.box.command(argv, view)
            try:
                env = dict(runner.child_environment(self.folder), GRADER_KERAS_RUNTIME=runtime)
                if os.geteuid() == 0 and self.box.mode != "process-group":
                    env["GRADER_EVAL_STRAYS"] = "kill"  # the evaluator runs as a user id of its own
                self.proc = subprocess.Popen(command, cwd=self.folder, env=env,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             start_new_session=True, pass_fds=self.box.pass_fds)
            finally:
                self.box.started()
        except BaseException:
            self.box.close()
            self._remove_folders()
            raise
        self.buffer = b""
        self.ready = self.died = False
        self.runtime = runtime
        self.in_session = False

    # ------------------------------------------------------------ sessions: one student each
    def begin(self):
        """Start a student's session (at the first request): a process of its own, forked from the
        evaluator's imported state."""
        if self.failure or self.in_session:
            return  # a dead evaluator: every request says why
        try:
            reply = self._ask({"op": "session"})
        except (EvaluationLimit, EvaluatorUnavailable):
            return
        if reply.get("session") is not True:
            self._fail_quietly("its session did not start")
        self.in_session = True

    def end(self) -> bool:
        """End the session (its process and anything it left are gone); True when the evaluator can
        serve another student."""
        if self.failure or not self.in_session:
            return False
        self.in_session = False
        try:
            reply = self._ask({"op": "end"})
        except (EvaluationLimit, EvaluatorUnavailable):
            return False
        return reply.get("ended") is True

    def _fail_quietly(self, why: str):
        try:
            self._fail(why)
        except EvaluationLimit:
            pass

    # ------------------------------------------------------------ requests
    def load(self, model_path: Path) -> ModelView:
        """Check and load the saved model. Raises UnsafeModel, ValueError or EvaluationLimit."""
        self.begin()
        self.loads += 1
        target = self.folder / f"model-{self.loads}.keras"
        try:
            with _open_regular(model_path) as src, _create(target) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as exc:
            raise ValueError(f"the saved model file could not be handed to the evaluator ({exc.strerror})") from None
        try:
            reply = self._ask({"op": "load", "model": str(target)})
        finally:
            target.unlink(missing_ok=True)
        if reply.get("ok"):
            return ModelView(self, reply.get("input_shape"), reply.get("layers"), reply.get("digests"))
        if reply.get("kind") == "unsafe":
            raise UnsafeModel(str(reply.get("message")))
        raise ValueError(str(reply.get("message")) or str(reply.get("type")))

    def infer(self, x: np.ndarray) -> np.ndarray:
        inputs, outputs = self.folder / "x.npy", self.folder / "out.npy"
        try:
            with _create(inputs) as f:
                np.save(f, np.ascontiguousarray(x), allow_pickle=False)
        except OSError as exc:
            raise InferenceError("InputsNotWritten", f"the inputs could not be handed over ({exc.strerror})") from None
        try:
            reply = self._ask({"op": "infer", "x": str(inputs), "out": str(outputs)})
            if not reply.get("ok"):
                raise InferenceError(str(reply.get("type")), str(reply.get("message")))
            try:
                with _open_regular(outputs, MAX_OUTPUT_BYTES) as f:
                    return np.load(f, allow_pickle=False)
            except OSError:
                raise InferenceError("OutputMissing", "the evaluator wrote no predictions") from None
        finally:
            inputs.unlink(missing_ok=True)
            outputs.unlink(missing_ok=True)

    def replay(self, model_path: Path, data_path: Path, epochs: list[dict], order: dict, time_s: float,
               survey: list[Path] | None = None, pictures: list[Path] | None = None) -> dict:
        """Replay epochs of one fit (grader/replay.py) in the session, within ``time_s`` seconds of its own
        (not taken from the evaluation's). ``epochs``: {"epoch", "steps", "start": saved state (or
        "continue": on from the state the one before reached), and the batches an ImageDataGenerator made, or
        the per-step rates, when saved}; ``order``: batch_size,
        shuffle, order_seed, class_weight (or kind "images": the generator's settings), and optionally initial: {"start": saved state} (where
        training began) and all_rates: the files of the rates set at steps, of every epoch (the least is returned). Returns the worker's reply. ``survey``: saved states to read and measure (how far the weights moved from each to the next)
        instead. ``pictures``: the exercise's picture files, which a pipeline's rows recorded by their hashes are read
        from again (grader/picture_rows.py)."""
        self.begin()
        handed: list[Path] = []

        def hand(path: Path, name: str) -> str:
            target = self.handover / name
            with _open_regular(path) as src:
                handed.append(target)
                if not _linked(src, path, target):
                    with _create(target) as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
            return str(target)

        try:
            try:
                if order.get("initial"):  # where training began, held against a fresh initialisation
                    order = dict(order, initial=dict(order["initial"],
                                                     start=hand(order["initial"]["start"], "replay-initial.npz")))
                request = {"op": "replay", "model": hand(model_path, "replay-model.keras"),
                           "data": hand(data_path, "replay-data.npz"),
                           **{k: v for k, v in order.items() if k != "all_rates"},
                           "epochs": [dict(e, **({"start": hand(e["start"], f"replay-start-{i}.npz")}
                                                 if e.get("start") else {}),
                                           **({"rates": hand(e["rates"], f"replay-rates-{i}.npz")}
                                              if e.get("rates") else {}),
                                           **({"step_rates": {str(k): hand(path, f"replay-rates-{i}-{k}.npz")
                                                              for k, path in e["step_rates"].items()}}
                                              if e.get("step_rates") else {}),
                                           **({"batches": hand(e["batches"], f"replay-batches-{i}.npz")}
                                              if e.get("batches") else {}))
                                      for i, e in enumerate(epochs)],
                           **({"survey": [hand(p, f"replay-survey-{i}.npz") for i, p in enumerate(survey)]}
                              if survey else {}),
                           **({"all_rates": [hand(p, f"replay-all-rates-{i}.npz")
                                             for i, p in enumerate(order["all_rates"])]}
                              if order.get("all_rates") else {}),
                           **({"pictures": self._hand_pictures(pictures, handed)} if pictures else {})}
            except OSError as exc:
                return {"ok": False, "kind": "unreplayable",
                        "message": f"a saved file could not be handed to the evaluator ({exc.strerror})"}
            self.extra_s += time_s
            return self._ask(request)
        finally:
            for path in handed:
                path.unlink(missing_ok=True)

    def _hand_pictures(self, pictures: list[Path], handed: list[Path]) -> dict:
        """The bytes of ``pictures`` one after another in one new file of the evaluator's own, and beside it
        where each ends and its kind (its suffix): one file written, where copying 3,000 pictures one by one
        took 2.5 s on this machine's disk (0.05 s as one file); the evaluator lays them out as files again
        (grader/picture_rows.py: laid_out)."""
        from grader.picture_rows import SUFFIXES

        blob, index = self.handover / "replay-pictures.bin", self.handover / "replay-pictures.npz"
        ends, kinds = [], []
        with _create(blob) as dst:
            handed.append(blob)
            for path in pictures:
                with _open_regular(path, MAX_FILE_BYTES) as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
                ends.append(dst.tell())
                kinds.append(SUFFIXES.index(path.suffix.lower()))
        with _create(index) as f:
            handed.append(index)
            np.savez(f, ends=np.asarray(ends, dtype=np.int64), kinds=np.asarray(kinds, dtype=np.uint8))
        return {"blob": str(blob), "index": str(index)}

    def _ask(self, request: dict) -> dict:
        if self.failure:
            raise (EvaluatorUnavailable if not self.ready else EvaluationLimit)(self.failure)
        if not self.ready:
            self._wait_ready()
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            self._fail(None)
        started = time.monotonic()
        try:
            line = self._read_line(started)
        finally:
            self.used_s += time.monotonic() - started
        try:
            reply = json.loads(line)
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict):
            self._fail("its reply was malformed")
        if reply.get("ended") and request.get("op") != "end":  # the session's process died mid-request
            self.in_session = False
            self._fail("memory" if self.box.cgroup and self.box.cgroup.oom_killed() else None)
        return reply

    def _wait_ready(self):
        """The worker's first line says it started; dying before it is the grader's failure (its
        sandbox or its Python), not the student's: an error, not a verdict."""
        started = time.monotonic()
        try:
            line = self._read_line(started)
        except EvaluationLimit:
            if self.died:
                self.failure = "the grader's evaluator process could not start; no model was evaluated"
                raise EvaluatorUnavailable(self.failure) from None
            raise
        finally:
            self.used_s += time.monotonic() - started
        self.ready = line.strip() == b'{"ready": true}'
        if not self.ready:
            self._fail("its first line was not the expected greeting")

    def _read_line(self, started: float) -> bytes:
        fd = self.proc.stdout.fileno()
        margin = max(32 * 2**20, self.limits.memory_mib * 2**20 // 32)
        while b"\n" not in self.buffer:
            left = self.limits.time_s + self.extra_s - self.used_s - (time.monotonic() - started)
            if left <= 0:
                self._fail("time")
            if self.box.memory_in_use(self.proc.pid) >= self.limits.memory_mib * 2**20 - margin:
                self._fail("memory")
            ready, _, _ = select.select([fd], [], [], min(0.25, left))
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    self._fail("memory" if self.box.cgroup and self.box.cgroup.oom_killed() else None)
                self.buffer += chunk
                if len(self.buffer) > MAX_REPLY_BYTES:
                    self._fail("its reply was too long")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _fail(self, why: str | None):
        self.stop()
        self.died = why is None
        if why == "time":
            self.failure = f"The model could not be evaluated within {self.limits.time_s:g} s."
        elif why == "memory":
            self.failure = f"The model could not be evaluated within {self.limits.memory_mib} MiB of memory."
        else:
            self.failure = "The model could not be evaluated: the evaluator stopped" + (f" ({why})." if why else ".")
        raise EvaluationLimit(self.failure)

    # ------------------------------------------------------------ the process
    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.box.cgroup:
            self.box.cgroup.kill_all()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.stop()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.box.close()
        self._remove_folders()

    def _remove_folders(self):
        workfolders.remove_tree(self.folder)
        if self.handover != self.folder:
            workfolders.remove_tree(self.handover)


# ------------------------------------------------------------ warm evaluators, kept between gradings
_warm: dict = {}  # (limits, runtime) -> Evaluator; filled only where keep_warm() was called
_keep = False


def keep_warm():
    """Keep evaluators between gradings in this process (``grader batch``'s workers): each student still
    gets a process of its own, forked from one that imported Keras once."""
    global _keep
    _keep = True


def acquire(limits: EvalLimits, runtime: str = "keras3") -> Evaluator:
    """An evaluator with a session open for one grading: a warm one when there is one, else a new one
    (whose Keras import overlaps the student's training)."""
    evaluator = _warm.pop((limits, runtime), None)
    if evaluator is None or evaluator.failure:
        if evaluator is not None:
            evaluator.close()
        evaluator = Evaluator(limits, runtime=runtime)
    evaluator.used_s = evaluator.extra_s = 0.0  # each grading has the whole time budget
    return evaluator


def release(evaluator: Evaluator):
    """Done with a grading: ended and kept warm for the next (where wanted), else closed."""
    if evaluator.end() and _keep and (evaluator.limits, evaluator.runtime) not in _warm:
        _warm[(evaluator.limits, evaluator.runtime)] = evaluator
    else:
        evaluator.close()


def close_all():
    while _warm:
        _warm.popitem()[1].close()
