import inspect

import pytest

from conftest import SUBMISSIONS, by_name, run_cli
from grader import hookspecs, plugins
from grader.exercise import ExerciseError, load_exercise
import grader_sample_plugin


def test_every_hook_is_documented_with_its_parameters():
    hooks = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("grader_")]
    assert {f.__name__ for f in hooks} == {"grader_register_exercises", "grader_register_checks",
                                          "grader_register_reporters", "grader_register_datasets",
                                          "grader_register_diagnoses"}
    for hook in hooks:
        doc = inspect.getdoc(hook) or ""
        for param in inspect.signature(hook).parameters:
            assert f":param {param}:" in doc, hook.__name__


def test_builtins_register_through_the_plugin_manager():
    names = [p["name"] for p in plugins.describe_plugins()]
    assert names[:len(plugins.DEFAULT_PLUGINS)] == list(plugins.DEFAULT_PLUGINS)
    assert set(plugins.check_types()) == {"prediction", "trained_with_fit", "within_limits", "callback_stopped",
                                          "stopped_at_threshold", "stopped_early", "accuracy", "convolutional",
                                          "augmented", "model_size", "pretrained_base", "split_data"}
    assert set(plugins.datasets()) == {"fashion_mnist", "cats_and_dogs_filtered", "mnist", "happy_or_sad",
                                        "sign_mnist", "horse_or_human", "pet_images", "inception_v3"}
    assert set(plugins.reporters()) == {"json", "html", "junit", "gradescope", "github-classroom"}
    result = run_cli("plugins")
    assert result.exit_code == 0
    assert "grader.builtin.checks.prediction\n" in result.output
    assert "hooks: grader_register_checks" in result.output


@pytest.fixture
def third_party():
    pm = plugins.get_plugin_manager()
    pm.register(grader_sample_plugin, name="param_limit")
    try:
        yield
    finally:
        pm.unregister(name="param_limit")


def test_a_third_party_plugin_adds_an_exercise_and_a_check_type(third_party, tmp_path):
    assert "tiny_line" in run_cli("list").output
    sub = tmp_path / "line.py"
    sub.write_text("import numpy as np, tensorflow as tf\n"
                   "xs = np.array([0.0, 1.0, 2.0, 3.0])\n"
                   "model = tf.keras.Sequential([tf.keras.Input((1,)), tf.keras.layers.Dense(1)])\n"
                   "model.compile(optimizer='sgd', loss='mse')\nmodel.fit(xs, 2 * xs + 1, epochs=300, verbose=0)\n")
    out = tmp_path / "r.json"
    result = run_cli("grade", "tiny_line", sub, "--json", out)
    import json

    report = json.loads(out.read_text())
    assert by_name(report)["small"]["message"] == "The model has 2 parameters (at most 2 allowed)."
    assert result.exit_code == 0


def test_a_duplicate_registration_names_both_plugins(third_party):
    class Again:
        @hookspecs.hookimpl
        def grader_register_checks(self, register):
            from grader.checks import CheckType

            register(CheckType(name="prediction", run=lambda e, c: None))

    pm = plugins.get_plugin_manager()
    pm.register(Again(), name="again")
    try:
        with pytest.raises(plugins.PluginError, match="'prediction' is registered twice: by "
                                                      "grader.builtin.checks.prediction and by again."):
            plugins.check_types()
    finally:
        pm.unregister(name="again")


