"""Real course code graded on the Keras it was written for, from the data paths it opens (issue 24)."""

import json
import os

import pytest

from conftest import SUBMISSIONS, run_cli
from grader import datapaths, runtime
from grader.datasets import Staged
from grader.evaluate import other_version_hint
from grader.exercise import ExerciseError, load_exercise


# ---------------------------------------------------------------- choosing the runtime (source as text)
def test_tf_keras_2_idioms_choose_tf_keras_and_name_the_first_with_its_line():
    choice = runtime.choose("import tensorflow as tf\n\nopt = tf.keras.optimizers.legacy.SGD(lr=0.01)\n")
    assert choice.name == "keras2"
    assert choice.signs == [{"sign": "a legacy optimizer (tf.keras.optimizers.legacy)", "line": 3},
                            {"sign": "an optimizer's lr= argument", "line": 3}]
    assert choice.reason == ("your code is written for tf.keras 2: it uses a legacy optimizer "
                             "(tf.keras.optimizers.legacy) (line 3) and 1 more tf.keras 2 idiom, which Keras 3 "
                             "changed or dropped. tf-keras is the Keras team's package for such code.")


@pytest.mark.parametrize("line", [
    "model.compile(optimizer=tf.train.AdamOptimizer(), loss='mse')",
    "model.compile(optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.1), loss='mse')",
    "history = model.fit_generator(gen, epochs=3)",
    "from keras.preprocessing.image import ImageDataGenerator",
    "print(model.predict([10.0]))",
    "model.compile(optimizer=RMSprop(lr=0.001), loss='binary_crossentropy')",
    "sess = tf.Session(config=config)",
    "model.compile(optimizer='adam', loss='mse', metrics=['acc'])",
    "print(history.history['acc'][-1])",
])
def test_each_tf_keras_2_idiom_is_a_sign(line):
    assert runtime.choose(line + "\n").name == "keras2"


def test_modern_code_and_words_in_comments_or_strings_stay_on_keras_3():
    source = ('# older versions used SGD(lr=0.01) and model.fit_generator(...)\n'
              'print("do not call model.predict([10.0]) with a list any more")\n'
              'model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.01), loss="mse")\n')
    assert runtime.choose(source).name == "keras3"
    assert runtime.choose(source).reason == "your code uses today's tf.keras API."


def test_keras_3_apis_beside_old_idioms_keep_keras_3():
    choice = runtime.choose("import keras\nx = keras.ops.ones((2,))\nopt = keras.optimizers.SGD(lr=0.1)\n")
    assert choice.name == "keras3"
    assert choice.reason.startswith("your code uses Keras 3 (Keras 3 modules (keras.ops, keras.config), line 2)")


def test_an_exercise_pins_a_runtime_and_a_wrong_value_is_named(tmp_path):
    assert runtime.choose("opt = SGD(lr=0.1)\n", "keras3").name == "keras3"
    assert runtime.choose("x = 1\n", "keras2").name == "keras2"
    folder = tmp_path / "pinned"
    folder.mkdir()
    (folder / "spec.toml").write_text('title = "t"\nruntime = "keras4"\n[dataset]\nname = "x"\nsource = "exercise"\n'
                                      '[[checks]]\nname = "c"\ntype = "within_limits"\npoints = 1\n')
    with pytest.raises(ExerciseError) as err:
        load_exercise(folder)
    assert "field 'runtime' must be one of auto, keras2, keras3" in str(err.value)
    assert "got 'keras4'" in str(err.value)


# ---------------------------------------------------------------- graded on tf-keras (real child, real training)
def _grade(tmp_path, exercise, path, *extra):
    out = tmp_path / "r.json"
    result = run_cli("grade", exercise, path, "--json", out, *extra)
    return result, json.loads(out.read_text())


def test_tensorflow_1_code_runs_on_tf_keras_with_each_translation_named(tmp_path):
    result, report = _grade(tmp_path, "hello_world", SUBMISSIONS / "hello_world" / "tf1_train_optimizer.py")
    assert report["score"] == 10, [c["message"] for c in report["checks"]]
    assert report["environment"]["runtime"]["name"] == "keras2"
    assert report["environment"]["keras"].startswith("2.")
    assert [(n["idiom"], n["line"]) for n in report["legacy"]] == [
        ("tf.train.GradientDescentOptimizer(...)", 7),
        ("history.history['acc'] when the metric is logged as 'accuracy'", 13),
        ("model.predict on a Python list", 14)]
    assert "final accuracy" in report["run"]["output_tail"]
    assert "Keras: ran on tf-keras (Keras 2), because your code is written for tf.keras 2" in result.output


