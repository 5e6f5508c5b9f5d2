"""Instructor tools: a new exercise from the scaffold, and the student bundle of an exercise."""

from __future__ import annotations

import re
import shutil
import tomllib
from importlib.resources import files
from pathlib import Path

from grader.exercise import Exercise, ExerciseError

BUNDLE_FILES = ("README.md", "starter.py", "spec.toml")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def new_exercise(name: str, dest: Path) -> Path:
    """Write the scaffold (public and hidden spec, starter, solution to fill in, README, one bad
    variant) to DEST/NAME; it passes ``grader exercise verify`` once the solution is written."""
    if not _NAME.fullmatch(name):
        raise ExerciseError(f"'{name}' cannot name an exercise: use lower-case letters, digits and _, starting "
                            "with a letter (it becomes a folder and a command-line argument).")
    target = Path(dest) / name
    if target.exists():
        raise ExerciseError(f"{target} already exists; choose another name or destination.")
    _make_folder(target)
    scaffold = Path(str(files("grader") / "scaffold"))
    title = name.replace("_", " ").capitalize()
    for source in sorted(scaffold.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        out = target / source.relative_to(scaffold)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(source.read_text(encoding="utf-8").replace("{name}", name).replace("{title}", title),
                       encoding="utf-8")
    return target


def _make_folder(target: Path):
    try:
        target.mkdir(parents=True)
    except OSError as exc:
        raise ExerciseError(f"Cannot create {target} ({exc.strerror}); give a destination folder.") from None


def allowed_values(ex: Exercise) -> set:
    """What hidden.toml's ``[release] allow`` says is public on purpose (values, or solution lines)."""
    path = ex.path / "hidden.toml"
    if not path.is_file():
        return set()
    return {str(v) for v in (tomllib.loads(path.read_text(encoding="utf-8")).get("release") or {}).get("allow", [])}


def hidden_markers(ex: Exercise) -> list[str]:
    """Text that would give a hidden check away: its name, title and hint, and each number it compares
    (other words, like the split it measures on, say nothing a student could use)."""
    path = ex.path / "hidden.toml"
    if not path.is_file():
        return []
    hidden = tomllib.loads(path.read_text(encoding="utf-8"))
    allowed = allowed_values(ex)
    public = " ".join(p.read_text(encoding="utf-8", errors="replace") for p in (ex.path / n for n in BUNDLE_FILES)
                      if p.is_file())
    markers = []
    for check in hidden.get("checks", []):
        for key, value in check.items():
            # a tolerance or margin gives nothing away; a threshold the task itself states is public
            if key in ("type", "points", "margin", "tolerance", "relative_tolerance"):
                continue
            if key == "threshold" and isinstance(value, (int, float)) and _states(public, f"{value:g}"):
                continue
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str) and key in ("name", "title", "hint") and len(v) >= 4:
                    markers.append(v)
                elif isinstance(v, (int, float)) and not isinstance(v, bool) and len(f"{abs(v):g}") >= 2:
                    markers.append(f"{v:g}")
    return [m for m in markers if m not in allowed]


def _number(m: str) -> str:
    return rf"(?<![\w.]){re.escape(m)}(?![\w]|\.\d)"


def _states(text: str, number: str) -> bool:
    return bool(re.search(_number(number), text))


def _statement(line: str) -> bool:
    """A whole statement, not a fragment of one spread over lines (an argument, a closing bracket)."""
    return (sum(line.count(c) for c in "([{") == sum(line.count(c) for c in ")]}")
            and not line.endswith((",", "\\", "(", "[", "{")))


def solution_lines(ex: Exercise) -> list[str]:
    """Statements of the reference solution that the starter does not have (long enough to mean something)."""
    if not ex.solution.is_file():
        return []
    starter = set(l.strip() for l in ex.starter.read_text(encoding="utf-8").splitlines()) if ex.starter.is_file() else set()
    allowed = allowed_values(ex)
    return [l.strip() for l in ex.solution.read_text(encoding="utf-8").splitlines()
            if len(l.strip()) >= 12 and not l.strip().startswith("#") and l.strip() not in starter
            and l.strip() not in allowed and _statement(l.strip())]


def leaks(ex: Exercise, folder: Path) -> list[str]:
    """Where a hidden value or a solution line appears in the files under ``folder``."""
    found = []
    markers = hidden_markers(ex)
    lines = solution_lines(ex)
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = f.read_text(encoding="utf-8", errors="replace")
        for m in markers:
            pattern = re.escape(m) if not re.fullmatch(r"-?[\d.e+-]+", m) else _number(m)
            if re.search(pattern, text):
                found.append(f"{f.relative_to(folder)} contains the hidden value {m!r}")
        for line in lines:
            if line in text:
                found.append(f"{f.relative_to(folder)} contains a line of the reference solution: {line!r}")
    return found


