"""Run a submission in a child process under limits (parent side, trusted).

The child gets the public job only (no hidden spec), a whitelisted environment, a fresh
working directory, and ``python -I`` so files planted beside it cannot shadow real modules.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import sandbox
from grader.submission import Source

OUTPUT_HEAD = 8 * 1024
OUTPUT_TAIL = 24 * 1024
MAX_TRACE_BYTES = 20 * 1024 * 1024
MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024
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


def regular_file(path: Path, max_bytes: int) -> bool:
    """True if ``path`` is a plain file the child wrote (no symlink, FIFO, device or hard link)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_size <= max_bytes


def read_trace(path: Path) -> dict:
    if not regular_file(path, MAX_TRACE_BYTES):
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def work_base() -> str | None:
    """Where working folders go: GRADER_WORK_DIR, else /var/tmp, else the system's temp folder. Not
    /tmp itself, which the sandbox replaces with the child's own."""
    for candidate in (os.environ.get("GRADER_WORK_DIR"), "/var/tmp"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return candidate
    return None


def folder_mib(folder: Path) -> float:
    """Disk used by the files under ``folder`` (symlinks not followed)."""
    total, todo = 0, [str(folder)]
    while todo:
        try:
            with os.scandir(todo.pop()) as entries:
                for e in entries:
                    if e.is_dir(follow_symlinks=False):
                        todo.append(e.path)
                    elif e.is_file(follow_symlinks=False):
                        total += e.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total / 2**20


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


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, whatever session or process group it put itself in."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*/children") if Path(f"/proc/{p}").exists() else []:
            try:
                kids = [int(k) for k in task.read_text().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


def _harness_pids(pid: int) -> list[int]:
    """The harness process (inside any namespace wrapper), to ask it to save what it has trained."""
    found = []
    for p in [pid] + descendants(pid):
        try:
            if b"grader.harness" in Path(f"/proc/{p}/cmdline").read_bytes():
                found.append(p)
        except OSError:
            pass
    return found[:1]


def run_submission(source: Source, *, time_limit: float, max_epochs: int | None, seed: int | None,
                   entry_point: str | None, model_variable: str, entry_args=(),
                   stage=None, memory_mib: int = 6144, max_tasks: int = 1024, max_file_bytes: int = 2**31,
                   hide=(), isolation: str | None = None, network: bool = False,
                   disk_mib: int = 8192, progress=None, continue_after_error: bool = False) -> RunResult:
    """Run ``source`` in a child. ``stage(workdir) -> Staged`` puts the student's data in place;
    ``hide`` lists folders the child must not see (hidden specs, solutions, held-out data);
    ``progress(event: dict)`` receives the harness's phase and per-epoch events as they happen."""
    base = work_base()
    workdir = Path(tempfile.mkdtemp(prefix="grader-run-", dir=base))
    artifacts = Path(tempfile.mkdtemp(prefix="grader-artifacts-", dir=base))
    (workdir / "tmp").mkdir()
    name = source.filename if source.kind == "python" else Path(source.filename).stem + "_notebook.py"
    source_path = workdir / name
    source_path.write_text(source.text, encoding="utf-8")
    staged = stage(workdir) if stage is not None else None
    started = time.time()
    # Training stops at the budget so the model trained so far can still be saved and graded.
    reserve = min(max(3.0, 0.1 * time_limit), 20.0)
    job = {
        "source": str(source_path),
        "filename": source.filename,
        "line_map": source.line_map,
        "continue_after_error": continue_after_error,
        "artifacts": str(artifacts),
        "entry_point": entry_point,
        "entry_args": [staged.paths[a] if staged and a in staged.paths else a for a in entry_args],
        "downloads": staged.downloads if staged else {},
        "model_variable": model_variable,
        "max_epochs": max_epochs,
        "seed": seed,
        "train_deadline": started + max(time_limit - reserve, 0.5 * time_limit),
    }
    env = child_environment(workdir)
    if staged is not None:
        env.update(staged.env)
    box = sandbox.open_sandbox(memory_mib, max_tasks, isolation, max_file_bytes)
    keep = [workdir, artifacts, sys.prefix, sys.base_prefix, Path(sys.executable).resolve().parent,
            Path(__file__).resolve().parent, *[p for p in sys.path if p and os.path.isdir(p)]]
    # -u: prints and warnings reach the captured output in the order the program made them
    command = box.command([sys.executable, "-I", "-u", "-m", "grader.harness"], sandbox.paths_to_hide(hide, keep),
                          private_tmp=workdir / "tmp", keep=keep, network=network)
    # progress events travel on a pipe of their own, opened only when someone listens
    events_read, events_write = os.pipe() if progress is not None else (None, None)
    job["progress_fd"] = events_write
    proc = subprocess.Popen(
        command, cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, pass_fds=(events_write,) if events_write is not None else (),
    )
    if events_write is not None:
        os.close(events_write)
        threading.Thread(target=_relay_events, args=(events_read, progress, started, time_limit), daemon=True).start()
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
    disk_exceeded = False
    while waiter.is_alive() and time.time() < started + time_limit:
        waiter.join(timeout=min(1.0, max(0.0, started + time_limit - time.time())))
        if waiter.is_alive() and folder_mib(workdir) + folder_mib(artifacts) > disk_mib:
            disk_exceeded = True
            _signal(proc.pid, signal.SIGKILL, group=True)
            if box.cgroup:
                box.cgroup.kill_all()
            waiter.join()
    timed_out = waiter.is_alive()
    if timed_out:
        for pid in _harness_pids(proc.pid):  # the harness saves what was trained so far
            _signal(pid, signal.SIGTERM, group=False)
        waiter.join(timeout=min(reserve, 5.0))
        _signal(proc.pid, signal.SIGKILL, group=True)
        waiter.join()
    _signal(proc.pid, signal.SIGKILL, group=True)  # nothing the submission started survives it
    proc.returncode = 0  # reaped by wait4 above; stop Popen from waiting again
    memory_exceeded = bool(box.cgroup and box.cgroup.oom_killed())
    peak = box.cgroup.peak_memory_mib() if box.cgroup else None
    box.close()
    duration = time.time() - started
    raw = waited.get("status", 0)
    exit_code = os.waitstatus_to_exitcode(raw)
    sig = -exit_code if exit_code < 0 else None
    head, tail = capture.texts()
    trace = read_trace(artifacts / "trace.json")
    model_path = artifacts / "model.keras"
    status = trace.get("status") or ("timeout" if timed_out else "crashed")
    if timed_out:
        status = "timeout"
    elif memory_exceeded:
        status = "memory"
    elif disk_exceeded:
        status = "disk"
    result = RunResult(
        status=status, exit_code=exit_code if exit_code >= 0 else None, signal=sig, timed_out=timed_out,
        duration_s=duration,
        peak_memory_mib=peak or (round(waited["usage"].ru_maxrss / 1024, 1) if "usage" in waited else None),
        output_head=head, output_tail=tail, output_bytes=capture.total, trace=trace,
        model_path=model_path if regular_file(model_path, MAX_MODEL_BYTES) else None,
        artifacts=artifacts, time_limit_s=time_limit, memory_limit_mib=memory_mib,
        memory_exceeded=memory_exceeded, isolation=box.mode, warnings=box.warnings,
        disk_limit_mib=disk_mib, disk_exceeded=disk_exceeded,
    )
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def _relay_events(fd: int, progress, started: float, time_limit: float):
    """Drain the child's event pipe (always, so the child never blocks on it); pass each event on."""
    with os.fdopen(fd, "rb") as stream:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                event["time_left_s"] = max(0.0, started + time_limit - time.time())
                try:
                    progress(event)
                except Exception:
                    pass


def _signal(pid: int, sig: int, group: bool):
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
