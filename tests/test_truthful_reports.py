"""Reports that tell the truth (issue 27): what ended the program said first, each fit's ending, hints
that fit the trace, and student text that cannot pass for the grader's."""

import json

import pytest

from conftest import SUBMISSIONS, by_name, run_cli

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
        "finished (it was running line 10): a loop that never ends? The model it had trained by then was graded.")
    assert "  What happened: Your program did not finish within the 25 s time limit" in result.output
    assert report["training"]["fits"][0]["ended"] == "ran every epoch asked for"
    assert "too_slow" not in [d["name"] for d in report["diagnoses"]]
    # the model it trained is right; only the time limit is missed
    assert [(c["name"], c["status"]) for c in report["checks"] if c["status"] != "passed"] == [("within_limits", "failed")]
    assert 'id="outcome">Your program did not finish within the 25 s time limit' in html
    assert by_name(report)["within_limits"]["hint"] == ("Training had ended when the time ran out (it was running "
                                                         "line 10): look for a loop after model.fit that never ends.")


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
    assert report["run"]["outcome"]["sentence"].startswith("Your program was stopped after training: it asked for "
                                                           "more memory than the limit of")
    assert by_name(report)["within_limits"]["hint"].startswith("Training had ended when the memory ran out")
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
    # the fifth cell of the notebook, markdown counted, and the second code cell (Jupyter's In [2])
    assert report["run"]["error"]["where"] == "cell 5 (code cell 2), line 6"
    assert report["training"]["fits"][0]["where"] == "cell 5 (code cell 2), line 4"
    assert ("model.predict on a Python list", "cell 5 (code cell 2), line 5") in [
        (n["idiom"], n["where"]) for n in report["legacy"]]
    assert "#1 (cell 5 (code cell 2), line 4)" in (tmp_path / "r.html").read_text()


TRAINS = ("import sys\nimport numpy as np\nimport tensorflow as tf\n"
          "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
          "model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
          "model.compile(optimizer='sgd', loss='mse')\n")


def test_sys_exit_is_said_as_python_ends_the_program_with_it(grade_file, tmp_path):
    # with a message, after training: Python prints it and ends with exit code 1
    result, report = grade_file(TRAINS + "model.fit(xs, 3 * xs + 1, epochs=300, verbose=0)\n"
                                         "sys.exit('not exact, giving up')\n")
    assert (report["run"]["status"], report["run"]["exit_code"]) == ("exit", 1)
    assert report["run"]["outcome"]["sentence"] == (
        "Your program called sys.exit with a message at line 8, which Python prints before ending the program "
        "with exit code 1: `not exact, giving up`.")
    assert "  What happened: Your program called sys.exit with a message at line 8" in result.output
    # sys.exit(0) before training: said, and every failed check's hint names it rather than the data
    result, report = grade_file(TRAINS + "sys.exit(0)\nmodel.fit(xs, 3 * xs + 1, epochs=300, verbose=0)\n")
    assert (report["run"]["exit_code"], report["run"]["outcome"]["when"]) == (0, "before")
    assert report["run"]["outcome"]["sentence"] == ("Your program called sys.exit(0) at line 7. That was before any "
                                                    "training, so model.fit never ran.")
    assert {c["hint"] for c in report["checks"] if c["status"] == "failed" and c["hint"]} == {
        "Your program called sys.exit at line 7 before model.fit ran: remove that call so training can run."}


def test_a_fit_asked_for_no_epochs_is_not_blamed_on_another_model(grade_file):
    _, report = grade_file(TRAINS + "model.fit(xs, 3 * xs + 1, epochs=0, verbose=0)\n")
    assert by_name(report)["trained_with_fit"]["message"] == (
        "The graded model (the variable `model`) was never trained: model.fit(...) (line 7) asked for 0 epochs, so "
        "none ran.")
    assert by_name(report)["predicts_31_at_10"]["hint"] == "Ask model.fit for the number of epochs the task names (epochs=...)."


def test_an_error_that_ends_training_early_is_the_hint_not_the_data(grade_file):
    source = TRAINS + ("class Boom(tf.keras.callbacks.Callback):\n"
                       "    def on_epoch_end(self, epoch, logs=None):\n"
                       "        if epoch == 3:\n            raise ValueError('odd')\n"
                       "model.fit(xs, 3 * xs + 1, epochs=500, verbose=0, callbacks=[Boom()])\n")
    _, report = grade_file(source)
    assert by_name(report)["predicts_31_at_10"]["hint"] == (
        "Training was ended early by an error in model.fit (line 11), after 4 of its 500 epochs: fix that (shown with "
        "its line in this report), and the model will train for as long as you asked.")
    assert report["run"]["exit_code"] == 1


def test_a_time_limit_shorter_than_importing_tensorflow_blames_the_limit_not_the_program(grade_file, tmp_path):
    result, report = grade_file(TRAINS, extra=("--time-limit", "2", "--html", tmp_path / "r.html"))
    assert report["run"]["status"] == "timeout" and report["run"]["exit_code"] is None
    assert report["run"]["outcome"]["sentence"] == (
        "Your program was stopped at the 2 s time limit before any of its code ran: the grader was still importing "
        "TensorFlow, which takes a few seconds. The time limit is too short; grade again with a longer one.")
    assert "grader/harness" not in report["run"]["output_tail"] and "GraderTimeLimit" not in result.output
    assert "GraderTimeLimit" not in (tmp_path / "r.html").read_text()


def test_an_entry_point_that_returns_nothing_is_said(grade_file):
    source = ("import numpy as np\nimport tensorflow as tf\n\ndef train_model():\n"
              "    xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
              "    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
              "    model.compile(optimizer='sgd', loss='mse')\n"
              "    model.fit(xs, 3 * xs + 1, epochs=5, verbose=0)\n")
    result, report = grade_file(source)
    assert report["model"]["not_keras"] == ("train_model() returned None (is its `return model` missing?), not a "
                                            "Keras model or History")
    assert "  Note: train_model() returned None (is its `return model` missing?)" in result.output


def test_terminal_codes_in_output_and_errors_are_shown_escaped_on_the_page(grade_file, tmp_path):
    source = TRAINS + ("print('\\x1b]0;hacked title\\x07\\x1b[31mred\\x1b[0m')\n"
                       "class Boom(tf.keras.callbacks.Callback):\n"
                       "    def on_epoch_end(self, epoch, logs=None):\n"
                       "        raise ValueError('done\\n  [PASS ] all 10/10 \\x1b[2J')\n"
                       "model.fit(xs, 3 * xs + 1, epochs=5, verbose=0, callbacks=[Boom()])\n")
    _, report = grade_file(source, extra=("--html", tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert "\x1b" not in html  # no raw escape character anywhere on the page
    assert "hacked title" not in report["run"]["output_tail"] and "red" in report["run"]["output_tail"]
    assert '<pre class="traceback">ValueError: done\n  [PASS ] all 10/10 \\x1b[2J</pre>' in html


def test_a_model_never_trained_is_not_called_the_graded_model(grade_file, tmp_path):
    grade_file(TRAINS, extra=("--html", tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert "The model the grader found was the variable `model`, which model.fit never trained." in page
    assert "The graded model was" not in page
