"""Issue 10: diagnoses read the training trace and name the course's common mistakes.

Each built-in diagnosis has a small submission here that triggers it; the reference solutions
trigger none (asserted where each reference is graded: test_cli, test_fashion_mnist,
test_cnn_augmentation)."""

import pytest

from conftest import by_name, run_cli
from test_cnn_augmentation import GENERATORS, PREAMBLE, SMALL_CNN

FASHION = ("import numpy as np\nimport tensorflow as tf\n"
           "(x, y), _ = tf.keras.datasets.fashion_mnist.load_data()\n")
LINE = ("import numpy as np\nimport tensorflow as tf\n"
        "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
        "model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n")


def hints(report):
    return {d["name"]: d for d in report["diagnoses"]}


def fashion(grade_file, standin, source):
    return grade_file(FASHION + source, exercise="fashion_mnist_callback", extra=("--data-dir", standin))[1]


def test_unscaled_pixels(standin, grade_file):
    report = fashion(grade_file, standin, """
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x, y, epochs=1, verbose=0)
""")
    hint = hints(report)["inputs_not_scaled"]
    assert hint["evidence"] == ("the training images passed to model.fit had pixel values up to 255.0. Networks learn "
                                "far more easily when all values are between 0 and 1.")
    assert hint["try_this"].startswith("Divide the images by 255.0 before training")


def test_no_softmax_for_the_loss_that_expects_probabilities(standin, grade_file):
    report = fashion(grade_file, standin, """
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x / 255.0, y, epochs=1, verbose=0)
""")
    assert set(hints(report)) == {"output_mismatch"}
    assert hints(report)["output_mismatch"]["evidence"] == (
        "the loss sparse_categorical_crossentropy expects probabilities, but the last layer's activation is linear.")


def test_tensorflows_label_error_is_translated(standin, grade_file):
    report = fashion(grade_file, standin, """
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(5, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x / 255.0, y, epochs=1, verbose=0)
""")
    hint = hints(report)["output_mismatch"]
    assert hint["title"] == "The output layer has fewer units than there are classes"
    assert hint["evidence"].startswith("TensorFlow stopped training: a label is ")
    assert hint["evidence"].endswith(", but the last layer has 5 units, so it can only tell apart classes 0 to 4.")


def test_integer_labels_with_categorical_crossentropy(standin, grade_file):
    report = fashion(grade_file, standin, """
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(x / 255.0, y, epochs=1, verbose=0)
""")
    assert hints(report)["output_mismatch"]["title"] == "Integer labels with categorical_crossentropy"


def test_diverging_loss_names_the_epoch_and_the_learning_rate(grade_file):
    _, report = grade_file(LINE + "model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.5), loss='mse')\n"
                                  "model.fit(xs, 3 * xs + 1, epochs=40, verbose=0)\n")
    hint = hints(report)["learning_rate_too_high"]
    assert hint["title"] == "Training diverged"
    assert hint["try_this"].startswith("Lower the learning rate: SGD used 0.5; try 0.05")
    epoch = report["training"]["fits"][0]["history"]["loss"].index(None)
    assert hint["evidence"].startswith(f"the loss became NaN at epoch {epoch + 1}")
    assert hint["marker"] == {"fit": 0, "epoch": epoch, "label": "loss NaN"}


def test_too_few_epochs_is_underfitting(grade_file):
    _, report = grade_file(LINE + "model.compile(optimizer='sgd', loss='mse')\n"
                                  "model.fit(xs, 3 * xs + 1, epochs=15, verbose=0)\n")
    assert by_name(report)["predicts_31_at_10"]["status"] == "failed"
    hint = hints(report)["underfitting"]
    assert hint["try_this"] == "Train longer (more than 15 epochs)."  # the task is one neuron: never a larger model
    assert by_name(report)["predicts_31_at_10"]["hint"].startswith("Your model was still learning when training ended")
    assert hint["evidence"].endswith("was still falling when training ended at epoch 15, short of what "
                                     "'Predicts y for x = 10' needs.")


