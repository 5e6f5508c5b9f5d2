"""Course code as students really wrote it, round 2: notebook exports, Colab leftovers, TF1 session
boilerplate, every keras.datasets loader answered at the loader, the assignments' changing function
shapes, and the places course code looks for its data."""

import json
import shutil

from conftest import EXERCISES, SUBMISSIONS, run_cli


def legacy_of(exercise, path, tmp_path, *extra):
    out = tmp_path / "r.json"
    run_cli("grade", exercise, path, "--json", out, *extra)
    report = json.loads(out.read_text())
    return report, [(n["idiom"], n["line"]) for n in report["legacy"]]


def test_a_notebook_export_runs_and_each_leftover_is_named_with_its_line(tmp_path):
    report, legacy = legacy_of("hello_world", SUBMISSIONS / "hello_world" / "nbconvert_export.py", tmp_path)
    assert report["score"] == 10
    # lists given to the model are tf.keras 2 code: it runs on tf-keras, where input_shape= is no idiom
    assert report["environment"]["runtime"]["name"] == "keras2"
    assert report["environment"]["runtime"]["signs"][0] == {"sign": "a Python list given to the model", "line": 30,
                                                             "where": "line 30"}
    assert legacy == [("from IPython import get_ipython", 8),
                      ("get_ipython().system('pip install -q tensorflow')", 9),
                      ("import wget", 14), ("model.fit on a Python list", 24),
                      ("model.predict on a Python list", 30), ("model.evaluate on a Python list", 31)]


def test_tf1_session_boilerplate_is_a_noted_no_op(tmp_path):
    report, legacy = legacy_of("hello_world", SUBMISSIONS / "hello_world" / "tf1_session.py", tmp_path)
    assert report["score"] == 10
    # TensorFlow 1 code runs on tf-keras, whose tf.compat.v1.keras.backend.set_session is its own
    assert report["environment"]["runtime"]["name"] == "keras2"
    assert legacy[:5] == [("tf.ConfigProto(...)", 7), ("tf.Session(...)", 9), ("set_session(sess)", 10),
                          ("tf.compat.v1.Session(...)", 12), ("model.predict on a Python list", 19)]


HOUSE_SPEC = """title = "Week 1: house prices"
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
name = "price_of_7_bedrooms"
type = "prediction"
title = "A house with 7 bedrooms costs about 400k"
points = 10
inputs = [7.0]
expected = [4.0]
tolerance = 0.5
"""
TRAIN = """    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    ys = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])
    model.compile(optimizer='sgd', loss='mean_squared_error')
    model.fit(xs, ys, epochs=500, verbose=0)
"""
SHAPES = {
    "predicts.py": "def house_model(y_new):\n" + TRAIN + "    return model.predict(y_new)[0]\n\n"
                   "prediction = house_model([7.0])\nprint(prediction)\n",
    "returns_model.py": "def house_model():\n" + TRAIN + "    return model\n",
    "returns_model_no_call.py": "def house_model():\n" + TRAIN + "    return model\n\nmodel = house_model()\n",
}


def test_one_spec_grades_every_shape_of_the_assignments_function(tmp_path):
    course = tmp_path / "course" / "houses"
    course.mkdir(parents=True)
    (course / "spec.toml").write_text(HOUSE_SPEC)
    for name, body in SHAPES.items():
        path = tmp_path / name
        path.write_text("import tensorflow as tf\nimport numpy as np\n\n\n" + body)
        out = tmp_path / f"{name}.json"
        result = run_cli("--exercises", course, "grade", "houses", path, "--json", out)
        report = json.loads(out.read_text())
        assert (result.exit_code, report["score"]) == (0, 10), (name, report["checks"][0]["message"])


