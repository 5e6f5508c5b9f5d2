"""Gradescope's autograder bundle for an exercise (``grader exercise gradescope NAME ZIP``), and the
runner inside it (``python -m grader.gradescope``, which the bundle's ``run_autograder`` calls).

The zip holds, at its root as Gradescope asks: ``setup.sh`` (installs Python, bubblewrap and this grader
from the bundle's own copy of its source, in a virtualenv), ``run_autograder``, ``grader-bundle.json``
(the exercise, its time limit under Gradescope's), ``source/`` (the grader at this version), ``course/``
(an exercise from a course folder, with the course's ``plugin.py``; hidden checks included: the bundle is
the instructor's, never the students'), and ``data/`` (the dataset the exercise needs, copied from where
this grader finds it, so nothing is downloaded while grading).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader import __version__

GRADESCOPE_TIMEOUT = 600  # seconds: Gradescope's default autograder timeout
OVERHEAD = 90  # seconds for the grader's own start, evaluation and reports, within Gradescope's timeout
SOURCE_PARTS = ("pyproject.toml", "README.md", "grader", "plugins", "exercises", "templates")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --disable-pip-version-check /autograder/source/source
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grades it into /autograder/results/results.json.
cd "${AUTOGRADER_ROOT:-/autograder}/source"
exec "${GRADER_PYTHON:-/autograder/venv/bin/python}" -m grader.gradescope "${AUTOGRADER_ROOT:-/autograder}"
"""


def _source_tree(dest: Path, keep_exercise: str | None):
    """This grader's source, installable with pip: the checkout it runs from (an editable install), with
    of the built-in exercises only ``keep_exercise`` (the others' hidden checks and solutions stay out)."""
    package = Path(__file__).resolve().parent
    checkout = package.parent
    if not (checkout / "pyproject.toml").is_file():
        from grader.exercise import ExerciseError

        raise ExerciseError("grader exercise gradescope bundles the grader's own source, and this grader is not "
                            f"installed from a source checkout ({package}). Install it with pip install -e from "
                            "its checkout, then build the bundle again.")
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")

    def only_this_exercise(where, names):
        if Path(where) == checkout / "exercises":
            return {n for n in names if (Path(where) / n).is_dir() and n != keep_exercise} | set(ignore(where, names))
        return set(ignore(where, names))

    for part in SOURCE_PARTS:
        src = checkout / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=only_this_exercise)
        elif src.is_file():
            shutil.copyfile(src, dest / part)


def build(ex, zip_path: Path, data_dir: Path | None = None, timeout_s: int = GRADESCOPE_TIMEOUT) -> dict:
    """Write the bundle for exercise ``ex`` to ``zip_path``; returns what went in it (for the command's summary)."""
    from grader import exercise as exercises
    from grader.grading import locate_all

    located, pretrained = locate_all(ex, data_dir)  # a missing dataset is a clear error before anything is written
    limit = min(ex.time_limit, timeout_s - OVERHEAD)
    if limit < 30:
        raise exercises.ExerciseError(f"Gradescope's timeout of {timeout_s} s leaves {limit:g} s for the program; "
                                      f"give --timeout of at least {OVERHEAD + 30} s (the exercise allows "
                                      f"{ex.time_limit:g} s).")
    from importlib.resources import files

    builtin = Path(str(files("grader.exercises"))).resolve()
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as tmp:
        root = Path(tmp) / "bundle"
        folder = ex.path.resolve()
        _source_tree(root / "source", ex.name if folder.parent == builtin else None)
        info = {"exercise": ex.name, "time_limit": limit, "grader_version": __version__, "course": False,
                "data": None, "stand_in": False}
        if folder.parent != builtin:  # an instructor's exercise: it travels with its course's plugin.py
            shutil.copytree(folder, root / "course" / ex.name, ignore=shutil.ignore_patterns("__pycache__"))
            if (folder.parent / "plugin.py").is_file():
                shutil.copyfile(folder.parent / "plugin.py", root / "course" / "plugin.py")
            info["course"] = True
        if located is not None:
            target = root / "data" / located.path.relative_to(located.root)
            shutil.copytree(located.path, target, symlinks=False)
            info["data"] = str(located.path.relative_to(located.root))
            info["stand_in"] = bool(located.synthetic)
        for weights in pretrained.values():  # the pre-trained weights the exercise serves travel beside it
            shutil.copytree(weights.path, root / "data" / weights.path.relative_to(weights.root), symlinks=False)
            info["data"] = info["data"] or str(weights.path.relative_to(weights.root))
            info["stand_in"] = info["stand_in"] or bool(weights.synthetic)
        (root / "grader-bundle.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            (root / name).write_text(text, encoding="utf-8")
        zip_path = Path(zip_path)
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    member = zipfile.ZipInfo.from_file(path, str(path.relative_to(root)))
                    if path.name in ("setup.sh", "run_autograder"):
                        member.external_attr = 0o100755 << 16
                    with open(path, "rb") as f:
                        z.writestr(member, f.read(), zipfile.ZIP_DEFLATED)
    return info


# ------------------------------------------------------------ inside Gradescope
def pick_submission(folder: Path, exercise: str) -> tuple[Path | None, str]:
    """The file to grade among what the student uploaded, wherever in the upload it is, and why."""
    found = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix in (".py", ".ipynb")
                   and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts))
    if not found:
        return None, ("No .py or .ipynb file was submitted, so there was nothing to grade. Upload your solution "
                      "(the .py file or the notebook) and submit again.")
    if len(found) == 1:
        return found[0], ""
    named = [p for p in found if exercise in p.stem] or [p for p in found if p.suffix == ".ipynb"] or found
    chosen = max(named, key=lambda p: (p.stat().st_mtime, str(p)))
    others = ", ".join(str(p.relative_to(folder)) for p in found if p != chosen)
    return chosen, f"Several files were submitted; the grader graded {chosen.relative_to(folder)} (not {others})."


def _write(results: Path, data: dict):
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def run(autograder: Path) -> int:
    source, submission = autograder / "source", autograder / "submission"
    results = autograder / "results" / "results.json"
    info = json.loads((source / "grader-bundle.json").read_text(encoding="utf-8"))
    exercise = info["exercise"]
    path, note = pick_submission(submission, exercise)
    if path is None:
        _write(results, {"score": 0, "output": note, "tests": [], "visibility": "visible"})
        return 0
    cmd = [sys.executable, "-m", "grader"]
    if info.get("course"):
        cmd += ["--exercises", str(source / "course")]
    cmd += ["grade", exercise, str(path), "--quiet", "--gradescope", str(results), "--time-limit",
            str(info["time_limit"]), "--submission-name", str(path.relative_to(submission))]
    if info.get("data"):
        cmd += ["--data-dir", str(source / "data")]
    results.unlink(missing_ok=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if not results.is_file():  # the grader could not grade it at all: say why, never leave Gradescope empty
        why = (done.stderr.strip().splitlines() or ["the grader ended without a result"])[-1]
        _write(results, {"score": 0, "output": f"The grader could not grade {path.name}: {why}", "tests": [],
                         "visibility": "visible"})
    elif note:
        data = json.loads(results.read_text(encoding="utf-8"))
        data["output"] = note + "\n" + data.get("output", "")
        _write(results, data)
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1] if len(sys.argv) > 1 else "/autograder")))
