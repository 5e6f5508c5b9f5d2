"""Issue 7: instructors add exercises without touching the grader, scaffold, verify and release them,
and publish checks as pip-installable plugins."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import EXERCISES, ROOT, by_name, run_cli

SOLVED = '''import numpy as np
import tensorflow as tf

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-3.0, -1.0, 1.0, 3.0, 5.0, 7.0], dtype=float)


def train_model():
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(xs, ys, epochs=500, verbose=0)
    return model
'''


@pytest.fixture
def exercises_path(monkeypatch):
    monkeypatch.setenv("GRADER_EXERCISES_PATH", "")  # whatever --exercises sets is undone after the test


def test_a_new_exercise_verifies_once_its_solution_is_written(tmp_path, exercises_path):
    result = run_cli("exercise", "new", "line_fit", tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "line_fit"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "README.md", "bad/never_trained.py", "hidden.toml", "solution.py", "spec.toml", "starter.py"]
    assert "raise NotImplementedError" in (folder / "solution.py").read_text()
    (folder / "solution.py").write_text(SOLVED)
    result = run_cli("--exercises", tmp_path, "exercise", "verify", "line_fit")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "line_fit: sound."
    assert run_cli("exercise", "new", "line_fit", tmp_path).exit_code == 2  # never overwrites
    result = run_cli("exercise", "new", "other", folder / "README.md")  # a file is no destination
    assert result.exit_code == 2 and f"Cannot create {folder / 'README.md' / 'other'} (Not a directory)" in result.output


def test_exercise_folders_from_the_command_line_and_the_environment(tmp_path, exercises_path, monkeypatch):
    run_cli("exercise", "new", "line_fit", tmp_path)
    assert "line_fit" not in run_cli("list").output
    assert "line_fit" in run_cli("--exercises", tmp_path / "line_fit", "list").output
    monkeypatch.setenv("GRADER_EXERCISES_PATH", str(tmp_path))
    assert "Line fit" in run_cli("show", "line_fit").output
    result = run_cli("--exercises", tmp_path / "nowhere", "list")
    assert result.exit_code == 2 and "--exercises" in result.output and "no such folder" in result.output


def test_verify_names_the_file_and_field_of_a_mistyped_spec(tmp_path, exercises_path):
    run_cli("exercise", "new", "line_fit", tmp_path)
    spec = tmp_path / "line_fit" / "spec.toml"
    spec.write_text(spec.read_text().replace("tolerance = 1.0", 'tolerance = "one"'))
    result = run_cli("--exercises", tmp_path, "exercise", "verify", "line_fit")
    assert result.exit_code == 2
    assert (f"{spec}, check 'predicts_19_at_10': field 'tolerance' must be a number, got 'one'.") in result.output


@pytest.mark.parametrize("old, new, message", [
    ("max_epochs = ", "max_epoch = ", "unknown field '[limits] max_epoch'. Did you mean 'max_epochs'?"),
    ("[limits]", "[limit]", "unknown field 'limit'. Did you mean 'limits'?"),
    ('[dataset]\n', '[dataset]\nheld_bak = 0.5\n', "unknown field '[dataset] held_bak'. Did you mean 'held_back'?"),
])
def test_a_misspelt_spec_field_is_named_not_dropped(tmp_path, exercises_path, old, new, message):
    """A field the grader does not read was dropped without a word: max_epoch lifted the epoch limit."""
    run_cli("exercise", "new", "line_fit", tmp_path)
    spec = tmp_path / "line_fit" / "spec.toml"
    text = spec.read_text()
    if "[dataset]" not in text:
        text += '\n[dataset]\nname = "line_fit"\nsource = "exercise"\n'
    assert old in text
    spec.write_text(text.replace(old, new, 1))
    result = run_cli("--exercises", tmp_path, "exercise", "verify", "line_fit")
    assert result.exit_code == 2
    assert f"{spec}: {message}" in result.output


def hidden_values(exercise: Path) -> list[str]:
    """Every name, title, hint and number of the hidden checks, as a student could search for them."""
    values = []
    hidden = exercise / "hidden.toml"  # cnn_augmentation has no hidden checks: its held-out data is the secret
    for check in tomllib.loads(hidden.read_text()).get("checks", []) if hidden.is_file() else []:
        for key, value in check.items():
            for v in value if isinstance(value, list) else [value]:
                if key in ("name", "title", "hint"):
                    values.append(v)
                elif isinstance(v, float) and key not in ("margin", "tolerance", "relative_tolerance"):
                    values.append(f"{v:g}")  # (a tolerance gives nothing away)
    return values


@pytest.mark.parametrize("name", ["hello_world", "house_prices", "fashion_mnist_callback", "cnn_augmentation",
                                  "mnist_callback", "mnist_convolutions", "happy_or_sad", "sign_language",
                                  "transfer_learning", "cats_vs_dogs"])
def test_a_release_holds_nothing_hidden(tmp_path, name):
    result = run_cli("exercise", "release", name, tmp_path)
    assert result.exit_code == 0, result.output
    bundle = tmp_path / name
    assert sorted(p.name for p in bundle.iterdir()) == ["CHECK-YOUR-WORK.md", "README.md", "spec.toml",
                                                        "starter.ipynb", "starter.py"]
    text = "\n".join(p.read_text() for p in bundle.iterdir())
    for value in hidden_values(EXERCISES / name):
        if len(value) >= 2:
            assert not re.search(rf"(?<![\w.]){re.escape(value)}(?![\w]|\.\d)", text), value
    starter = set(l.strip() for l in (EXERCISES / name / "starter.py").read_text().splitlines())
    for line in (EXERCISES / name / "solution.py").read_text().splitlines():
        line = line.strip()
        if len(line) >= 12 and not line.startswith("#") and line not in starter and line.count("(") == line.count(")") \
                and not line.endswith(","):
            assert line not in text, line
    assert not any(p.suffix in (".gz", ".jpg", ".npy") for p in bundle.rglob("*"))  # no data, hidden or not
    assert tomllib.loads((bundle / "spec.toml").read_text()) == tomllib.loads((EXERCISES / name / "spec.toml").read_text())
    dataset = tomllib.loads((bundle / "spec.toml").read_text()).get("dataset", {})
    says_data = f"The exercise trains on the dataset `{dataset.get('name')}`: get it once with " \
                f"`grader --exercises {name} data fetch {dataset.get('name')}`"
    needs_data = dataset.get("source", "registry") != "exercise" and "name" in dataset
    assert (says_data in (bundle / "CHECK-YOUR-WORK.md").read_text()) == needs_data  # the command needs it
    assert (says_data in (bundle / "starter.ipynb").read_text()) == needs_data


def test_a_release_that_would_leak_is_refused(tmp_path, exercises_path):
    leaky = tmp_path / "exercises" / "hello_world"
    shutil.copytree(EXERCISES / "hello_world", leaky)
    with open(leaky / "README.md", "a") as f:
        f.write("\nHint: your model should also predict 301 at x = 100.\n")
    result = run_cli("--exercises", tmp_path / "exercises", "exercise", "release", "hello_world", tmp_path / "out")
    assert result.exit_code == 2
    assert ("Not released: README.md contains the hidden value '100'; README.md contains the hidden value '301'; "
            "starter.ipynb contains the hidden value '100'; starter.ipynb contains the hidden value '301'.") \
        in result.output
    assert not (tmp_path / "out" / "hello_world").exists()


def test_a_solution_line_the_task_states_on_purpose_is_released_once_allowed(tmp_path, exercises_path):
    folder = tmp_path / "exercises" / "hello_world"
    shutil.copytree(EXERCISES / "hello_world", folder)
    with open(folder / "README.md", "a") as f:
        f.write('\nThe answer: `ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)`.\n')
    refused = run_cli("--exercises", tmp_path / "exercises", "exercise", "release", "hello_world", tmp_path / "out")
    assert refused.exit_code == 2
    assert ("README.md contains a line of the reference solution: "
            "'ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)'") in refused.output
    with open(folder / "hidden.toml", "a") as f:
        f.write('\n[release]\nallow = ["ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)"]\n')
    released = run_cli("--exercises", tmp_path / "exercises", "exercise", "release", "hello_world", tmp_path / "out")
    assert released.exit_code == 0, released.output


def test_public_only_runs_the_public_checks(tmp_path):
    out = tmp_path / "r.json"
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", "--public-only", "--json", out)
    report = json.loads(out.read_text())
    assert result.exit_code == 0
    assert [c["name"] for c in report["checks"]] == ["predicts_31_at_10", "trained_with_fit", "within_limits"]
    assert report["max_score"] == 7


def test_a_pip_installed_plugin_is_found_through_its_entry_point(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT / "tests" / "sample_plugin", source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                          "--disable-pip-version-check", "--target", str(target), str(source)],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    assert (target / "grader_sample_plugin" / "tiny_line" / "spec.toml").is_file()
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_NO_ENTRY_POINTS",)}
    env["PYTHONPATH"] = str(target)

    def grader(*args):
        return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                              env=env, cwd=tmp_path)

    plugins = grader("plugins")
    assert plugins.returncode == 0, plugins.stderr
    assert f"sample\n    from: {target / 'grader_sample_plugin' / '__init__.py'}" in plugins.stdout
    assert "hooks: grader_register_checks, grader_register_exercises" in plugins.stdout
    sub = tmp_path / "line.py"
    sub.write_text("import numpy as np, tensorflow as tf\nxs = np.array([0.0, 1.0, 2.0, 3.0])\n"
                   "model = tf.keras.Sequential([tf.keras.Input((1,)), tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])\n"
                   "model.compile(optimizer='sgd', loss='mse')\nmodel.fit(xs, 2 * xs + 1, epochs=300, verbose=0)\n")
    graded = grader("grade", "tiny_line", sub, "--json", tmp_path / "r.json")
    assert graded.returncode == 1, graded.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert by_name(report)["small"]["message"] == "The model has 13 parameters; at most 2 are allowed."


def test_an_instructors_template_folder_overrides_the_report(tmp_path, monkeypatch):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "report.html").write_text(
        "<!DOCTYPE html><title>CS101</title><p>CS101 feedback: {{ r.score }} of {{ r.max_score }}</p>"
        "{% include 'default:report.html' %}")
    monkeypatch.setenv("GRADER_TEMPLATES", str(tmp_path / "templates"))
    html = tmp_path / "r.html"
    run_cli("grade", "hello_world", EXERCISES / "hello_world" / "starter.py", "--html", html)
    text = html.read_text()
    assert "<p>CS101 feedback: 3.0 of 10.0</p>" in text and 'id="checks"' in text  # the built-in one, included


def test_the_notebook_hand_out_is_valid_and_grades_like_the_starter(tmp_path):
    import json

    import nbformat

    result = run_cli("exercise", "release", "hello_world", tmp_path)
    assert result.exit_code == 0, result.output
    notebook = tmp_path / "hello_world" / "starter.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)  # Jupyter's own schema
    assert [c.cell_type for c in nb.cells][:2] == ["markdown", "markdown"]
    assert all(c.metadata.get("tags") == ["graded"] for c in nb.cells if c.cell_type == "code")
    assert "".join(c.source for c in nb.cells if c.cell_type == "code").split() == \
        (EXERCISES / "hello_world" / "starter.py").read_text().split()
    scores = []
    for starter in (notebook, EXERCISES / "hello_world" / "starter.py"):
        out = tmp_path / f"{starter.suffix}.json"
        run_cli("grade", "hello_world", starter, "--json", out)
        scores.append([(c["name"], c["score"]) for c in json.loads(out.read_text())["checks"]])
    assert scores[0] == scores[1]
    mine = tmp_path / "mine.ipynb"
    assert run_cli("init", "hello_world", mine).exit_code == 0
    mine_nb = nbformat.read(mine, as_version=4)  # the same notebook, with the command for a student who has
    assert [c.source for c in mine_nb.cells if c.cell_type == "code"] == \
        [c.source for c in nb.cells if c.cell_type == "code"]  # the grader's exercise rather than the hand-out
    assert mine_nb.cells[1].source.endswith("check your work with `grader grade hello_world this_notebook.ipynb`.")


def test_the_leak_check_leaves_tolerances_and_stated_thresholds_alone_and_says_how_to_allow(tmp_path):
    """The week-1 house-prices exercise as an instructor wrote it: a hidden tolerance of 0.5 and a task
    text saying "price = 0.5 + 0.5 * bedrooms" released; a hidden expected value in the text did not."""
    shutil.copytree(EXERCISES / "house_prices", tmp_path / "course" / "houses")
    folder = tmp_path / "course" / "houses"
    spec = folder / "spec.toml"
    spec.write_text(spec.read_text().replace('summary = "', 'summary = "price = 0.5 + 0.5 * bedrooms. '))
    result = run_cli("--exercises", tmp_path / "course", "exercise", "release", "houses", tmp_path / "out")
    assert result.exit_code == 0, result.output
    (folder / "README.md").write_text((folder / "README.md").read_text() + "\nA 25-bedroom house costs 13.0.\n")
    result = run_cli("--exercises", tmp_path / "course", "exercise", "release", "houses", tmp_path / "out2")
    assert result.exit_code == 2
    assert "README.md contains the hidden value '25'" in result.output
    assert '[release] allow = ["VALUE", ...]' in result.output
