"""Isolation for the child, using what the machine offers (parent side, trusted).

Modes, strongest first (the report names the mode, and warns when it is not the strongest):
- ``namespaces``: ``unshare`` gives the child its own /tmp (a folder of its working directory), its own
  PID namespace (it cannot see or signal the
  grader; when it ends, every process it started ends with it, ``setsid`` or not), its own mount
  namespace (empty tmpfs mounted over the exercise folders, dataset folders and caches: hidden
  specs, reference solutions and held-out data are not there to read), its own network namespace
  (no network, loopback included), and no capabilities (it cannot undo those mounts).
- ``process-group``: the child leads its own process group, killed as a whole at the end. A
  process that calls ``setsid()`` escapes it, and nothing is hidden from the filesystem.
Independently, a cgroup (v1 or v2, where writable) caps memory and the number of processes and
threads, and measures peak memory for the whole tree; ``ulimit -f`` (RLIMIT_FSIZE) caps the size of
any file.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# $1: the child's own /tmp; $2: how many folders under /tmp it must still see (the Python installation,
# the grader's code, its working folders, when they live under /tmp), then those folders, then folders
# to hide, then --, then the command. Hide first, then bind the kept folders into the new /tmp
# (recursively, so hidden mounts below them stay hidden), then put the new /tmp in place.
HIDE_SCRIPT = (
    'tmp="$1"; n="$2"; shift 2; keep=""; i=0; '
    'while [ "$i" -lt "$n" ]; do keep="$keep $1"; shift; i=$((i+1)); done; '
    'while [ "$1" != -- ]; do mount -t tmpfs -o size=16k,mode=000 grader-hidden "$1" || exit 97; shift; done; '
    'shift; for k in $keep; do rel="${k#/tmp/}"; mkdir -p "$tmp/$rel" && mount --rbind "$k" "$tmp/$rel" '
    '|| exit 95; done; mount --rbind "$tmp" /tmp || exit 96; exec "$@"')
DROP_PRIVILEGES = ["setpriv", "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all"]


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    try:
        probe = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--net",
                                "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt 2>/dev/null ||"
                                " mount -t tmpfs none /tmp"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


class Cgroup:
    """One cgroup per grading, under cgroup v2 or the v1 memory and pids hierarchies."""

    def __init__(self, memory_bytes: int, max_tasks: int):
        self.dirs: dict[str, Path] = {}
        name = f"grader-{uuid.uuid4().hex[:12]}"
        unified = Path("/sys/fs/cgroup")
        if (unified / "cgroup.controllers").is_file() and {"memory", "pids"} <= set(
                (unified / "cgroup.subtree_control").read_text().split()):
            d = unified / name
            d.mkdir()
            (d / "memory.max").write_text(str(memory_bytes))
            (d / "pids.max").write_text(str(max_tasks))
            self.dirs = {"v2": d}
            return
        for ctrl, file, value in (("memory", "memory.limit_in_bytes", memory_bytes), ("pids", "pids.max", max_tasks)):
            d = Path("/sys/fs/cgroup") / ctrl / name
            d.mkdir()
            self.dirs[ctrl] = d
            (d / file).write_text(str(value))

    def join_command(self) -> str:
        """Shell text that moves the shell itself into the cgroup before it execs the rest."""
        return " ".join(f"echo $$ > {d / 'cgroup.procs'};" for d in self.dirs.values())

    def _read(self, key: str, file: str) -> str:
        try:
            return (self.dirs[key] / file).read_text()
        except (KeyError, OSError):
            return ""

    def peak_memory_mib(self) -> float | None:
        raw = self._read("memory", "memory.max_usage_in_bytes") or self._read("v2", "memory.peak")
        return round(int(raw) / 2**20, 1) if raw.strip() else None

    def oom_killed(self) -> bool:
        text = self._read("memory", "memory.oom_control") or self._read("v2", "memory.events")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                return True
        return False

    def tasks_limited(self) -> bool:
        text = self._read("pids", "pids.events") or self._read("v2", "pids.events")
        return any(line.startswith("max ") and line.split()[1] != "0" for line in text.splitlines())

    def kill_all(self):
        for d in self.dirs.values():
            for pid in (d / "cgroup.procs").read_text().split() if (d / "cgroup.procs").exists() else []:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError, PermissionError):
                    pass

    def remove(self):
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.05)


def make_cgroup(memory_mib: int, max_tasks: int) -> Cgroup | None:
    try:
        return Cgroup(memory_mib * 2**20, max_tasks)
    except OSError:
        return None


@dataclass
class Sandbox:
    mode: str
    cgroup: Cgroup | None
    warnings: list = field(default_factory=list)
    max_file_bytes: int = 2**31

    def command(self, argv: list[str], hide: list[Path], private_tmp: Path, keep=(),
                network: bool = False) -> list[str]:
        """The command line that runs ``argv`` in this sandbox. In namespaces mode the child's /tmp is
        ``private_tmp`` (course code writes to /tmp/...; gradings must not see each other's files);
        folders in ``keep`` that live under /tmp stay visible at their own paths."""
        inner = list(argv)
        if self.mode == "namespaces":
            under_tmp = outermost(p for p in keep if Path(p).is_dir() and Path("/tmp") in Path(p).resolve().parents)
            inner = (["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
                      *([] if network else ["--net"]), "--propagation", "private",
                      "sh", "-c", HIDE_SCRIPT, "sh", str(private_tmp), str(len(under_tmp)), *under_tmp,
                      *map(str, hide), "--"] + DROP_PRIVILEGES + inner)
        join = self.cgroup.join_command() if self.cgroup is not None else ""
        # The shell joins the cgroup and sets the file-size limit (ulimit -f counts 512-byte blocks),
        # then becomes the rest: no preexec_fn, which is unsafe while the grader runs threads.
        return ["sh", "-c", f'{join} ulimit -f {self.max_file_bytes // 512} && exec "$@"', "sh", *inner]

    def close(self):
        if self.cgroup is not None:
            self.cgroup.kill_all()
            self.cgroup.remove()


def open_sandbox(memory_mib: int, max_tasks: int, isolation: str | None = None,
                 max_file_bytes: int = 2**31) -> Sandbox:
    """The strongest sandbox this machine offers, or the weaker one ``isolation`` (or the environment
    variable GRADER_ISOLATION) asks for: "auto" (default) or "process-group"."""
    isolation = isolation or os.environ.get("GRADER_ISOLATION") or "auto"
    if isolation == "process-group":
        return Sandbox("process-group", None, ["Isolation was reduced on request (GRADER_ISOLATION=process-group): "
                                               "no namespaces and no cgroup limits for this grading."],
                       max_file_bytes)
    warnings = []
    mode = "process-group"
    if namespaces_available():
        mode = "namespaces"
    else:
        warnings.append("Isolation is weaker on this machine: Linux namespaces are not available (unshare "
                        "failed), so the submission could read files the grader can read, use the network, "
                        "and leave processes behind by calling setsid().")
    cgroup = make_cgroup(memory_mib, max_tasks)
    if cgroup is None:
        warnings.append(f"No writable cgroup: the memory limit ({memory_mib} MiB) and the process limit "
                        f"({max_tasks}) are not enforced, and peak memory counts the main process only.")
    return Sandbox(mode, cgroup, warnings, max_file_bytes)


def outermost(paths) -> list[str]:
    """The resolved folders of ``paths`` that are not inside another of them."""
    resolved = sorted({str(Path(p).resolve()) for p in paths})
    return [p for p in resolved if not any(p != q and p.startswith(q + "/") for q in resolved)]


def paths_to_hide(candidates, keep) -> list[Path]:
    """Existing folders among ``candidates`` that hold nothing in ``keep`` (the child's own folders,
    the Python installation, the grader's code)."""
    keep = [Path(k).resolve() for k in keep]
    out = []
    for c in candidates:
        try:
            p = Path(c).resolve()
        except OSError:
            continue
        if not p.is_dir() or p == Path("/") or p in out:
            continue
        if any(k == p or p in k.parents for k in keep):
            continue
        out.append(p)
    return out
