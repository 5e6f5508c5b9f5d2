"""Run a submission in a child process under limits (parent side, trusted).

The child gets the public job only (no hidden spec), a whitelisted environment, a fresh
working directory, and ``python -I`` so files planted beside it cannot shadow real modules.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import cgroups, datapaths, sandbox
from grader.submission import Source
from grader.events import Commitments, relay_events
from grader.trace import read_trace, regular_file
from grader.workfolders import (MAX_ENTRIES, child_path, disk_used, inventory, memory_base, remove_tree,
                                sweep_stale, work_base, work_folder)

OUTPUT_HEAD = 8 * 1024
OUTPUT_TAIL = 24 * 1024
MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024
STATE_BUDGET_MIB = 384  # saved training states (grader/harness/ledger.py), per grading, on a disk: a quarter of
IN_MEMORY_STATE_MIB = 1024  # the disk limit at most, counted against it; in memory, this much beside the disk limit
ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


@dataclass
class RunResult:
    status: str  # ok | exit | error | syntax_error | timeout | crashed
    exit_code: int | None
    signal: int | None
    timed_out: bool
    duration_s: float
    peak_memory_mib: float | None
    output_head: str
    output_tail: str
    output_bytes: int
    trace: dict = field(default_factory=dict)
    model_path: Path | None = None
    artifacts: Path | None = None
    time_limit_s: float = 0.0
    memory_limit_mib: int = 0
    memory_exceeded: bool = False
    disk_limit_mib: int = 0
    disk_exceeded: bool = False
    isolation: str = ""
    warnings: list = field(default_factory=list)
    data_places: list = field(default_factory=list)  # where the program could find its dataset
    # what the program left in each of the task's ``outputs`` (workfolders.inventory), read on the trusted side
    outputs: dict = field(default_factory=dict)
    # the commitments to training received over the event pipe while the child ran (Commitments.received)
    commitments: dict = field(default_factory=dict)
    state_budget_mib: int = 0  # the room the job gave the saved training states (grader/saved_states.py)

    @property
    def output_cut(self) -> int:
        return max(0, self.output_bytes - len(self.output_head.encode()) - len(self.output_tail.encode()))


class OutputCapture:
    """Keeps the first and last few KiB of the child's output, and counts the rest."""

    def __init__(self, stream):
        self.stream = stream
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        while True:
            chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
            if not chunk:
                break
            self.total += len(chunk)
            room = OUTPUT_HEAD - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > OUTPUT_TAIL:
                    del self.tail[: len(self.tail) - OUTPUT_TAIL]

    def texts(self) -> tuple[str, str]:
        self.thread.join(timeout=2)
        return self.head.decode("utf-8", "replace"), self.tail.decode("utf-8", "replace")


COLAB_HOME = "/content"


def place_aliases(staged, workdir: Path) -> dict:
    """Make each of the staged copy's aliases lead to it (and each of its links to the file or folder it
    names): inside the working folder or the child's own /tmp, a symlink there; elsewhere
    ("../data/NAME", "/kaggle/input/NAME"), a symlink the sandbox shows at that path (returned: path
    inside the child -> target)."""
    links = {}
    wanted = [(alias, staged.home) for alias in staged.aliases if staged.home is not None]
    wanted += list(staged.links.items())
    for alias, target in wanted:
        place = child_path(workdir, alias)  # (an absolute alias stays as it is)
        if place is None:
            links[os.path.normpath(workdir / alias)] = str(target)
            continue
        if not os.path.lexists(place):
            place.parent.mkdir(parents=True, exist_ok=True)
            place.symlink_to(target)
    return links


def child_environment(workdir: Path) -> dict:
    env = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
    env.update({
        "HOME": str(workdir),
        "TMPDIR": str(workdir / "tmp"),
        "MPLBACKEND": "Agg",  # plt.show() never blocks
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONIOENCODING": "utf-8",
    })
    return env


def _harness_pid(pid: int) -> int | None:
    """The harness process (inside any sandbox wrapper, whose own command line names it too), to ask
    it to save what it has trained: the first process below ``pid`` that is this Python running it."""
    for p in [pid] + cgroups.descendants(pid):
        try:
            argv = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0] == sys.executable.encode() and any(b"grader.harness" in a for a in argv):
            return p
    return None


@dataclass(frozen=True)
class Limits:
    """What the child may use, built once from the exercise (and the command line's time limit)."""
    time_s: float
    max_epochs: int | None = None
    memory_mib: int = 6144
    processes: int = 1024
    file_mib: int = 512
    disk_mib: int = 1536
    network: bool = False

    @classmethod
    def of(cls, exercise, time_limit: float | None = None) -> "Limits":
        return cls(time_s=float(exercise.time_limit if time_limit is None else time_limit),
                   max_epochs=exercise.max_epochs, memory_mib=exercise.memory_mib,
                   processes=exercise.max_processes, file_mib=exercise.max_file_mib, disk_mib=exercise.disk_mib,
                   network=exercise.network)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 2**20