def test_overfitting_marks_the_epoch_on_the_chart(standin, grade_file, tmp_path):
    source = FASHION + """
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation='relu'), tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer=tf.keras.optimizers.Adam(0.005), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x[:100] / 255.0, y[:100], validation_data=(x[-2000:] / 255.0, y[-2000:]), epochs=30, batch_size=100,
          verbose=0)
"""  # (the 100 pictures in one batch: in batches of 32 the validation loss wanders, with no clear low point)
    _, report = grade_file(source, exercise="fashion_mnist_callback",
                           extra=("--data-dir", standin, "--html", tmp_path / "r.html"))
    assert set(hints(report)) == {"overfitting"}
    hint = hints(report)["overfitting"]
    val = report["training"]["fits"][0]["history"]["val_loss"]
    best = val.index(min(val))
    assert hint["marker"] == {"fit": 0, "epoch": best, "label": "validation loss lowest"}
    assert hint["evidence"].startswith(f"the validation loss was lowest at epoch {best + 1} ({val[best]:.4g})")
    html = (tmp_path / "r.html").read_text()
    assert ">validation loss lowest</text>" in html and 'id="what-to-try"' in html


def stopping_when(condition: str, epochs: int) -> str:
    """A course-style callback that stops training when ``condition`` holds."""
    return f"""
class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={{}}):
        if {condition}:
            self.model.stop_training = True
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x / 255.0, y, epochs={epochs}, callbacks=[Stop()], verbose=0)
"""


def test_callback_reading_a_metric_the_logs_do_not_have(standin, grade_file):
    report = fashion(grade_file, standin, stopping_when("logs.get('val_acc') > 0.9", epochs=2))
    hint = hints(report)["callback_metric_name"]
    assert hint["evidence"] == ("Stop.on_epoch_end read 'val_acc', but the logs it received held only accuracy, loss: "
                                "logs['val_acc'] raises KeyError and logs.get('val_acc') gives None.")
    assert hint["try_this"] == "Pass validation_data=... to model.fit if you want val_acc; otherwise read logs.get('accuracy')."


def test_callback_comparing_the_wrong_way_round(standin, grade_file):
    report = fashion(grade_file, standin, stopping_when("logs.get('accuracy') < 0.9", epochs=10))
    hint = hints(report)["callback_wrong_direction"]
    assert hint["evidence"].startswith("Stop stopped training at epoch 1, when accuracy was ")
    assert hint["try_this"] == "Stop when logs.get('accuracy') >= 0.9 (check the comparison sign)."


def test_training_on_a_copy_of_the_validation_images_is_found_by_content(standin, grade_file):
    source = PREAMBLE + SMALL_CNN + GENERATORS + """
import shutil
shutil.copytree('cats_and_dogs_filtered/validation', 'my_training_images')
model = small_cnn()
model.fit(flow('my_training_images', horizontal_flip=True), epochs=1, verbose=2)
"""
    _, report = grade_file(source, exercise="cnn_augmentation", extra=("--data-dir", standin))
    hint = hints(report)["trained_on_evaluation_data"]  # the images it had: the rest are held back from it
    assert hint["evidence"] == ("100% of a sample of the examples model.fit trained on are identical (by content hash) "
                                "to the validation images your program was given, whatever folder they were copied "
                                "to.")
    assert by_name(report)["validation_accuracy"]["message"].startswith("Your model was trained on the validation images")


def test_augmented_validation_data(standin, grade_file):
    source = PREAMBLE + SMALL_CNN + GENERATORS + """
model = small_cnn()
model.fit(flow('cats_and_dogs_filtered/train', horizontal_flip=True),
          validation_data=flow('cats_and_dogs_filtered/validation', zoom_range=0.2), epochs=1, verbose=2)
"""
    _, report = grade_file(source, exercise="cnn_augmentation", extra=("--data-dir", standin))
    assert hints(report)["validation_augmented"]["evidence"].startswith(
        "the validation data passed to model.fit applies zoom_range, so val_accuracy measures distorted pictures")


