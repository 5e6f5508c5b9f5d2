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
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