def test_a_loss_function_in_compile_is_not_refused(tmp_path):
    source = (SUBMISSIONS / "hello_world" / "tf2_legacy_optimizer.py").read_text().replace(
        "tf.keras.optimizers.legacy.SGD(lr=0.01)", "'sgd'")  # on Keras 3 now: no tf.keras 2 idiom left
    path = tmp_path / "mse_function.py"
    path.write_text(source.replace("print(model.predict([10.0]))", ""))
    _, report = _grade(tmp_path, "hello_world", path)
    assert report["environment"]["runtime"]["name"] == "keras3"
    assert report["score"] == 10, [c["message"] for c in report["checks"]]


def test_a_tensorflow_1_name_is_said_to_be_one_and_a_typo_gets_pythons_suggestion(tmp_path):
    path = tmp_path / "placeholder.py"
    path.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32, [None, 1])\n")
    result, report = _grade(tmp_path, "hello_world", path)
    hint = report["checks"][0]["hint"]
    assert hint.startswith("`tf.placeholder` is not in TensorFlow 2, which graded your file: it is a TensorFlow 1 name")
    assert "`tf.compat.v1.placeholder`" in hint
    path = tmp_path / "typo.py"
    path.write_text("import tensorflow as tf\nfrom tensorflow.keras import layers\nm = layers.Dence(1)\n")
    _, report = _grade(tmp_path, "hello_world", path)
    assert report["run"]["error"]["message"].endswith("has no attribute 'Dence'. Did you mean: 'Dense'?")


def test_other_version_hints_name_the_import():
    hint = other_version_hint({"message": "cannot import name 'Adam' from 'keras.optimizers.legacy'"})
    assert hint.startswith("Your file imports `Adam` from `keras.optimizers.legacy`, which another TensorFlow/Keras "
                           "version had")
    assert other_version_hint({"message": "No module named 'tensorflow.contrib'"}).startswith(
        "Your file imports `tensorflow.contrib`")
    assert other_version_hint({"message": "name 'x' is not defined"}) is None


# ---------------------------------------------------------------- the program's own data paths
SOURCE = '''import os, zipfile, csv
import pandas as pd
BASE = "../../sources/"
TRAIN = os.path.join(BASE, "sign_mnist_train.csv")
zipfile.ZipFile('./Dataset/happy-or-sad.zip').extractall('/tmp/x')
df = pd.read_csv(TRAIN)
with open(f"{BASE}sign_mnist_test.csv") as f:
    rows = list(csv.reader(f))
gen.flow_from_directory('../data/HappySad', target_size=(150, 150))
print(open(some_variable).read())
'''


def test_literal_paths_in_data_loading_calls_are_found_with_their_lines():
    assert datapaths.paths_in(SOURCE) == [
        {"path": "./Dataset/happy-or-sad.zip", "kind": "zip", "line": 5, "classes": False},
        {"path": "../../sources/sign_mnist_train.csv", "kind": "file", "line": 6, "classes": False},
        {"path": "../../sources/sign_mnist_test.csv", "kind": "file", "line": 7, "classes": False},
        {"path": "../data/HappySad", "kind": "folder", "line": 9, "classes": True},
    ]


def test_paths_that_name_the_staged_copy_are_served_and_others_are_left_alone(tmp_path):
    workdir = tmp_path / "work"
    home = workdir / "sign-language-mnist"
    home.mkdir(parents=True)
    for name in ("sign_mnist_train.csv", "sign_mnist_test.csv"):
        (home / name).write_text("label,pixel1\n")
    staged = Staged(home=home, links={}, downloads={})
    links, archives, notes = datapaths.serve(SOURCE, staged, workdir)
    assert links == {"../../sources/sign_mnist_train.csv": str(home / "sign_mnist_train.csv"),
                     "../../sources/sign_mnist_test.csv": str(home / "sign_mnist_test.csv")}
    assert archives == []
    assert notes[0] == {"how": "your path '../../sources/sign_mnist_train.csv' (the grader's copy of the data is "
                               "served there)", "line": 6}


