"""A grading's process tree held to its limits and measured (parent side, trusted): one cgroup per
grading (v2, or v1's memory and pids hierarchies, where writable) caps memory (swap included) and the
number of processes and threads, reports peak memory and what the kernel killed, and kills what is
left at the end; without one, the tree's memory and the disk its deleted files still hold are read
from /proc. grader/sandbox.py puts the child in the cgroup; grader/runner.py and grader/workfolders.py
watch it with these.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from pathlib import Path


class Cgroup:
    """One cgroup per grading, under cgroup v2 or the v1 memory and pids hierarchies. Its name carries
    the grader's pid, so a grader killed outright leaves a folder the next grading removes."""

    PREFIX = "grader-"

    def __init__(self, memory_bytes: int, max_tasks: int):
        self.dirs: dict[str, Path] = {}
        self.memory_bytes = memory_bytes
        name = f"{self.PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        unified = Path("/sys/fs/cgroup")
        if (unified / "cgroup.controllers").is_file() and {"memory", "pids"} <= set(
                (unified / "cgroup.subtree_control").read_text().split()):
            _sweep(unified)
            d = unified / name
            d.mkdir()
            self.dirs = {"v2": d}
            (d / "memory.max").write_text(str(memory_bytes))
            _try_write(d / "memory.swap.max", "0")
            (d / "pids.max").write_text(str(max_tasks))
            return
        for ctrl in ("memory", "pids"):
            _sweep(Path("/sys/fs/cgroup") / ctrl)
            d = Path("/sys/fs/cgroup") / ctrl / name
            d.mkdir()
            self.dirs[ctrl] = d
        (self.dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
        _try_write(self.dirs["memory"] / "memory.memsw.limit_in_bytes", str(memory_bytes))  # no swapping past it
        (self.dirs["pids"] / "pids.max").write_text(str(max_tasks))

    def join_command(self) -> str:
        """Shell text that moves the shell itself into the cgroup before it execs the rest."""
        return " ".join(f"echo $$ > {d / 'cgroup.procs'};" for d in self.dirs.values())

    def _read(self, key: str, file: str) -> str:
        try:
            return (self.dirs[key] / file).read_text()
        except (KeyError, OSError):
            return ""

    def memory_limit_mib(self) -> float | None:
        """The limit as the kernel holds it now (read back after the run: what really held)."""
        raw = (self._read("memory", "memory.limit_in_bytes") or self._read("v2", "memory.max")).strip()
        return round(int(raw) / 2**20, 1) if raw.isdigit() else None

    def peak_memory_mib(self) -> float | None:
        raw = self._read("memory", "memory.max_usage_in_bytes") or self._read("v2", "memory.peak")
        return round(int(raw) / 2**20, 1) if raw.strip() else None

    def own_memory_bytes(self) -> int | None:
        """The program's own memory (anonymous and shared pages, not the page cache it can give back)."""
        parts = self.own_memory_parts()
        return None if parts is None else sum(parts)

    def own_memory_parts(self) -> tuple[int, int] | None:
        """The program's anonymous pages and its shared ones (tmpfs files among them), in bytes."""
        stat = self._read("memory", "memory.stat") or self._read("v2", "memory.stat")
        if not stat:
            return None
        values = dict(line.split()[:2] for line in stat.splitlines() if len(line.split()) >= 2)
        keys = ("total_rss", "total_shmem") if "memory" in self.dirs else ("anon", "shmem")
        return int(values.get(keys[0], 0)), int(values.get(keys[1], 0))

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
            _kill_members(d)

    def remove(self):
        for d in self.dirs.values():
            _remove(d)


def _try_write(path: Path, value: str):
    try:
        path.write_text(value)
    except OSError:
        pass  # no swap accounting on this kernel: nothing to cap


def _kill_members(d: Path):
    try:
        pids = (d / "cgroup.procs").read_text().split()
    except OSError:
        return
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError, PermissionError):
            pass


def _remove(d: Path):
    for _ in range(50):
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            _kill_members(d)
            time.sleep(0.05)


def _sweep(parent: Path):
    """Remove the cgroups of graders that no longer run (killed before they could clean up)."""
    for d in parent.glob(f"{Cgroup.PREFIX}*"):
        owner = d.name[len(Cgroup.PREFIX):].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _remove(d)


def make_cgroup(memory_mib: int, max_tasks: int) -> Cgroup | None:
    try:
        return Cgroup(memory_mib * 2**20, max_tasks)
    except OSError:
        return None


def tree_memory_bytes(pid: int) -> int:
    """Anonymous and shared resident memory of ``pid`` and every process below it (no cgroup)."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(("RssAnon:", "RssShmem:")):
                total += int(line.split()[1]) * 1024
    return total


def open_deleted_bytes(pid: int) -> int:
    """Disk held by files that ``pid`` or a process below it deleted but keeps open or mapped into memory
    (they fill the disk while no folder shows them; a mapping needs no open file)."""
    seen, total = set(), 0
    for p in [pid, *descendants(pid)]:
        held = []
        for kind in ("fd", "map_files"):
            try:
                held += [f"/proc/{p}/{kind}/{name}" for name in os.listdir(f"/proc/{p}/{kind}")]
            except OSError:
                continue
        for path in held:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 0 and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, whatever session or process group it put itself in."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:  # a process can end at any moment while its tree is walked
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out