@pytest.mark.parametrize("check, message", [
    ('name = "p"\ntype = "prediction"\ninputs = [1.0]\nexpected = [2.0]\ntolerance = "close"',
     "spec.toml, check 'p': field 'tolerance' must be a number, got 'close'."),
    ('name = "p"\ntype = "prediction"\ninputs = [1.0]',
     "spec.toml, check 'p': missing field 'expected' (a non-empty list of numbers) that check type 'prediction' needs."),
    ('name = "p"\ntype = "prediction"\ninputs = [1.0, 2.0]\nexpected = [2.0]',
     "spec.toml, check 'p': 'inputs' has 2 values but 'expected' has 1; give one expected value per input."),
    ('name = "p"\ntype = "predicton"',
     "spec.toml, check 'p': unknown check type 'predicton'; known types: accuracy, augmented, callback_stopped, "
     "convolutional, model_size, prediction, pretrained_base, split_data, stopped_at_threshold, stopped_early, trained_with_fit, within_limits."),
    ('name = "p"\ntype = "within_limits"\npoints = "ten"',
     "spec.toml, check 'p': field 'points' must be a whole number or a number, got 'ten'."),
    ('name = "p"\ntype = "within_limits"\nmax_epochs = 3',
     "spec.toml, check 'p': unknown field(s) max_epochs for check type 'within_limits'; it reads: no fields."),
    ('name = "p"\ntype = "accuracy"\ntreshold = 0.9',  # a misspelt field is named as such, not as a missing one
     "spec.toml, check 'p': unknown field(s) treshold for check type 'accuracy'; it reads: seen, split, threshold."),
])
def test_a_bad_spec_field_is_named_with_file_check_and_expected_type(tmp_path, check, message):
    (tmp_path / "spec.toml").write_text(f'title = "t"\n[[checks]]\n{check}\n')
    with pytest.raises(ExerciseError) as err:
        load_exercise(tmp_path)
    assert str(err.value) == f"{tmp_path / message}"


@pytest.mark.parametrize("table, message", [
    ('[submission]\noutputs = "/tmp/cats-v-dogs"',
     "submission.outputs"),
    ('[submission]\noutputs = [3]',
     "[submission] outputs must be a list of folders (text) the program writes, such as [\"/tmp/cats-v-dogs\"]; "
     "got [3]."),
    ('[dataset]\nname = "horse_or_human"\npretrained = ["inception_v4"]',
     "[dataset] pretrained names weights that are not registered: inception_v4"),
])
def test_a_bad_outputs_or_pretrained_entry_is_named(tmp_path, table, message):
    (tmp_path / "spec.toml").write_text(f'title = "t"\n{table}\n[[checks]]\nname = "w"\ntype = "within_limits"\n')
    with pytest.raises(ExerciseError) as err:
        load_exercise(tmp_path)
    assert str(err.value).startswith(str(tmp_path / "spec.toml")) and message in str(err.value)


def test_verify_reports_an_unsound_exercise(tmp_path):
    from grader.verify import verify_exercise

    (tmp_path / "spec.toml").write_text(
        'title = "t"\n[limits]\ntime_limit = 60\n[[checks]]\nname = "trained"\ntype = "trained_with_fit"\n')
    (tmp_path / "solution.py").write_text((SUBMISSIONS / "hello_world" / "full_marks.py").read_text())
    (tmp_path / "starter.py").write_text((SUBMISSIONS / "hello_world" / "full_marks.py").read_text())
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "not_bad.py").write_text(
        "# expect-fail: trained\n" + (SUBMISSIONS / "hello_world" / "full_marks.py").read_text())
    (tmp_path / "bad" / "typo.py").write_text("# expect-fail: traned\nprint(1)\n")
    rows = verify_exercise(load_exercise(tmp_path))
    assert [(r.role, r.ok, r.detail) for r in rows] == [
        ("solution", True, "1/1"),
        ("starter", False, "1/1 — the starter must not get full marks"),
        ("bad", False, "trained passed — it must fail trained"),
        ("bad", False, "names the check 'traned', which the exercise does not have"),
    ]


def test_verify_every_builtin_exercise():
    result = run_cli("exercise", "verify", "hello_world")
    assert result.output.splitlines()[-1] == "hello_world: sound."
    assert result.exit_code == 0
    assert result.output.count("[ok]") == 5


def test_a_loss_that_fell_a_little_is_shown_falling():
    """trained_with_fit says how the loss fell with as many digits as show it (helper-17's hand-set model trained at a
    tiny rate was told "the loss fell from 0.7517 to 0.7517")."""
    from plugins.checks.training import fell

    assert fell(61.2, 0.5) == "the loss fell from 61.2 to 0.5"
    assert fell(0.75171234, 0.75170001) == "the loss fell from 0.75171 to 0.7517"
    assert fell(0.751712341, 0.751712339) == "the loss fell from 0.751712341 to 0.751712339"
