import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import EXERCISES, by_name, run_cli

HIDDEN_VALUES = ("-8", "25.0", "301", "learned_the_line", "relative_tolerance")


@pytest.fixture(scope="module")
def solution_reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("solution")
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py",
                     "--json", out / "r.json", "--html", out / "r.html",
                     "--junit", out / "r.xml", "--gradescope", out / "results.json")
    return result, out


def test_list_shows_exercises_with_points():
    result = run_cli("list")
    assert result.exit_code == 0
    assert result.output == (
        "cats_vs_dogs               10 points  Cats vs dogs, the whole Kaggle set: split_data, then a CNN above 80% accuracy\n"
        "cnn_augmentation           10 points  Cats vs dogs: a CNN above 80% validation accuracy with data augmentation\n"
        "fashion_mnist_callback     10 points  Fashion-MNIST: stop training with your own callback at 90% accuracy\n"
        "happy_or_sad               10 points  Happy or sad: a CNN on 80 faces, stopped by your callback at 99.9% accuracy\n"
        "hello_world                10 points  Hello, world of neural networks: learn y = 3x + 1\n"
        "house_prices               10 points  Week 1: house prices\n"
        "mnist_callback             10 points  MNIST: stop training with your own callback at 99% accuracy\n"
        "mnist_convolutions         10 points  MNIST with convolutions: stop at 99.5% accuracy\n"
        "sign_language              10 points  Sign Language MNIST: a CNN on augmented letters above 80% validation accuracy\n"
        "transfer_learning          10 points  Transfer learning: InceptionV3's pre-trained layers up to mixed7, frozen, under a new head\n")


def test_show_prints_task_and_limits_but_nothing_hidden():
    result = run_cli("show", "hello_world")
    assert result.exit_code == 0
    assert "time: 120 s for the whole program" in result.output
    assert "epochs: at most 1000 per call to model.fit" in result.output
    assert "    3 points  in 1 hidden check, run on inputs you are not shown" in result.output
    assert "    1 point   The program stayed within the time and memory limits" in result.output
    assert ("Training\n  verified: while your program trains, the grader keeps the states of your model it reports;\n"
            "  then it trains parts of it again from them and checks that they reach the same weights.\n"
            "  Training it cannot verify (a loop of your own, for one): the checks that rest on how\n"
            "  training went are graded as your program reported them.\n") in result.output
    assert "Total: 10 points" in result.output
    for value in HIDDEN_VALUES:
        assert value not in result.output


def test_init_writes_the_starter_and_will_not_overwrite(tmp_path):
    dest = tmp_path / "mine.py"
    result = run_cli("init", "hello_world", dest)
    assert result.exit_code == 0
    assert dest.read_text() == (EXERCISES / "hello_world" / "starter.py").read_text()
    again = run_cli("init", "hello_world", dest)
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_unknown_exercise_is_a_usage_error_listing_known_ones(tmp_path):
    result = run_cli("grade", "hello_wrld", tmp_path / "x.py")
    assert result.exit_code == 2
    assert ("Unknown exercise 'hello_wrld'. Known exercises: cats_vs_dogs, cnn_augmentation, fashion_mnist_callback, happy_or_sad, "
            "hello_world, house_prices, mnist_callback, mnist_convolutions, sign_language, transfer_learning.") \
        in result.output


@pytest.mark.parametrize("name, content, message", [
    ("missing.py", None, "No such file"),
    ("notes.txt", "print(1)", "is not a Python file or notebook"),
    ("broken.ipynb", "{not json", "is not a valid notebook: it is not JSON"),
    ("old.ipynb", json.dumps({"nbformat": 3, "worksheets": []}), "is not a Jupyter notebook in format 4"),
    ("empty.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                "cells": [{"cell_type": "markdown", "source": "hi", "metadata": {}}]}),
     "has no code cells"),
])
def test_a_file_that_cannot_be_graded_is_exit_2(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    result = run_cli("grade", "hello_world", path, "--json", tmp_path / "r.json", "--html", tmp_path / "r.html")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    # CI still gets a result: every check at 0, saying why
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["score"], report["max_score"], report["run"]["status"]) == (0, 10, "not_graded")
    assert all(c["message"].startswith("Your submission could not be graded: ") and message in c["message"]
               for c in report["checks"])
    page = (tmp_path / "r.html").read_text()  # the student's page too: the reason, no training to show
    assert message in page.split("<h2>Checks</h2>")[0] and "<h2>Training</h2>" not in page


