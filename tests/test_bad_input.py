"""Bad submissions end in a graded report with a clear sentence, never a grader traceback."""

import os
import time

from conftest import by_name

HEADER = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
"""
MODEL = """model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer='sgd', loss='mean_squared_error')
"""


def test_syntax_error_is_graded_zero_and_names_the_line(grade_file):
    result, report = grade_file("import tensorflow as tf\n\nmodel = tf.keras.Sequential([\n    tf.keras.layers.Dense(1)\n")
    assert result.exit_code == 1
    assert report["score"] == 0
    assert report["run"]["status"] == "syntax_error"
    assert by_name(report)["predicts_31_at_10"]["message"] == \
        "Your code could not run: a syntax error at line 3 ('[' was never closed)."
    assert report["run"]["error"]["traceback"].endswith("SyntaxError: '[' was never closed")
    # the traceback, fenced: each of its lines behind "  | "
    assert '  |   File "submission.py", line 3\n  |     model = tf.keras.Sequential([\n  | SyntaxError' in result.output


def test_exception_while_training_shows_only_the_students_frames(grade_file):
    source = HEADER + MODEL + "ys = ys[:5]\n\ndef train():\n    model.fit(xs, ys, epochs=5)\n\ntrain()\n"
    result, report = grade_file(source)
    assert result.exit_code == 1
    assert report["score"] == 0
    error = report["run"]["error"]
    assert error["type"] == "ValueError" and error["line"] == 10
    assert "Data cardinality is ambiguous" in error["message"]
    frames = [line for line in error["traceback"].splitlines() if line.startswith("  File")]
    assert frames == ['  File "submission.py", line 12, in <module>', '  File "submission.py", line 10, in train']
    assert "grader" not in error["traceback"].replace("grader frames removed", "")
    assert by_name(report)["trained_with_fit"]["message"] == \
        "Your code raised ValueError at line 10 before a model was trained."


def test_endless_loop_is_killed_at_the_time_limit(grade_file):
    started = time.time()
    result, report = grade_file("import time\nwhile True:\n    time.sleep(0.05)\n", extra=("--time-limit", "6"))
    assert time.time() - started < 20
    assert result.exit_code == 1
    assert report["run"]["timed_out"] is True and report["run"]["status"] == "timeout"
    assert by_name(report)["within_limits"]["message"] == \
        "Your program was stopped at the 6 s time limit (it was still running, before training began)."
    assert by_name(report)["predicts_31_at_10"]["message"].startswith("Your program was stopped at the 6 s time limit")


def test_training_past_the_time_budget_is_stopped_and_what_was_trained_is_graded(grade_file):
    slow = HEADER + MODEL + (
        "import time\n"
        "class Slow(tf.keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        time.sleep(0.5)\n"
        "model.fit(xs, ys, epochs=900, verbose=0, callbacks=[Slow()])\n")
    result, report = grade_file(slow, extra=("--time-limit", "12"))
    fit = report["training"]["fits"][0]
    assert fit["limit_hit"] == "time"
    assert fit["stopped_by"]["class"] == "GraderTimeBudget" and fit["stopped_by"]["grader"] is True
    assert 0 < fit["epochs_run"] < 900
    assert report["run"]["timed_out"] is False
    assert by_name(report)["within_limits"]["message"].startswith(
        f"Training was stopped by the grader's time budget after {fit['epochs_run']} of 900 epochs (line 11); the time limit is 12 s.")
    assert by_name(report)["trained_with_fit"]["status"] == "passed"


def test_no_model_says_what_was_expected(grade_file):
    result, report = grade_file("print('y =', 3 * 10 + 1)\n")
    assert result.exit_code == 1 and report["score"] == 0
    assert by_name(report)["predicts_31_at_10"]["message"] == (
        "No Keras model was found. The grader looks for a function `train_model()` that returns the model "
        "(or its History), or a variable named `model` holding a model built with tf.keras and trained "
        "with model.fit().")
    assert report["run"]["output_tail"].strip() == "y = 31"


def test_fake_model_object_is_not_a_trained_model(grade_file):
    source = ("class FakeModel:\n    def predict(self, x):\n        return [[31.0]]\n\nmodel = FakeModel()\n")
    result, report = grade_file(source)
    assert report["score"] == 0
    assert by_name(report)["trained_with_fit"]["message"].startswith(
        "No Keras model to test: the variable `model` holds a FakeModel, not a Keras model.")


def test_weights_set_by_hand_after_fit_fail_the_trained_check(grade_file):
    source = HEADER + MODEL + "model.fit(xs, ys, epochs=3, verbose=0)\n" \
        "model.set_weights([np.array([[3.0]]), np.array([1.0])])\n"
    result, report = grade_file(source)
    checks = by_name(report)
    assert checks["predicts_31_at_10"]["status"] == "passed"
    assert checks["trained_with_fit"]["status"] == "failed"
    assert checks["trained_with_fit"]["message"].startswith("The model's weights were changed after model.fit")


def test_nan_loss_fails_with_a_clear_message(grade_file):
    source = HEADER + ("model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])\n"
                       "model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=10.0), loss='mse')\n"
                       "model.fit(xs, ys, epochs=40, verbose=0)\n")
    result, report = grade_file(source)
    checks = by_name(report)
    assert checks["trained_with_fit"]["message"].startswith("The loss became NaN or infinite at epoch ")
    assert checks["predicts_31_at_10"]["message"] == \
        "Your model predicts NaN or infinity: its training diverged, so its weights are not numbers."
    assert result.exit_code == 1


def test_huge_output_is_capped_and_the_cut_is_reported(grade_file):
    result, report = grade_file("for i in range(200000):\n    print('line', i)\n")
    run = report["run"]
    assert run["output_bytes"] == sum(len(f"line {i}\n") for i in range(200000))
    assert run["output_cut_bytes"] > 2_000_000
    assert run["output_tail"].startswith("line 0\n") and run["output_tail"].endswith("line 199999\n")
    assert "[... output cut ...]" in run["output_tail"]


def test_processes_started_by_the_submission_do_not_survive(grade_file):
    source = ("import subprocess, time\n"
              "p = subprocess.Popen(['sleep', '301'])\n"
              "while True:\n    time.sleep(0.1)\n")
    result, report = grade_file(source, extra=("--time-limit", "5"))
    assert report["run"]["timed_out"] is True
    time.sleep(0.3)
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/cmdline", "rb").read() == b"sleep\x00301\x00":
                survivors.append(pid)
        except OSError:
            pass
    assert survivors == []