@dataclass(frozen=True)
class Task:
    """What the harness does with the program: the entry point to call and with what, where the model is."""
    entry_point: str | None = None
    entry_args: tuple = ()
    model_variable: str = "model"
    continue_after_error: bool = False
    runtime: str = "keras3"  # the Keras the program runs on (grader/runtime.py decides per submission)
    outputs: tuple = ()  # folders the program is asked to write, listed once it ends (RunResult.outputs)
    verify: bool = True  # commit to training as it runs, and save what a replay needs (grader/harness/commit.py)

    @classmethod
    def of(cls, exercise) -> "Task":
        return cls(exercise.entry_point, tuple(exercise.entry_args), exercise.model_variable,
                   exercise.continue_after_error, outputs=tuple(exercise.outputs), verify=exercise.verify)


# The harness's own modules: all the child is shown of the grader (no checks, exercises or tests).
HARNESS_FILES = ("__init__.py", "tfimport.py", "fingerprint.py", "shellcmd.py", "batchorder.py", "harness")
BOOT = "import runpy, sys; sys.path.insert(0, {root!r}); runpy.run_module({module!r}, run_name='__main__')"


def python_command(box: sandbox.Sandbox, module: str, files: tuple) -> tuple[list[str], dict]:
    """How to run the grader's ``module`` in ``box``, and which of the grader's files (``files``, names in
    the package) the sandbox must show for it: under bubblewrap, those alone, at their own root."""
    python = [sys.executable, "-I", "-u"]  # -u: prints and warnings reach the output in the order made
    if box.mode != "bubblewrap" and not box.confined:
        return python + ["-m", module], {}
    package = Path(__file__).resolve().parent
    root = sandbox.HARNESS_ROOT
    return python + ["-c", BOOT.format(root=root, module=module)], {f"{root}/grader/{f}": package / f for f in files}