def test_a_keras_loader_without_a_copy_fails_at_once_with_a_sentence(tmp_path):
    (tmp_path / "s.py").write_text("import tensorflow as tf\n(x, y), _ = tf.keras.datasets.cifar10.load_data()\n")
    out = tmp_path / "r.json"
    run_cli("grade", "hello_world", tmp_path / "s.py", "--json", out)
    err = json.loads(out.read_text())["run"]["error"]
    assert (err["type"], err["line"]) == ("RuntimeError", 2)
    assert err["message"] == ("grader: keras.datasets.cifar10.load_data() needs cifar-10-python.tar.gz, and the "
                              "grader has no copy of it for this exercise (there is no network while grading).")


def test_image_data_is_where_course_code_looks_for_it(tmp_path, standin):
    exercise = tmp_path / "ex" / "cnn_paths"
    shutil.copytree(EXERCISES / "cnn_augmentation", exercise)
    spec = exercise / "spec.toml"
    spec.write_text(spec.read_text().replace('name = "cats_and_dogs_filtered"',
                                             'name = "cats_and_dogs_filtered"\npaths = ["/content/cats"]'))
    places = ["/tmp/cats_and_dogs_filtered", "data/cats_and_dogs_filtered", "../data/cats_and_dogs_filtered",
              "cats_and_dogs_filtered", "/content/cats", "/content/dogs"]
    (tmp_path / "s.py").write_text(f"import os\nfor p in {places!r}:\n"
                                   "    print(p, os.path.isdir(p) and sorted(os.listdir(p)))\n"
                                   "os.listdir('/content/dogs/train')\n")
    out = tmp_path / "r.json"
    run_cli("--exercises", exercise.parent, "grade", "cnn_paths", tmp_path / "s.py", "--data-dir", standin,
            "--json", out)
    report = json.loads(out.read_text())
    shown = [line.split(" ", 1) for line in report["run"]["output_tail"].splitlines()[:6]]
    assert shown == [[p, "['train', 'validation']"] for p in places[:5]] + [["/content/dogs", "False"]]
    hint = {d["name"]: d for d in report["diagnoses"]}["data_path_missing"]
    assert hint["evidence"] == (
        "it asked for '/content/dogs/train' (FileNotFoundError at line 4); while grading, the dataset "
        "cats_and_dogs_filtered is at ./cats_and_dogs_filtered, /tmp/cats_and_dogs_filtered, "
        "data/cats_and_dogs_filtered, ../data/cats_and_dogs_filtered, /content/cats.")


def test_a_functional_api_model_is_graded_like_a_sequential_one(grade_file):
    """keras.Model(inputs, outputs), as the course's transfer-learning notebooks build models: its saved
    connections are data (Keras' __keras_tensor__ entries), not code."""
    source = ("import numpy as np\nimport tensorflow as tf\n"
              "inputs = tf.keras.Input(shape=(1,))\n"
              "hidden = tf.keras.layers.Dense(4)(inputs)\n"
              "outputs = tf.keras.layers.Dense(1)(hidden)\n"
              "model = tf.keras.Model(inputs, outputs)\n"
              "model.compile(optimizer='sgd', loss='mse')\n"
              "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
              "model.fit(xs, 3 * xs + 1, epochs=400, verbose=0)\n")
    result, report = grade_file(source)
    assert [c["message"] for c in report["checks"] if "safely" in c["message"]] == []
    assert report["model"]["class"] == "Functional"
    assert [layer["class"] for layer in report["model"]["layers"]] == ["InputLayer", "Dense", "Dense"]


def test_an_entry_argument_the_dataset_does_not_provide_is_the_specs_mistake(tmp_path, standin):
    shutil.copytree(EXERCISES / "cnn_augmentation", tmp_path / "cnn_augmentation")
    spec = tmp_path / "cnn_augmentation" / "spec.toml"
    spec.write_text(spec.read_text().replace('entry_args = ["train_dir", "validation_dir"]',
                                             'entry_args = ["train_dir", "val_dir"]'))
    result = run_cli("--exercises", tmp_path, "grade", "cnn_augmentation", EXERCISES / "cnn_augmentation" / "solution.py",
                     "--data-dir", standin)
    assert result.exit_code == 2
    assert ("[submission] entry_args names 'val_dir', which the exercise's dataset does not provide; it provides: "
            in result.output) and "validation_dir" in result.output
