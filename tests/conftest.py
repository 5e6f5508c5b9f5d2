import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

# Only the built-in plugins: nothing installed on the machine leaks into the tests.
os.environ["GRADER_NO_ENTRY_POINTS"] = "1"
# Nothing from the machine's own dataset folders or caches either.
_ISOLATED = Path(tempfile.mkdtemp(prefix="grader-tests-"))
os.environ["KERAS_HOME"] = str(_ISOLATED / "keras-home")
os.environ["GRADER_CACHE_DIR"] = str(_ISOLATED / "cache")
os.environ.pop("GRADER_DATA_DIR", None)
os.environ.pop("GRADER_EXERCISES_PATH", None)
# The sample third-party plugin, importable in-process (test_authoring also pip-installs it).
sys.path.insert(0, str(Path(__file__).resolve().parent / "sample_plugin"))

from grader.cli import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"


def run_cli(*args):
    """Run the grader command in-process, as a command of its own: what it puts in the environment for
    its workers (GRADER_EXERCISES_PATH) does not outlive it. Returns click's Result (exit_code, output)."""
    saved = os.environ.get("GRADER_EXERCISES_PATH")
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        if saved is None:
            os.environ.pop("GRADER_EXERCISES_PATH", None)
        else:
            os.environ["GRADER_EXERCISES_PATH"] = saved


@pytest.fixture
def grade_file(tmp_path):
    """Grade a submission (path, or source text written to a file) and return (result, report dict)."""

    def grade(submission, exercise="hello_world", name="submission.py", extra=(), expect_exit=None):
        if not isinstance(submission, Path):
            path = tmp_path / name
            path.write_text(submission, encoding="utf-8")
            submission = path
        out = tmp_path / "report.json"
        result = run_cli("grade", exercise, submission, "--json", out, *extra)
        report = json.loads(out.read_text(encoding="utf-8"))
        return result, report

    return grade


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    """Stand-ins for every registered dataset, written once by the real command."""
    root = tmp_path_factory.mktemp("standin")
    result = run_cli("data", "synth", root)
    assert result.exit_code == 0, result.output
    return root


def grade_reference(exercise, out, *extra):
    """Grade an exercise's reference solution with JSON and HTML reports: (result, report, html)."""
    result = run_cli("grade", exercise, EXERCISES / exercise / "solution.py", "--json", out / "r.json",
                     "--html", out / "r.html", *extra)
    return result, json.loads((out / "r.json").read_text()), (out / "r.html").read_text()


def hello_world_with(folder: Path, **limits):
    """A copy of hello_world in ``folder`` whose [limits] add ``limits`` (memory_mib=1024, ...)."""
    import shutil

    from grader.exercise import load_exercise

    shutil.copytree(EXERCISES / "hello_world", folder)
    extra = "".join(f"\n{k} = {v}" for k, v in limits.items())
    spec = (folder / "spec.toml").read_text().replace("max_epochs = 1000", "max_epochs = 1000" + extra)
    (folder / "spec.toml").write_text(spec)
    return load_exercise(folder)


def by_name(report):
    return {c["name"]: c for c in report["checks"]}