@pytest.mark.parametrize("hook", ["on_train_batch_end", "on_epoch_end"])
def test_a_model_too_slow_for_the_limit(grade_file, hook):
    source = LINE + f"""import time
class Slow(tf.keras.callbacks.Callback):
    def {hook}(self, batch, logs=None):
        time.sleep(1.0)
model.compile(optimizer='sgd', loss='mse')
model.fit(xs, 3 * xs + 1, epochs=100, callbacks=[Slow()], verbose=0)
"""
    _, report = grade_file(source, extra=("--time-limit", "14"))
    hint = hints(report)["too_slow"]
    fit = report["training"]["fits"][0]
    spent = max(fit["duration_s"], sum(fit["epoch_times"]))
    done = max(len(fit["epoch_times"]), fit["epochs_run"])
    # the grader's budget stops training between batches; a callback sleeping after the last one may still
    # be running when the program's own limit comes (on a busy machine)
    how = ("the grader stopped it, to keep within the 14 s time limit" if fit["limit_hit"] == "time" else
           "the 14 s time limit stopped the program")
    assert fit["limit_hit"] == "time" or (hook == "on_epoch_end" and report["run"]["status"] == "timeout")
    stopped = (f"model.fit had run for {spent:.1f} s and finished {done} of its 100 epochs (about {spent / done:.2f} s "
               f"each) when {how}")
    if hook == "on_train_batch_end":  # a batch's callbacks are part of its epoch: the epoch is slow
        assert hint["evidence"] == stopped + "."
        assert hint["try_this"].endswith(f"or ask for fewer epochs (about {int(0.8 * 14 / (spent / done))} fit in the limit).")
    else:  # the time went between the epochs, into the callback
        where = " (line 8)" if report["run"]["status"] == "timeout" else ""
        assert hint["evidence"] == stopped + (f"; {spent - sum(fit['epoch_times']):.1f} s of it went into code run "
                                              f"between the training steps, your callbacks{where}, not the training itself.")
        assert hint["try_this"].startswith("Make your callback quick: no time.sleep")


def test_a_broken_diagnosis_plugin_costs_no_grade(tmp_path, monkeypatch):
    from grader import plugins
    from grader.diagnoses import Diagnosis, run_diagnoses

    def broken(evidence, results):
        raise KeyError("history")

    hints_found, errors = run_diagnoses({"broken": Diagnosis("broken", broken)}, None, [])
    assert hints_found == [] and errors == ["diagnosis broken: KeyError: 'history'"]
    assert {"inputs_not_scaled", "output_mismatch", "learning_rate_too_high", "overfitting", "underfitting",
            "too_slow", "callback_metric_name", "callback_wrong_direction", "trained_on_evaluation_data",
            "validation_augmented", "data_path_missing", "validation_gap"} == set(plugins.diagnoses())


def test_at_the_epoch_limit_the_hint_is_better_epochs_not_more(tmp_path):
    import shutil

    from conftest import EXERCISES
    from grader.exercise import load_exercise
    from grader.grading import grade

    shutil.copytree(EXERCISES / "hello_world", tmp_path / "hello_15")
    spec = tmp_path / "hello_15" / "spec.toml"
    spec.write_text(spec.read_text().replace("max_epochs = 1000", "max_epochs = 15"))
    (tmp_path / "s.py").write_text(LINE + "model.compile(optimizer='sgd', loss='mse')\n"
                                          "model.fit(xs, 3 * xs + 1, epochs=15, verbose=0)\n")
    report = grade(load_exercise(tmp_path / "hello_15"), tmp_path / "s.py").to_dict()
    hint = hints(report)["underfitting"]
    assert hint["try_this"] == ("The grader allows at most 15 epochs per fit, so make each epoch count: a larger "
                                "learning rate.")


def test_a_model_far_better_on_its_training_data_is_told_to_generalise_not_to_train_more():
    from grader.builtin.checks.accuracy import _accuracy_hint

    class Seen:  # what the hint reads: the last fit's history
        def last_graded_fit(self):
            return {"history": {"accuracy": [0.8, 0.978]}}

    assert _accuracy_hint(Seen(), measured=0.144).startswith(
        "Your training accuracy reached 0.978, so more epochs or a larger model will not help")
    assert _accuracy_hint(Seen(), measured=0.9) == (
        "Your training accuracy ended at 0.978: train for more epochs or use a larger model.")
