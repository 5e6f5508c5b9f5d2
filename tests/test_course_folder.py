"""A course is a folder: a plugin.py beside its exercises is loaded as a plugin with no install, on the
trusted side only; an error in it is exit 2 naming the file and line."""

import json

import pytest

from conftest import run_cli

PLUGIN = '''from grader.checks import CheckType, Field, failed, passed
from grader.hookspecs import hookimpl


def max_params(evidence, check):
    n = evidence.model().count_params()
    limit = check.params["max_params"]
    return passed(f"MESSAGE {n} parameters.") if n <= limit else failed(f"{n} parameters; at most {limit}.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(name="max_params", run=max_params, fields={"max_params": Field("integer", help="most")}))
'''
SPEC = '''title = "TITLE"
[limits]
time_limit = 120
max_epochs = 1000
[submission]
entry_point = "house_model"
entry_args = [[7.0]]
[dataset]
name = "houses"
source = "exercise"
[[checks]]
name = "price"
type = "prediction"
title = "A house with 7 bedrooms costs about 400k"
points = 8
inputs = [7.0]
expected = [4.0]
tolerance = 0.5
[[checks]]
name = "one_neuron"
type = "max_params"
title = "One neuron"
points = 2
max_params = 2
'''
SOLUTION = '''import os
import numpy as np
import tensorflow as tf

print("sees the course plugin:", os.path.exists(PLUGIN_PATH))


def house_model():
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    ys = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(xs, ys, epochs=500, verbose=0)
    return model
'''


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course"
    for name in ("houses", "houses_again"):
        (folder / name).mkdir(parents=True)
        (folder / name / "spec.toml").write_text(SPEC.replace("TITLE", name))
    (folder / "plugin.py").write_text(PLUGIN)
    (tmp_path / "mine.py").write_text(SOLUTION.replace("PLUGIN_PATH", repr(str(folder / "plugin.py"))))
    return folder


def test_two_exercises_share_the_course_plugin_with_no_install(course, tmp_path):
    for name in ("houses", "houses_again"):
        out = tmp_path / f"{name}.json"
        result = run_cli("--exercises", course, "grade", name, tmp_path / "mine.py", "--json", out)
        report = json.loads(out.read_text())
        assert (result.exit_code, report["score"]) == (0, 10), result.output
        assert {c["name"]: c["message"] for c in report["checks"]}["one_neuron"] == "MESSAGE 2 parameters."
        assert "sees the course plugin: False" in report["run"]["output_tail"]  # trusted side only
    listed = run_cli("--exercises", course, "plugins")
    assert f"from: {course / 'plugin.py'}" in listed.output and "grader_register_checks" in listed.output


def test_an_edit_takes_effect_on_the_next_command(course, tmp_path):
    (course / "plugin.py").write_text(PLUGIN.replace("MESSAGE", "EDITED"))
    out = tmp_path / "r.json"
    result = run_cli("--exercises", course, "grade", "houses", tmp_path / "mine.py", "--json", out)
    assert result.exit_code == 0, result.output
    assert {c["name"]: c["message"] for c in json.loads(out.read_text())["checks"]}["one_neuron"] == \
        "EDITED 2 parameters."


@pytest.mark.parametrize("change,message", [
    (lambda t: t + "x = (\n", "plugin.py, line 14: '(' was never closed (a syntax error in the local plugin)."),
    (lambda t: "import not_a_module_anywhere\n" + t,
     "plugin.py, line 1: ModuleNotFoundError: No module named 'not_a_module_anywhere' (while loading the local "
     "plugin)."),
    (lambda t: t.replace("(register):", "(registr):"), "plugin.py: line 11: Plugin"),
    (lambda t: t + "\n\n@hookimpl\ndef grader_register_datasets(register):\n    from grader.builtin.datasets import "
                   "mnist\n    mnist.grader_register_datasets(register)\n",
     "'mnist' is registered twice: by grader.builtin.datasets.mnist and by"),
])
def test_a_broken_plugin_is_a_configuration_error_naming_file_and_line(course, change, message):
    (course / "plugin.py").write_text(change(PLUGIN))
    result = run_cli("--exercises", course, "list")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_without_the_course_folder_its_plugin_is_gone(course):
    run_cli("--exercises", course, "list")
    listed = run_cli("plugins")
    assert "plugin.py" not in listed.output
