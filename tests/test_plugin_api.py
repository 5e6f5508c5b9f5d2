"""The plugin API reference (docs/plugin-api.md) cannot drift: every hook and every public name is
documented, and its worked course is written out and run with the commands the page gives."""

import csv
import inspect
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT, run_cli
from grader import api, hookspecs

DOC = ROOT / "docs" / "plugin-api.md"


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block."""
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)


def test_every_hook_and_every_public_name_is_documented():
    text = DOC.read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("grader_")]
    assert hooks and all(f"### {h}" in text or f"`{h}(register)`" in text for h in hooks)
    for h in hooks:
        assert f"`{h}(register)`" in text, h
    missing = [name for name in api.__all__ if name not in text]
    assert missing == []


def test_every_built_in_check_type_is_documented_with_its_fields():
    from grader.plugins import check_types

    rows = {line.split("|")[1].strip(" `"): line.split("|")[3] for line in DOC.read_text().splitlines()
            if line.startswith("| `") and line.count("|") == 4}
    for name, ctype in check_types().items():
        assert name in rows, name
        assert [f for f in ctype.fields if f"`{f}`" not in rows[name]] == [], name


def write_course(tmp_path):
    """Every block whose first line names a file under course/, written there (continued blocks appended)."""
    written = {}
    for _, body in blocks(DOC.read_text()):
        first, _, rest = body.partition("\n")
        m = re.fullmatch(r"# (course/\S+)( \(continued\))?", first.strip())
        if not m:
            continue
        path = tmp_path / m.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = rest if not m.group(2) else "\n\n" + rest
        written[m.group(1)] = written.get(m.group(1), "") + text
        path.write_text(written[m.group(1)])
    return written


def commands():
    bash = [body for lang, body in blocks(DOC.read_text()) if lang == "bash"]
    return [shlex.split(line) for line in bash[-1].splitlines() if line.startswith("grader ")]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    written = write_course(root)
    assert {"course/plugin.py", "course/neuron/spec.toml", "course/neuron/solution.py", "course/neuron/starter.py",
            "course/neuron/bad/one_output.py"} <= set(written)
    return root


def test_the_documented_course_runs_as_the_page_says(course, monkeypatch):
    monkeypatch.chdir(course)
    outputs = {}
    for argv in commands():
        result = run_cli(*argv[1:])
        outputs[" ".join(argv[3:5])] = result.output
        assert result.exit_code == 0, (argv, result.output)
    verify = outputs["exercise verify"]
    assert "[ok] solution solution.py: 5/5" in verify
    assert "[ok] bad      one_output.py: two_outputs failed" in verify
    with open(course / "points.csv", newline="") as f:
        assert list(csv.reader(f)) == [["neuron", "5", "5"]]
    assert (course / "standin" / "rock_paper_scissors" / "STAND-IN.txt").is_file()
    assert sorted(p.name for p in (course / "standin" / "rock_paper_scissors").iterdir()) == [
        "STAND-IN.txt", "train", "validation"]
    assert sorted(p.name for p in (course / "standin" / "rock_paper_scissors" / "train").iterdir()) == [
        "paper", "rock", "scissors"]


def test_the_released_hand_out_command_runs_as_written(course, monkeypatch):
    """The hand-out carries the course's plugin.py, and CHECK-YOUR-WORK.md's command, run exactly as
    written from the folder it names, grades the starter with the course's own check."""
    handout = course / "handout"
    assert (handout / "neuron" / "plugin.py").read_text() == (course / "course" / "plugin.py").read_text()
    command = next(line.strip() for line in (handout / "neuron" / "CHECK-YOUR-WORK.md").read_text().splitlines()
                   if line.strip().startswith("grader "))
    done = subprocess.run([sys.executable, "-m", "grader", *shlex.split(command)[1:]], cwd=handout,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # graded: the starter does not pass
    assert "The last layer is Dense(1, activation='linear')." in done.stdout
    assert (handout / "report.html").is_file()
    # the notebook hand-out's own command too, as written in its second cell
    import json

    cell = "".join(json.loads((handout / "neuron" / "starter.ipynb").read_text())["cells"][1]["source"])
    command = next(line.strip() for line in cell.splitlines() if line.strip().startswith("grader "))
    assert command == ("grader --exercises neuron grade neuron neuron/starter.ipynb --public-only "
                       "--html report.html")
    done = subprocess.run([sys.executable, "-m", "grader", *shlex.split(command)[1:]], cwd=handout,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "The last layer is Dense(1, activation='linear')." in done.stdout


def test_a_layer_says_what_it_has_instead_of_a_quiet_none():
    from grader.api import Layer

    layer = Layer({"class": "Dense", "name": "dense_1", "output_shape": [None, 3], "input_shape": [None, 8],
                   "params": 27, "depth": 0, "config": {"units": 3, "activation": "softmax", "use_bias": True}})
    assert (layer.class_name, layer.units, layer.activation, layer.output_shape) == ("Dense", 3, "softmax", (None, 3))
    assert layer["class"] == "Dense" and layer.params == 27
    with pytest.raises(AttributeError) as err:
        layer.filters
    assert str(err.value) == ("layer 'dense_1' (Dense) has no 'filters'; it has config, depth, input_shape, name, "
                              "output_shape, params, class_name, and its config's activation, units, use_bias")


def test_a_stand_in_of_three_classes_is_learnt_with_the_courses_augmentations_and_only_with_them(tmp_path):
    """Rock-paper-scissors' stand-in: its classes survive flips and rotations (ellipses at 0/60/120 degrees
    did not: a flip turns 60 into 120), and augmentation still decides (objects left in training, right
    in validation)."""
    import keras
    import tensorflow as tf
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    from grader.builtin.datasets.image_tree import synthesize_tree

    synthesize_tree(tmp_path, 0, ("paper", "rock", "scissors"))
    assert [len(list((tmp_path / "train" / c).iterdir())) for c in ("paper", "rock", "scissors")] == [150] * 3

    def train(augment: dict) -> float:
        keras.utils.set_random_seed(0)
        flow = ImageDataGenerator(rescale=1 / 255, **augment).flow_from_directory(
            tmp_path / "train", target_size=(64, 64), class_mode="categorical", batch_size=32, seed=0)
        val = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
            tmp_path / "validation", target_size=(64, 64), class_mode="categorical", batch_size=32, shuffle=False)
        model = tf.keras.Sequential([tf.keras.Input((64, 64, 3)),
                                     *[layer for n in (16, 32, 32) for layer in
                                       (tf.keras.layers.Conv2D(n, 3, activation="relu"), tf.keras.layers.MaxPooling2D())],
                                     tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation="relu"),
                                     tf.keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(flow, epochs=12, verbose=0)
        return model.evaluate(val, verbose=0)[1]

    course = dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
                  horizontal_flip=True, fill_mode="nearest")
    assert train(course) >= 0.85
    assert train({}) <= 0.5
