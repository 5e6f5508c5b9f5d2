"""The child's working folders on the trusted side: where they go, how much disk they hold (measured
while the child runs), and removing them whatever the child left in them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader import sandbox

def work_base() -> str | None:
    """Where working folders go: GRADER_WORK_DIR, else /var/tmp, else the system's temp folder. Not
    /tmp itself, which the sandbox replaces with the child's own."""
    for candidate in (os.environ.get("GRADER_WORK_DIR"), "/var/tmp"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return candidate
    return None


UNMEASURABLE = 2**62  # bytes: what a folder the grader cannot read counts as (over every limit)


def folder_usage(folder: Path) -> tuple[int, int]:
    """Bytes of disk used under ``folder`` (files, folders and symlinks alike: 20,000 folders or long-target
    links are disk too) and how many entries it holds (symlinks not followed; iterative, so a folder
    nested thousands deep is measured, not a crash). A folder that cannot be read (a path past the
    system's length limit, a folder closed to the grader) would hide what it holds, so it counts as
    over the limit; one removed while being measured counts as nothing."""
    total, entries, todo = 0, 0, [str(folder)]
    while todo:
        try:
            with os.scandir(todo.pop()) as found:
                for e in found:
                    entries += 1
                    if e.is_dir(follow_symlinks=False):
                        todo.append(e.path)
                    total += e.stat(follow_symlinks=False).st_blocks * 512
        except FileNotFoundError:
            continue
        except OSError:
            return total + UNMEASURABLE, entries
    return total, entries


MAX_ENTRIES = 100_000  # files and folders together; cats_and_dogs_filtered has about 3,000


def disk_used(folders, pid: int) -> tuple[float, int]:
    """MiB the program holds on disk (its folders, and files it deleted but keeps open) and entries."""
    used, entries = 0, 0
    for folder in folders:
        b, n = folder_usage(folder)
        used, entries = used + b, entries + n
    return (used + sandbox.open_deleted_bytes(pid)) / 2**20, entries


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
