"""A course is a folder (examples/course): a plugin.py beside its exercises is loaded as a plugin with
no install, on the trusted side only; an error in it is exit 2 naming the file and line."""

import json
import shutil

import pytest

from conftest import ROOT, run_cli

COURSE = ROOT / "examples" / "course"


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course"
    shutil.copytree(COURSE, folder)
    solution = (folder / "house_prices" / "solution.py").read_text()
    (tmp_path / "mine.py").write_text(f"import os\nprint('sees the course plugin:', "
                                      f"os.path.exists({str(folder / 'plugin.py')!r}))\n" + solution)
    return folder


def test_the_example_course_is_sound_with_no_install(tmp_path):
    result = run_cli("--exercises", COURSE, "exercise", "verify", "house_prices")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "house_prices: sound."


def test_two_exercises_share_the_course_plugin(course, tmp_path):
    out = tmp_path / "r.json"
    result = run_cli("--exercises", course, "grade", "house_prices", tmp_path / "mine.py", "--json", out)
    report = json.loads(out.read_text())
    assert (result.exit_code, report["score"]) == (0, 10), result.output
    assert {c["name"]: c["message"] for c in report["checks"]}["one_neuron"] == \
        "The model has 2 parameters (at most 2 allowed)."
    assert "sees the course plugin: False" in report["run"]["output_tail"]  # trusted side only
    out = tmp_path / "c.json"
    result = run_cli("--exercises", course, "grade", "celsius", course / "celsius" / "bad" / "too_big.py",
                     "--json", out)
    assert {c["name"]: c["message"] for c in json.loads(out.read_text())["checks"]}["one_neuron"] == \
        "The model has 33 parameters; at most 2 are allowed."
    listed = run_cli("--exercises", course, "plugins")
    assert f"from: {course / 'plugin.py'}" in listed.output and "grader_register_checks" in listed.output
    assert "    check type: max_params (max_params)\n" in listed.output  # what it registers, with its fields


def test_an_edit_takes_effect_on_the_next_command(course, tmp_path):
    plugin = course / "plugin.py"
    plugin.write_text(plugin.read_text().replace("allowed).", "allowed, EDITED)."))
    out = tmp_path / "r.json"
    result = run_cli("--exercises", course, "grade", "house_prices", tmp_path / "mine.py", "--json", out)
    assert result.exit_code == 0, result.output
    assert {c["name"]: c["message"] for c in json.loads(out.read_text())["checks"]}["one_neuron"] == \
        "The model has 2 parameters (at most 2 allowed, EDITED)."


def _lines(text: str) -> int:
    return len(text.splitlines())


def _line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(start))


@pytest.mark.parametrize("change,message", [
    (lambda t: t + "x = (\n", lambda t: f"plugin.py, line {_lines(t) + 1}: '(' was never closed (a syntax error in "
                                        "the local plugin)."),
    (lambda t: "import not_a_module_anywhere\n" + t,
     lambda t: "plugin.py, line 1: ModuleNotFoundError: No module named 'not_a_module_anywhere' (while loading the "
               "local plugin)."),
    (lambda t: t.replace("(register):", "(registr):"),
     lambda t: f"plugin.py: line {_line_of(t, 'def grader_register_checks') - 1}: Plugin"),  # its @hookimpl
    (lambda t: t + "\n\n@hookimpl\ndef grader_register_datasets(register):\n    from grader.builtin.datasets import "
                   "mnist\n    mnist.grader_register_datasets(register)\n",
     lambda t: "'mnist' is registered twice: by grader.builtin.datasets.mnist and by"),
    (lambda t: t.replace('Field("integer"', 'Field("int"'),  # a mistake inside the hook, said with its line
     lambda t: f"plugin.py, line {_line_of(t, '                       fields=')}: ValueError: Field kind 'int' is not "
               "one of: number, integer, string, boolean, numbers, strings. (in grader_register_checks)."),
    (lambda t: t.replace("@hookimpl\ndef grader_register_checks", "def grader_register_checks"),
     lambda t: "plugin.py: grader_register_checks is not marked as a hook, so the grader would never call it: put "
               "@hookimpl (from grader.api import hookimpl) on the line above its def."),
])
def test_a_broken_plugin_is_a_configuration_error_naming_file_and_line(course, change, message):
    original = (course / "plugin.py").read_text()
    (course / "plugin.py").write_text(change(original))
    result = run_cli("--exercises", course, "list")
    assert result.exit_code == 2
    assert message(original) in result.output
    assert "Traceback" not in result.output


def test_without_the_course_folder_its_plugin_is_gone(course):
    run_cli("--exercises", course, "list")
    listed = run_cli("plugins")
    assert "plugin.py" not in listed.output


def test_a_check_that_raises_says_where_once_and_grades_the_rest(course, tmp_path):
    plugin = course / "plugin.py"
    plugin.write_text(plugin.read_text().replace(
        "    n = evidence.model().count_params()", "    n = evidence.model().layers[0].filter"))
    out = tmp_path / "r.json"
    result = run_cli("--exercises", course, "grade", "house_prices", tmp_path / "mine.py", "--json", out)
    assert result.exit_code == 3
    checks = {c["name"]: c for c in json.loads(out.read_text())["checks"]}
    line = _line_of(plugin.read_text(), "    n = evidence.model()")
    message = checks["one_neuron"]["message"]
    assert checks["one_neuron"]["status"] == "error"
    assert message.startswith(f"The check 'max_params' raised AttributeError at {plugin}, line {line}: layer ")
    assert message.endswith("This is a mistake in the check, not in your work: it was not graded.")
    assert "; it has " in message and ", units, use_bias." in message  # the whole list of what it has
    assert checks["price_of_7_bedrooms"]["status"] == "passed"  # the other checks are graded
