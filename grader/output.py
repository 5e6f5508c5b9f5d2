"""Writing report files: atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def atomic_write(path, text: str):
    """Write ``text`` to ``path`` (``-`` means standard output)."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            os.fchmod(f.fileno(), 0o666 & ~current_umask())  # as any new file (mkstemp makes it private)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_writable(path, what: str) -> str | None:
    """Why a report could not be written to ``path`` (None when it can): checked before any training,
    by creating and removing a file beside it."""
    if str(path) == "-":
        return None
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder; give a file name for the {what} report."
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".check")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"Cannot write the {what} report to {path}: {exc.strerror or exc}."
    return None