def starter_notebook(ex: Exercise, check_command: str | None = None) -> str:
    """The starter as a Jupyter notebook (nbformat 4.5): the task as markdown, then the starter's code,
    one cell per block (blocks are separated by two blank lines, as in PEP 8 files, or by ``# %%``),
    every code cell tagged ``graded`` (the tag the grader honours), so it opens in Jupyter and Colab."""
    import hashlib
    import json

    def source(text: str) -> list[str]:
        lines = text.strip("\n").split("\n")
        return [line + "\n" for line in lines[:-1]] + lines[-1:]

    def cell_id(kind: str, n: int) -> str:
        return hashlib.sha1(f"{ex.name}-{kind}-{n}".encode()).hexdigest()[:8]

    readme = ex.path / "README.md"
    task = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {ex.title}\n\n{ex.summary}\n"
    # the task's advice to fetch the starter with `grader init` is for the .py hand-out: this notebook is it
    task = "\n\n".join(p for p in task.split("\n\n") if "grader init" not in p)
    cells = [{"cell_type": "markdown", "id": cell_id("md", 0), "metadata": {}, "source": source(task)},
             {"cell_type": "markdown", "id": cell_id("md", 1), "metadata": {},
              "source": source("Fill in the code cells below (they are tagged `graded`), then check your work "
                               + (check_command or f"with `grader grade {ex.name} this_notebook.ipynb`."))}]
    code = ex.starter.read_text(encoding="utf-8")
    blocks = [b for b in re.split(r"\n\s*\n\s*\n|^# %%.*$", code, flags=re.M) if b.strip()]
    for n, block in enumerate(blocks):
        cells.append({"cell_type": "code", "id": cell_id("code", n), "execution_count": None,
                      "metadata": {"tags": ["graded"]}, "outputs": [], "source": source(block)})
    notebook = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                             "language_info": {"name": "python"}}}
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def data_sentence(name: str, data: str) -> str:
    """How a student gets the dataset the hand-out's command needs, said in the hand-out."""
    return (f"The exercise trains on the dataset `{data}`: get it once with `grader --exercises {name} data fetch "
            f"{data}` (the real data, downloaded). Without a network, `grader --exercises {name} data synth data "
            f"{data}` makes a small stand-in in `data/`: then add `--data-dir data` to the command above.")


def release(ex: Exercise, dest: Path) -> Path:
    """The student bundle in DEST/NAME: README, starter (as .py and as a notebook), public spec, and how to
    run the public checks.
    Nothing hidden is copied; the bundle is checked for hidden values and solution lines, and removed
    if any is found."""
    target = Path(dest) / ex.name
    if target.exists():
        raise ExerciseError(f"{target} already exists; release into an empty destination.")
    missing = [n for n in ("starter.py", "spec.toml") if not (ex.path / n).is_file()]
    if missing:
        raise ExerciseError(f"{ex.path}: cannot release without {', '.join(missing)}.")
    plugins = [p for p in (ex.path / "plugin.py", ex.path.parent / "plugin.py") if p.is_file()]
    if len(plugins) == 2:
        raise ExerciseError(f"{ex.path} has a plugin.py of its own and its course has one too: a hand-out carries one. "
                            "Move the exercise's checks into the course's plugin.py and release again.")
    _make_folder(target)
    for name in BUNDLE_FILES:
        if (ex.path / name).is_file():
            shutil.copyfile(ex.path / name, target / name)
    if plugins:  # the public checks' own code: the hand-out's command needs it
        shutil.copyfile(plugins[0], target / "plugin.py")
    if not (target / "README.md").is_file():
        (target / "README.md").write_text(f"# {ex.title}\n\n{ex.summary}\n", encoding="utf-8")
    name, data = ex.name, ex.dataset.get("name") if ex.dataset.get("source", "registry") != "exercise" else None
    command = f"grader --exercises {name} grade {name} {name}/starter.py --public-only --html report.html"
    (target / "starter.ipynb").write_text(starter_notebook(ex, (
        f"from the folder that holds this `{name}/` folder, with the public checks (the notebook saved under its "
        f"own name):\n\n    {command.replace('starter.py', 'starter.ipynb')}\n\nthen open report.html."
        + (f" {data_sentence(name, data)}" if data else ""))), encoding="utf-8")
    (target / "CHECK-YOUR-WORK.md").write_text(
        f"# Checking your work on {name}\n\n"
        "Run the public checks on your file before you submit (`pip install` the grader your course names). "
        f"From the folder that holds this `{name}/` folder:\n\n"
        f"    {command}\n\n"
        f"then open report.html. Grade your own file the same way (`{name}/my_solution.py`, or the notebook "
        f"`{name}/starter.ipynb`). The checks that grade your submission include hidden ones, run only when you "
        "submit.\n" + (f"\n{data_sentence(name, data)}\n" if data else ""), encoding="utf-8")
    found = leaks(ex, target)
    if found:
        shutil.rmtree(target)
        raise ExerciseError(f"Not released: {'; '.join(found[:5])}. Remove them from the exercise's public files "
                            "and release again; a value that is meant to be public can be listed in hidden.toml as "
                            "[release] allow = [\"VALUE\", ...].")
    return target
