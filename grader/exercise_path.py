"""Exercises from folders outside any package: ``grader --exercises PATH`` or ``GRADER_EXERCISES_PATH``
(several paths separated by ``os.pathsep``). A path is one exercise folder (it holds spec.toml) or a
folder of exercise folders."""

from __future__ import annotations

import os
from pathlib import Path


def path_entries() -> list[Path]:
    """The folders named on GRADER_EXERCISES_PATH, as given."""
    return [Path(e) for e in os.environ.get("GRADER_EXERCISES_PATH", "").split(os.pathsep) if e.strip()]


def path_exercises() -> list[Path]:
    folders = []
    for path in path_entries():
        if (path / "spec.toml").is_file():
            folders.append(path.resolve())
        elif path.is_dir():
            folders += [f.resolve() for f in sorted(path.iterdir()) if (f / "spec.toml").is_file()]
    return folders
