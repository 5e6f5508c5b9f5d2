"""The child's working folders on the trusted side: where they go, how much disk they hold (measured
while the child runs), and removing them whatever the child left in them."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from grader import cgroups

def work_base() -> str | None:
    """Where working folders go: GRADER_WORK_DIR, else /var/tmp, else the system's temp folder. Not
    /tmp itself, which the sandbox replaces with the child's own."""
    for candidate in (os.environ.get("GRADER_WORK_DIR"), "/var/tmp"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return candidate
    return None


IN_MEMORY = "/dev/shm"


def memory_base(room_mib: int) -> str | None:
    """A folder in memory (the machine's tmpfs, /dev/shm) for the folder a verified run hands its model and
    saved states over in, when it has room for ``room_mib`` MiB four times over, in free space and in free
    memory: writing there costs a fraction of writing to a disk (a CNN's 72 MiB state: about 40 ms against
    150 ms on this machine's ext4), and nothing is written back to a disk that is gone seconds later. None
    where GRADER_WORK_DIR says where every working folder goes, or the machine has no such room (a
    container's 64 MiB /dev/shm): then the disk, as before."""
    if os.environ.get("GRADER_WORK_DIR") or not os.path.isdir(IN_MEMORY) or not os.access(IN_MEMORY, os.W_OK):
        return None
    try:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            kinds = {fields[1]: fields[2] for fields in (line.split() for line in f) if len(fields) > 2}
        fs = os.statvfs(IN_MEMORY)
        with open("/proc/meminfo", encoding="utf-8") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, ValueError, StopIteration):
        return None
    room = 4 * room_mib * 2**20
    if kinds.get(IN_MEMORY) != "tmpfs" or fs.f_bavail * fs.f_frsize < room or available < room:
        return None
    return IN_MEMORY


UNMEASURABLE = 2**62  # bytes: what a folder the grader cannot read counts as (over every limit)


def _entries(folder: Path, most: int | None = None):
    """(entry, its lstat) for everything under ``folder`` (symlinks not followed; iterative, so a folder
    nested thousands deep is walked, not a crash), the first ``most`` entries; what is removed while being
    walked is passed over. OSError for a folder or an entry that cannot be read."""
    todo, count = [str(folder)], 0
    while todo:
        try:
            with os.scandir(todo.pop()) as found:
                for e in found:
                    count += 1
                    if most is not None and count > most:
                        return
                    try:
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:  # (gone since the folder was listed: a state saved under its final name)
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        todo.append(e.path)
                    yield e, st
        except FileNotFoundError:
            continue


def folder_usage(folder: Path) -> tuple[int, int]:
    """Bytes of disk used under ``folder`` (files, folders and symlinks alike: 20,000 folders or long-target
    links are disk too) and how many entries it holds. A folder that cannot be read (a path past the
    system's length limit, a folder closed to the grader) would hide what it holds, so it counts as over
    the limit; one removed while being measured counts as nothing."""
    total, entries = 0, 0
    try:
        for _, st in _entries(folder):
            entries += 1
            total += st.st_blocks * 512
    except OSError:
        return total + UNMEASURABLE, entries
    return total, entries


def file_bytes(folder: Path, most: int = 100_000) -> int:
    """Bytes the regular files under ``folder`` take, each file once however many links name it (the first
    ``most`` entries, up to a folder that cannot be read: what this measures is taken off a count, never
    added, so what it cannot see only takes off less)."""
    seen, total = set(), 0
    try:
        for _, st in _entries(folder, most):
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    except OSError:
        pass
    return total


MAX_ENTRIES = 100_000  # files and folders together; cats_and_dogs_filtered has about 3,000


def disk_used(folders, pid: int, beside: tuple | None = None) -> tuple[float, int]:
    """MiB the program holds on disk (its folders, and files it deleted but keeps open) and entries.
    ``beside``: (one of ``folders``, MiB): that much of what the folder holds is left out (the states a
    verified run saves in memory, held beside the disk limit)."""
    used, entries = 0, 0
    for folder in folders:
        b, n = folder_usage(folder)
        if beside is not None and folder == beside[0]:
            b -= min(b, int(beside[1] * 2**20))
        used, entries = used + b, entries + n
    return (used + cgroups.open_deleted_bytes(pid)) / 2**20, entries


def child_path(workdir: Path, path: str) -> Path | None:
    """Where a path the program wrote to (``/tmp/cats-v-dogs``, ``data/split``) is on the trusted side:
    the child's /tmp and working folder are folders of ``workdir``; any other place it cannot write."""
    inside = Path(os.path.normpath(workdir / path))
    if inside == workdir or workdir in inside.parents:  # (first: a working folder may itself be under /tmp)
        return inside
    if inside.parts[:2] == ("/", "tmp"):
        return workdir / "tmp" / inside.relative_to("/tmp")
    return None


def inventory(root: Path, limit: int = MAX_ENTRIES) -> dict:
    """What the program left under ``root`` (read before its folders are removed, for checks of the files
    it was asked to write): {"files": [{"path": relative, "size": bytes, "sha256": hex}], "links": [...],
    "error": sentence or None}. Links are listed, never followed; only regular files are read."""
    import hashlib

    out = {"files": [], "links": [], "error": None}
    if not root.is_dir() or root.is_symlink():
        out["error"] = "missing" if not os.path.lexists(root) else "not a folder"
        return out
    todo = [root]
    while todo:
        folder = todo.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            out["error"] = f"{Path(folder).relative_to(root)} could not be read"
            return out
        for e in entries:
            relative = str(Path(e.path).relative_to(root))
            if len(out["files"]) + len(out["links"]) >= limit:
                out["error"] = f"more than {limit} entries"
                return out
            if e.is_symlink():
                out["links"].append(relative)
            elif e.is_dir(follow_symlinks=False):
                todo.append(Path(e.path))
            elif e.is_file(follow_symlinks=False):
                h = hashlib.sha256()
                try:
                    fd = os.open(e.path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
                    with os.fdopen(fd, "rb") as f:
                        size = 0
                        while chunk := f.read(1 << 20):
                            size += len(chunk)
                            h.update(chunk)
                except OSError:
                    out["error"] = f"{relative} could not be read"
                    return out
                out["files"].append({"path": relative, "size": size, "sha256": h.hexdigest()})
    return out


def remove_tree(path: Path):
    """Delete a folder the child wrote, whatever it holds (``rm`` walks any depth; Python 3.11's
    ``shutil.rmtree`` recurses once per level and fails on a folder nested thousands deep)."""
    if not os.path.lexists(path):
        return
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        pass
    if os.path.lexists(path):
        try:
            shutil.rmtree(path, ignore_errors=True)
        except RecursionError:
            pass


STALE = re.compile(r"grader-(run|artifacts|eval)-(\d+)-")


def sweep_stale(base: str | None):
    """Remove the folders of graders that no longer run (killed before they could clean up)."""
    folder = Path(base or tempfile.gettempdir())
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = STALE.match(name)
        if m and not Path(f"/proc/{m.group(2)}").exists():
            remove_tree(folder / name)


def work_folder(kind: str, base: str | None) -> Path:
    """A new folder for one grading: named with the grader's pid, so a killed grader's are found later."""
    return Path(tempfile.mkdtemp(prefix=f"grader-{kind}-{os.getpid()}-", dir=base))