def test_a_folder_of_classes_is_served_under_the_name_the_program_gives_it(tmp_path):
    workdir = tmp_path / "work"
    tree = workdir / "happy-or-sad"
    for cls in ("happy", "sad"):
        (tree / cls).mkdir(parents=True)
        (tree / cls / "1.png").write_bytes(b"png")
    archive = str(workdir / ".keras" / "happy-or-sad.zip")
    staged = Staged(home=tree, downloads={"happy-or-sad.zip": {"archive": archive, "tree": str(tree), "top": ""}})
    links, archives, _ = datapaths.serve(SOURCE, staged, workdir)
    assert links == {"./Dataset/happy-or-sad.zip": archive, "../data/HappySad": str(tree)}
    assert archives == [{"archive": archive, "tree": str(tree), "top": ""}]


def test_a_course_zip_at_the_programs_own_path_is_graded(tmp_path, standin):
    program = tmp_path / "own_path.py"
    program.write_text('''import os, zipfile
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

zipfile.ZipFile('./Dataset/happy-or-sad.zip').extractall('./unzipped')
print(sorted(os.listdir('./unzipped')))  # a folder the program fills itself is its own
gen = ImageDataGenerator(rescale=1 / 255).flow_from_directory('../data/HappySad', target_size=(30, 30),
                                                              batch_size=10, class_mode='binary')
model = tf.keras.Sequential([tf.keras.Input(shape=(30, 30, 3)), tf.keras.layers.Conv2D(2, 3),
                             tf.keras.layers.Flatten(), tf.keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
model.fit(gen, epochs=1, verbose=0)
''')
    _, report = _grade(tmp_path, "happy_or_sad", program, "--data-dir", standin)
    assert report["run"]["status"] == "ok", report["run"]["error"]
    assert "['happy', 'sad']" in report["run"]["output_tail"]
    assert [d["how"] for d in report["data_access"]] == [
        "your path './Dataset/happy-or-sad.zip' (the grader's copy of the data is served there)",
        "your path '../data/HappySad' (the grader's copy of the data is served there)"]
    assert report["training"]["fits"][0]["epochs_run"] == 1


# ---------------------------------------------------------------- the course's older, stricter thresholds
def test_a_stricter_threshold_the_exercise_accepts_is_right_and_a_late_stop_is_not():
    from grader.builtin.checks.callback import stricter_threshold

    # 2019-20's callback waits for 99.8%: it stops at epoch 4, the first over 0.998, past 0.995 at epoch 3
    assert stricter_threshold([0.97, 0.99, 0.996, 0.9985], 0.995, 0.998) == 0.996
    # a callback that stops at the first epoch past any threshold in [0.995, 0.998] is right...
    assert stricter_threshold([0.97, 0.996, 0.997], 0.995, 0.998) == 0.996
    # ...but not one that went on after 0.998 was reached, nor one that stopped below 0.995
    assert stricter_threshold([0.97, 0.9985, 0.999], 0.995, 0.998) is None
    assert stricter_threshold([0.97, 0.99], 0.995, 0.998) is None
    assert stricter_threshold([0.97, 0.996, 0.997], 0.995, None) is None


def test_more_steps_than_one_pass_cycle_through_the_data_as_keras_2_did(tmp_path, standin):
    program = tmp_path / "many_steps.py"
    program.write_text('''import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

gen = ImageDataGenerator(rescale=1 / 255).flow_from_directory('./happy-or-sad', target_size=(30, 30),
                                                              batch_size=20, class_mode='binary')
model = tf.keras.Sequential([tf.keras.Input(shape=(30, 30, 3)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
seen = []
model.fit(gen, steps_per_epoch=8, epochs=3, verbose=0,
          callbacks=[tf.keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))])
print("batches", len(seen))
''')
    _, report = _grade(tmp_path, "happy_or_sad", program, "--data-dir", standin)
    assert report["run"]["status"] == "ok", report["run"]["error"]
    assert "batches 24" in report["run"]["output_tail"]  # 8 steps of 20 pictures, 3 epochs, over 80 faces
    assert report["training"]["fits"][0]["epochs_run"] == 3
    assert ("steps_per_epoch=8, more than one pass of the data (4 batches)", 10) in [
        (n["idiom"], n["line"]) for n in report["legacy"]]
