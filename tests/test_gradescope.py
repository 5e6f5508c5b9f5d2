"""Course platforms (issue 29): Gradescope's autograder bundle, built in one command and run as
Gradescope runs it, in a simulated /autograder tree."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

from conftest import EXERCISES, ROOT, run_cli


def autograder(tmp_path, bundle, files: dict):
    """An /autograder tree as Gradescope makes it: the bundle in source/, the upload in submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    for name, text in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          env=dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable),
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_a_built_in_exercise_bundle_grades_the_reference_solution_with_hidden_checks_hidden(tmp_path):
    bundle = tmp_path / "hello.zip"
    result = run_cli("exercise", "gradescope", "hello_world", bundle)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Wrote {bundle}: exercise hello_world, time limit 120 s under Gradescope's 600 s."
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "grader-bundle.json", "source/pyproject.toml",
                "source/exercises/hello_world/hidden.toml"} <= names
        assert stat.S_IMODE(z.getinfo("run_autograder").external_attr >> 16) == 0o755
        # of the built-in exercises only this one: the others' hidden checks and solutions stay out
        assert {n.split("/")[2] for n in names if n.startswith("source/exercises/") and n.count("/") > 2} == {
            "hello_world"}
        setup = z.read("setup.sh").decode()
    assert "bubblewrap" in setup and "pip install" in setup and "/autograder/source/source" in setup
    results = autograder(tmp_path, bundle, {"week1/my_solution.py": (EXERCISES / "hello_world" / "solution.py").read_text()})
    assert results["score"] == 10
    assert [(t["name"], t["score"], t["visibility"]) for t in results["tests"]] == [
        ("Predicts y for x = 10", 4.0, "visible"), ("A Keras model was trained with model.fit", 2.0, "visible"),
        ("The program stayed within the time and memory limits", 1.0, "visible"),
        ("Predicts well away from the training points", 3.0, "hidden")]


def test_an_upload_without_a_gradable_file_gets_a_zero_and_says_why(tmp_path):
    bundle = tmp_path / "hello.zip"
    run_cli("exercise", "gradescope", "hello_world", bundle)
    results = autograder(tmp_path, bundle, {"notes.txt": "I could not do it"})
    assert results["score"] == 0
    assert results["output"].startswith("No .py or .ipynb file was submitted, so there was nothing to grade.")


def test_a_course_exercise_travels_with_its_plugin_and_the_time_limit_stays_under_gradescopes(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "examples" / "course", course)
    bundle = tmp_path / "house.zip"
    result = run_cli("--exercises", course, "exercise", "gradescope", "house_prices", bundle, "--timeout", "150")
    assert result.exit_code == 0, result.output
    assert "with its course plugin.py, time limit 60 s under Gradescope's 150 s" in result.output
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
    assert {"course/plugin.py", "course/house_prices/spec.toml"} <= names
    assert json.loads(zipfile.ZipFile(bundle).read("grader-bundle.json"))["course"] is True
    results = autograder(tmp_path, bundle, {"house.py": (course / "house_prices" / "solution.py").read_text()})
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0, results
    refused = run_cli("exercise", "gradescope", "hello_world", tmp_path / "x.zip", "--timeout", "100")
    assert refused.exit_code == 2
    assert "give --timeout of at least 120 s" in refused.output


def test_a_wrong_answer_and_a_notebook_are_graded_as_uploaded(tmp_path):
    """What students upload besides a right .py: a wrong answer gets its points and the failed check's
    message; a notebook (a Colab export, in a folder) is graded like the file it holds."""
    bundle = tmp_path / "hello.zip"
    run_cli("exercise", "gradescope", "hello_world", bundle)
    wrong = autograder(tmp_path / "wrong", bundle, {"hello.py": (EXERCISES / "hello_world" / "bad" / "constant.py").read_text()})
    assert wrong["score"] == 7  # right at x = 10, wrong away from the points: the hidden check fails
    assert [(t["name"], t["score"]) for t in wrong["tests"]][-1] == ("Predicts well away from the training points", 0.0)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Week 1"}] + [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": text}
        for text in (EXERCISES / "hello_world" / "solution.py").read_text().split("\n\n") if text.strip()]
    notebook = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    graded = autograder(tmp_path / "nb", bundle, {"colab/C1_W1_Lab_1_hello_world.ipynb": notebook})
    assert graded["score"] == 10, graded.get("output")
