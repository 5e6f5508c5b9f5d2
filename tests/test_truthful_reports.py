"""Reports that tell the truth (issue 27): what ended the program said first, each fit's ending, hints
that fit the trace, and student text that cannot pass for the grader's."""

import json

import pytest

from conftest import SUBMISSIONS, run_cli

MISTAKES = SUBMISSIONS / "mistakes"


def grade(tmp_path, name, *extra, exercise="hello_world"):
    out = tmp_path / "r.json"
    result = run_cli("grade", exercise, MISTAKES / name, "--json", out, "--html", tmp_path / "r.html",
                     "--gradescope", tmp_path / "g.json", "--junit", tmp_path / "j.xml", *extra)
    return result, json.loads(out.read_text()), (tmp_path / "r.html").read_text()


def test_a_hang_after_training_is_said_as_such_and_the_trained_model_is_graded(tmp_path):
    result, report, html = grade(tmp_path, "hang_after_training.py", "--time-limit", "25")
    assert report["run"]["status"] == "timeout"
    assert report["run"]["outcome"]["sentence"] == (
        "Your program did not finish within the 25 s time limit: training had ended, so something after it never "
        "finished (a loop that never ends?). The model it had trained by then was graded.")
    assert "  What happened: Your program did not finish within the 25 s time limit" in result.output
    assert report["training"]["fits"][0]["ended"] == "ran every epoch asked for"
    assert "too_slow" not in [d["name"] for d in report["diagnoses"]]
    # the model it trained is right; only the time limit is missed
    assert [(c["name"], c["status"]) for c in report["checks"] if c["status"] != "passed"] == [("within_limits", "failed")]
    assert 'id="outcome">Your program did not finish within the 25 s time limit' in html


def test_a_crash_during_training_is_said_with_where_training_stood(tmp_path):
    result, report, html = grade(tmp_path, "crash_in_training.py")
    fit = report["training"]["fits"][0]
    assert (fit["epochs_run"], fit["ended"]) == (101, "stopped by an error")
    assert fit["error"].startswith("ValueError: loss looked odd")
    assert report["run"]["outcome"]["sentence"] == (
        "Your program stopped with an error (ValueError at line 9) during training: model.fit (line 16) had run "
        "101 of its 500 epochs. The model it had trained by then was graded.")
    assert "Every check passed. Well done." not in html
    assert '<td class="failed">stopped by an error</td>' in html


def test_a_memory_blow_up_after_training_grades_the_model_trained(tmp_path):
    result, report, _ = grade(tmp_path, "memory_after_training.py")
    assert report["run"]["status"] == "memory"
    assert report["run"]["outcome"]["when"] == "after"
    assert report["run"]["outcome"]["sentence"].startswith("Your program was stopped after training: it used more "
                                                           "than the memory limit of")
    # the model saved when its training ended is graded: only the memory limit is missed
    assert [(c["name"], c["status"]) for c in report["checks"] if c["status"] != "passed"] == [("within_limits", "failed")]


def test_what_the_entry_point_returned_is_judged_and_said(tmp_path):
    result, report, html = grade(tmp_path, "returns_a_string.py")
    assert report["model"]["not_keras"] == "train_model() returned a str, not a Keras model or History"
    assert ("  Note: train_model() returned a str, not a Keras model or History; the grader graded the last model "
            "passed to fit instead.") in result.output
    assert 'id="not-keras"' in html


def test_student_text_never_starts_a_line_of_the_terminal_or_of_ci_outputs(tmp_path):
    result, report, html = grade(tmp_path, "injected_message.py")
    assert report["run"]["status"] == "error"
    lines = result.output.splitlines()
    assert not any(line.lstrip().startswith("::") for line in lines)
    assert not any(line.startswith("Hello, world") and "10/10" in line for line in lines)
    assert not any(line.lstrip().startswith("[PASS ] Predicts y for x = 10 (4/4): fine") for line in lines)
    assert "  | RuntimeError: oops" in result.output and "  | ::error file=x::owned" in result.output
    assert "\u202e" not in result.output and "evil\\u202etxt.py" in result.output
    gradescope = json.loads((tmp_path / "g.json").read_text())
    for text in [gradescope["output"]] + [t["output"] for t in gradescope["tests"]]:
        assert not any(line.lstrip().startswith("::") for line in text.splitlines()), text
        assert "\u202e" not in text
    assert "\u202e" not in html and "evil\\u202etxt.py" in html
    junit = (tmp_path / "j.xml").read_text()
    assert not any(line.lstrip().startswith("::") for line in junit.splitlines())


def test_notebook_positions_count_every_cell_alike_everywhere(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Week 1"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import numpy as np\nimport tensorflow as tf"},
        {"cell_type": "markdown", "metadata": {}, "source": "Train the model:"},
        {"cell_type": "markdown", "metadata": {}, "source": "(500 epochs)"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
                   "model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
                   "model.compile(optimizer='sgd', loss='mse')\nmodel.fit(xs, 3 * xs + 1, epochs=5, verbose=0)\n"
                   "print(model.predict([10.0]))\nundefined_name"}]}
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps(nb))
    out = tmp_path / "r.json"
    run_cli("grade", "hello_world", path, "--json", out, "--html", tmp_path / "r.html")
    report = json.loads(out.read_text())
    assert report["run"]["error"]["where"] == "cell 5, line 6"  # the fifth cell of the notebook, markdown counted
    assert report["training"]["fits"][0]["where"] == "cell 5, line 4"
    assert ("model.predict on a Python list", "cell 5, line 5") in [(n["idiom"], n["where"]) for n in report["legacy"]]
    assert "#1 (cell 5, line 4)" in (tmp_path / "r.html").read_text()