def python_installation() -> list[str]:
    """The folders the child's Python reads: its prefixes and its standard and site-packages paths."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(sys.executable).resolve().parent)}
    for scheme_path in sysconfig.get_paths().values():
        paths.add(scheme_path)
    # site folders reached through another environment (--system-site-packages, a .pth that adds one)
    paths.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    return [p for p in paths if os.path.isdir(p) and Path(p).resolve() != Path("/")]


def grader_tree() -> list[Path]:
    """The grader's own files, held back from the child wherever they lie (an installed package, or
    the whole checkout of an editable install, with its tests and exercises)."""
    package = Path(__file__).resolve().parent
    checkout = package.parent
    return [package, checkout] if (checkout / "pyproject.toml").is_file() else [package]


def run_submission(source: Source, task: Task, limits: Limits, *, seed: int | None, stage=None, hide=(),
                   isolation: str | None = None, progress=None, on_exit=None) -> RunResult:
    """Run ``source`` in a child. ``stage(workdir) -> Staged`` puts the student's data in place;
    ``hide`` lists folders the child must not see (hidden specs, solutions, held-out data) should they
    lie inside what it may read; ``progress(event: dict)`` receives the harness's phase and per-epoch
    events as they happen; ``on_exit()`` is called the moment the child has ended (what follows, reading
    what it left and removing its folders, is the trusted side's own work)."""
    base = work_base()
    sweep_stale(base)
    memory = memory_base(limits.disk_mib + IN_MEMORY_STATE_MIB) if task.verify else None  # (states written fast)
    if memory is not None:
        sweep_stale(memory)
    workdir, artifacts = work_folder("run", base), work_folder("artifacts", memory or base)
    try:
        return _run(source, task, limits, seed, stage, [*hide, *grader_tree()], isolation, progress,
                    workdir, artifacts, on_exit, in_memory=memory is not None)
    except BaseException:
        remove_tree(artifacts)
        raise
    finally:
        remove_tree(workdir)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def entry_values(args, staged) -> list:
    """The entry point's arguments: a name the dataset stages (``train_dir``) becomes its path; a name it
    does not stage is the spec's mistake, said at once (passed on as text, ``val_dir`` made the reference
    solution fail as if the student had looked in the wrong place)."""
    from grader.exercise import ExerciseError

    out = []
    for a in args:
        if staged and isinstance(a, str) and a in staged.paths:
            out.append(staged.paths[a])
        elif staged and isinstance(a, str) and _NAME.fullmatch(a):
            raise ExerciseError(f"[submission] entry_args names '{a}', which the exercise's dataset does not provide; "
                                f"it provides: {', '.join(sorted(staged.paths)) or 'no names'}.")
        else:
            out.append(a)
    return out


def _run(source, task, limits, seed, stage, hide, isolation, progress, workdir: Path, artifacts: Path,
         on_exit=None, in_memory: bool = False) -> RunResult:
    (workdir / "tmp").mkdir()
    name = source.filename if source.kind == "python" else Path(source.filename).stem + "_notebook.py"
    source_path = workdir / name
    source_path.write_text(source.text, encoding="utf-8")
    staged = stage(workdir) if stage is not None else None
    own_paths, archives, served = datapaths.serve(source.text, staged, workdir)
    if own_paths:
        staged.links = {**staged.links, **own_paths}
    links = place_aliases(staged, workdir) if staged is not None else {}
    if not any(p == COLAB_HOME or p.startswith(COLAB_HOME + "/") for p in links):
        links[COLAB_HOME] = str(workdir)  # Colab's working folder: `!wget -P /content/ URL` writes there
    started = time.time()
    time_limit = limits.time_s
    # Training stops at the budget so the model trained so far can still be saved and graded.
    reserve = min(max(3.0, 0.1 * time_limit), 20.0)
    job = {
        "source": str(source_path),
        "filename": source.filename,
        "line_map": source.line_map,
        "continue_after_error": task.continue_after_error,
        "artifacts": str(artifacts),
        "entry_point": task.entry_point,
        "entry_args": entry_values(task.entry_args, staged),
        "downloads": staged.downloads if staged else {},
        "loaders": staged.loaders if staged else {},
        "model_variable": task.model_variable,
        "runtime": task.runtime,
        "archives": archives,  # the course's zips the program opens at a path of its own: built before it runs
        "served_paths": served,
        "max_epochs": limits.max_epochs,
        "seed": seed,
        # the states saved to replay parts of training: in memory, beside the disk limit (the watch leaves that
        # much of the artifacts folder out); on a disk, a quarter of the disk limit at most, counted against it
        "state_budget_mib": IN_MEMORY_STATE_MIB if in_memory else min(STATE_BUDGET_MIB, limits.disk_mib // 4),
        "rows_budget_mib": min(STATE_BUDGET_MIB, limits.disk_mib // 4) // 2,  # (the rows a replay needs, either way)
        "verify": task.verify,
        "train_deadline": started + max(time_limit - reserve, 0.5 * time_limit),
    }
    env = child_environment(workdir)
    if staged is not None:
        env.update(staged.env)
    # the artifacts folder in memory (a tmpfs) counts in the cgroup as the program's own: the cgroup holds
    # what the disk limit lets it write there besides the memory limit, and the watch leaves it out
    held_mib = limits.memory_mib + (limits.disk_mib + IN_MEMORY_STATE_MIB if in_memory else 0)
    box = sandbox.open_sandbox(held_mib, limits.processes, isolation, limits.file_mib * 2**20)
    argv, harness = python_command(box, "grader.harness", HARNESS_FILES)
    view = sandbox.View(workdir=workdir, artifacts=artifacts, readable=python_installation(), harness=harness,
                        hide=list(hide), network=limits.network, links=links)
    box.prepare(view)
    command = box.command(argv, view)
    # events (progress, and the commitments to training) travel on a pipe of their own
    events_read, events_write = os.pipe()
    job["progress_fd"] = events_write
    ledger = Commitments(started)
    try:
        proc = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, pass_fds=(events_write,) + box.pass_fds,
        )
    except BaseException:
        box.close()
        os.close(events_read)
        raise
    finally:
        box.started()
        os.close(events_write)
    relay = threading.Thread(target=relay_events, args=(events_read, progress, ledger, started, time_limit),
                             daemon=True)
    relay.start()
    capture = OutputCapture(proc.stdout)
    try:  # the job goes in on stdin: no path to the artifacts in the child's arguments
        proc.stdin.write(json.dumps(job).encode())
        proc.stdin.close()
    except OSError:
        pass
    waited: dict = {}

    def wait():
        _, status, usage = os.wait4(proc.pid, 0)
        waited.update(status=status, usage=usage)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    try:
        stopped = _watch(proc, box, waiter, limits, started, workdir, artifacts, in_memory)
        timed_out = waiter.is_alive()
        if timed_out:
            harness_pid = _harness_pid(proc.pid)
            if harness_pid is not None:  # the harness saves what was trained so far
                _signal(harness_pid, signal.SIGTERM, group=False)
            waiter.join(timeout=min(reserve, 5.0))
            _stop(proc, box)
            waiter.join()
    finally:
        _stop(proc, box)  # nothing the submission started survives it, whatever happened here
        if on_exit is not None:
            on_exit()
    relay.join(timeout=5.0)  # the pipe's last events, written before the child ended
    if stopped is None and \
            disk_used((workdir, artifacts), proc.pid, _beside(artifacts, in_memory))[0] > limits.disk_mib:
        stopped = "disk"  # written faster than the watch looks, and left behind: over the limit all the same
    proc.returncode = 0  # reaped by wait4 above; stop Popen from waiting again
    memory_exceeded = stopped == "memory" or bool(box.cgroup and box.cgroup.oom_killed())
    peak = box.cgroup.peak_memory_mib() if box.cgroup else None
    held = box.cgroup.memory_limit_mib() if box.cgroup else None
    box.close()
    duration = time.time() - started
    raw = waited.get("status", 0)
    exit_code = os.waitstatus_to_exitcode(raw)
    if box.mode == "bubblewrap" and exit_code - 128 in CRASH_SIGNALS:
        exit_code = 128 - exit_code  # bwrap reports a program killed by signal N as exit code 128 + N
    sig = -exit_code if exit_code < 0 else None
    head, tail = capture.texts()
    outputs = {}
    for path in task.outputs:
        place = child_path(workdir, path)
        outputs[path] = inventory(place) if place is not None else {"files": [], "links": [], "error": "outside"}
    trace = read_trace(artifacts / "trace.json")
    model_path = artifacts / "model.keras"
    if trace.get("status") == "running":  # the trace saved after a fit: the program was stopped later, so
        model_path = artifacts / "checkpoint.keras"  # the model graded is the one saved when that fit ended
    status = trace.get("status") or ("timeout" if timed_out else "crashed")
    if status == "running":  # the trace saved after a fit: the program was stopped later, unannounced
        status = "crashed"
    if memory_exceeded:
        status = "memory"
    elif timed_out:
        status = "timeout"
    elif stopped == "disk":
        status = "disk"
    warnings = list(box.warnings)
    if held is not None and held != held_mib:
        warnings.append(f"The memory limit read back after the run was {held:g} MiB, not {held_mib} MiB.")
    return RunResult(
        status=status, exit_code=exit_code if exit_code >= 0 else None, signal=sig, timed_out=timed_out,
        duration_s=duration,
        peak_memory_mib=peak or (round(waited["usage"].ru_maxrss / 1024, 1) if "usage" in waited else None),
        output_head=head, output_tail=tail, output_bytes=capture.total, trace=trace,
        model_path=model_path if regular_file(model_path, MAX_MODEL_BYTES) else None,
        artifacts=artifacts, time_limit_s=time_limit, memory_limit_mib=limits.memory_mib,
        memory_exceeded=memory_exceeded, isolation=box.mode, warnings=warnings,
        disk_limit_mib=limits.disk_mib, disk_exceeded=stopped == "disk",
        data_places=([f"./{staged.home.name}", *staged.aliases] if staged.home else []) + list(staged.links)
        if staged is not None else [], outputs=outputs, commitments=ledger.received(),
        state_budget_mib=job["state_budget_mib"],
    )


CRASH_SIGNALS = {signal.SIGILL, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGKILL, signal.SIGSEGV}
MEMORY_POLL_S = 0.25
DISK_POLL_S = 1.0


def _beside(artifacts: Path, in_memory: bool) -> tuple | None:
    """The part of the artifacts folder held beside the disk limit: saved training states, in memory."""
    return (artifacts, IN_MEMORY_STATE_MIB) if in_memory else None


def _watch(proc, box: sandbox.Sandbox, waiter: threading.Thread, limits: Limits, started: float,
           workdir: Path, artifacts: Path, in_memory: bool = False) -> str | None:
    """Wait for the child until the wall clock runs out, stopping it at once when its own memory
    reaches the limit (a tree at its cgroup limit otherwise thrashes until the clock ends it) or its
    files exceed the disk limit. Returns "memory", "disk" or None. With ``in_memory`` (the artifacts
    folder on a tmpfs) the files there are disk, not the program's memory."""
    margin = max(32 * 2**20, limits.memory_bytes // 32)
    deadline = started + limits.time_s
    next_disk = time.time() + DISK_POLL_S
    while waiter.is_alive() and time.time() < deadline:
        waiter.join(timeout=min(MEMORY_POLL_S, max(0.0, deadline - time.time())))
        if not waiter.is_alive():
            break
        stopped = None
        if box.memory_in_use(proc.pid, beside=artifacts if in_memory else None) >= limits.memory_bytes - margin:
            stopped = "memory"
        elif time.time() >= next_disk:
            next_disk = time.time() + DISK_POLL_S
            used, entries = disk_used((workdir, artifacts), proc.pid, _beside(artifacts, in_memory))
            if used > limits.disk_mib or entries > MAX_ENTRIES:
                stopped = "disk"
        if stopped:
            _stop(proc, box)
            waiter.join()
            return stopped
    return None


def _stop(proc, box: sandbox.Sandbox):
    _signal(proc.pid, signal.SIGKILL, group=True)
    if box.cgroup:
        box.cgroup.kill_all()


def _signal(pid: int, sig: int, group: bool):
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