def test_reference_solution_gets_full_marks(solution_reports):
    result, out = solution_reports
    assert result.exit_code == 0
    report = json.loads((out / "r.json").read_text())
    assert (report["exercise"], report["score"], report["max_score"], report["passed"]) == ("hello_world", 10, 10, True)
    assert report["diagnoses"] == []  # hints stay trustworthy: the reference triggers none
    assert [(c["name"], c["status"], c["score"], c["visibility"]) for c in report["checks"]] == [
        ("predicts_31_at_10", "passed", 4, "visible"),
        ("trained_with_fit", "passed", 2, "visible"),
        ("within_limits", "passed", 1, "visible"),
        ("learned_the_line", "passed", 3, "hidden"),
    ]
    fit = report["training"]["fits"][0]
    assert (fit["epochs_requested"], fit["epochs_run"], fit["stopped_by"], fit["capped"]) == (500, 500, None, False)
    assert len(fit["history"]["loss"]) == 500
    assert fit["history"]["loss"][-1] < fit["history"]["loss"][0] / 1000
    assert fit["data"]["kind"] == "arrays" and fit["data"]["x"]["shape"] == [6]
    assert report["dataset"] == {"name": "hello_world_points", "source": "exercise", "synthetic": False}
    assert report["model"]["source"] == "the variable `model`"
    [layer] = report["model"]["layers"]
    assert {k: layer[k] for k in ("class", "name", "input_shape", "output_shape", "params", "depth")} == {
        "class": "Dense", "name": "dense", "input_shape": [None, 1], "output_shape": [None, 1], "params": 2, "depth": 0}
    assert {k: layer["config"][k] for k in ("units", "activation", "use_bias")} == {
        "units": 1, "activation": "linear", "use_bias": True}
    assert report["environment"]["seed"] == 42
    assert 0 < report["duration_s"] < 120
    got = by_name(report)["predicts_31_at_10"]["got"][0]
    assert abs(got - 31) < 0.1


def test_hidden_check_values_stay_out_of_student_reports(solution_reports):
    _, out = solution_reports
    report = json.loads((out / "r.json").read_text())
    hidden = by_name(report)["learned_the_line"]
    assert (hidden["expected"], hidden["got"]) == (None, None)
    # How the prediction check would write the hidden probes and answers, were they shown.
    revealing = ("x = -8", "x = 25", "x = 100", "-23 ±", "76 ±", "301 ±", "relative_tolerance", "[-8.0, 25.0, 100.0]")
    for name in ("r.json", "r.html", "r.xml", "results.json"):
        text = (out / name).read_text()
        for value in revealing:
            assert value not in text, (name, value)


def test_html_report_is_self_contained_with_a_curve(solution_reports):
    _, out = solution_reports
    html = (out / "r.html").read_text()
    assert "10 / 10 points" in html
    assert html.count("<svg") == 1 and "<polyline" in html
    assert "Loss per epoch" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "The program stayed within the time and memory limits" in html and "✔ passed" in html
    assert "120 s" in html and "of at most 1000 per fit" in html


def test_junit_and_gradescope_outputs(solution_reports):
    _, out = solution_reports
    suite = ET.parse(out / "r.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "0", "0")
    assert [case.get("name") for case in suite.iter("testcase")] == [
        "predicts_31_at_10", "trained_with_fit", "within_limits", "learned_the_line"]
    gs = json.loads((out / "results.json").read_text())
    assert gs["score"] == 10
    assert [(t["score"], t["max_score"], t["visibility"]) for t in gs["tests"]] == [
        (4, 4, "visible"), (2, 2, "visible"), (1, 1, "visible"), (3, 3, "hidden")]


def test_starter_is_graded_below_maximum_and_explains_each_failure(tmp_path, grade_file):
    result, report = grade_file(EXERCISES / "hello_world" / "starter.py")
    assert result.exit_code == 1
    assert report["score"] == 3
    checks = by_name(report)
    assert {n: c["status"] for n, c in checks.items()} == {
        "predicts_31_at_10": "failed", "trained_with_fit": "passed",
        "within_limits": "passed", "learned_the_line": "failed"}
    assert checks["predicts_31_at_10"]["message"].startswith("Your model predicts ")
    assert checks["predicts_31_at_10"]["message"].endswith("for x = 10, but it should be 31 ± 1.")
    for c in report["checks"]:
        if c["status"] == "failed":
            assert c["message"] and c["hint"]
    assert "[FAIL ] Predicts y for x = 10 (0/4)" in result.output


def test_an_unknown_exercise_in_a_course_folder_in_sight_points_at_exercises(tmp_path, monkeypatch):
    run_cli("exercise", "new", "rps", tmp_path / "course")
    monkeypatch.chdir(tmp_path)
    result = run_cli("grade", "rps", tmp_path / "x.py")
    assert result.exit_code == 2
    assert ("The folder course/rps holds an exercise of that name: add --exercises course before the command "
            "(grader --exercises course ...).") in result.output


def test_the_commands_a_missing_dataset_message_suggests_name_the_course_folder(monkeypatch):
    from grader import datasets

    monkeypatch.setenv("GRADER_EXERCISES_PATH", "course")
    text = datasets.how_to_provide(datasets.get("mnist"))
    assert text == ("Provide it with `grader --exercises course data fetch mnist` (downloads it), `grader --exercises "
                    "course data import mnist PATH` (files you downloaded yourself), or stand-ins for testing with "
                    "`grader --exercises course data synth DIR mnist` and `--data-dir DIR`.")
