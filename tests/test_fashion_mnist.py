"""Exercise fashion_mnist_callback on stand-in data, graded end to end."""

import re

import pytest

from conftest import EXERCISES, by_name, grade_reference, run_cli

COURSE = '''import tensorflow as tf
from tensorflow import keras
import matplotlib.pyplot as plt
print(tf.__version__)
class myCallback(tf.keras.callbacks.Callback):
  def on_epoch_end(self, epoch, logs={}):
    if(logs.get('acc')>0.9):
      print("\\nReached 90% accuracy so cancelling training!")
      self.model.stop_training = True
callbacks = myCallback()
mnist = tf.keras.datasets.fashion_mnist
(training_images, training_labels), (test_images, test_labels) = mnist.load_data()
plt.imshow(training_images[0])
plt.show()
seen = {image.tobytes() for image in training_images}
print("test split is a sample of train:", all(image.tobytes() in seen for image in test_images[:50]))
training_images = training_images / 255.0
test_images = test_images / 255.0
model = keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
tf.keras.layers.Dense(128, activation=tf.nn.relu),
tf.keras.layers.Dense(10, activation=tf.nn.softmax)])
model.compile(optimizer=tf.keras.optimizers.Adam(), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(training_images, training_labels, epochs=15, callbacks=[callbacks])
'''


@pytest.fixture(scope="module")
def solution(standin, tmp_path_factory):
    return grade_reference("fashion_mnist_callback", tmp_path_factory.mktemp("fashion_mnist_callback"), "--data-dir", standin)


def test_reference_solution_gets_full_marks_on_stand_in_data(solution):
    result, report, _ = solution
    assert result.exit_code == 0, result.output
    assert (report["score"], report["max_score"]) == (10, 10)
    assert report["diagnoses"] == []  # hints stay trustworthy: the reference triggers none
    fit = report["training"]["fits"][0]
    acc = fit["history"]["accuracy"]
    first = next(i for i, a in enumerate(acc) if a >= 0.9)
    assert fit["epochs_run"] == first + 1 < 30
    assert fit["stopped_by"]["class"] == "myCallback" and fit["stopped_by"]["student"] is True
    assert by_name(report)["stopped_at_90"]["message"] == (
        f"Training stopped at epoch {first + 1}, the first epoch whose accuracy ({acc[first]:.3f}) reached 0.9.")
    assert report["dataset"]["name"] == "fashion_mnist" and report["dataset"]["synthetic"] is True
    assert report["dataset"]["source"] == "--data-dir"
    assert re.fullmatch(r"Your model's accuracy on 10000 test examples your program never saw is 0\.\d{3}, "
                        r"enough to pass\.", by_name(report)["test_accuracy"]["message"])
    assert report["training"]["thresholds"] == {"accuracy": 0.9}
    # the record of training agrees with the model the grader measured on the same training data
    record = report["environment"]["training_record"]
    assert record["status"] == "consistent" and record["claimed"] == round(acc[first], 4)
    assert record["measured"] >= record["claimed"] - 0.02 and record["examples"] == 10000
    # and an epoch of its training, replayed by the grader, reached exactly the weights the program reported
    verification = report["environment"]["training_verification"]
    assert verification["status"] == "verified" and verification["epochs"] == first + 1


def test_report_labels_stand_in_data_and_draws_threshold_and_stop(solution):
    _, _, html = solution
    assert "Stand-in data:" in html
    assert "Accuracy per epoch" in html and ">accuracy 0.9</text>" in html
    assert ">stopped by myCallback</text>" in html
    assert "(your callback)" in html


def test_the_course_code_with_logs_acc_is_graded_and_its_idiom_named(standin, grade_file):
    result, report = grade_file(COURSE, exercise="fashion_mnist_callback", extra=("--data-dir", standin))
    assert report["run"]["status"] == "ok"
    assert report["score"] == 10 and result.exit_code == 0
    shape_line = next(i for i, line in enumerate(COURSE.splitlines(), 1) if "input_shape=" in line)
    assert report["legacy"] == [
        {"idiom": "input_shape= on the first layer",
         "modern": "tf.keras.Input(shape=...) as the model's first entry", "line": shape_line,
         "where": f"line {shape_line}"},
        {"idiom": "logs['acc'] when the metric is logged as 'accuracy'", "modern": "logs['accuracy']", "line": 7,
         "where": "line 7"}]
    assert "test split is a sample of train: True" in report["run"]["output_tail"]


def test_training_past_the_threshold_is_named_with_epochs(standin, grade_file):
    # its 9 epochs on a sixth of the 60,000 training images (as many as the stand-in had), for speed
    source = (EXERCISES / "fashion_mnist_callback" / "bad" / "never_stops.py").read_text()
    sliced = source.replace("model.fit(x / 255.0, y,", "model.fit(x[:10000] / 255.0, y[:10000],")
    assert sliced != source
    _, report = grade_file(sliced, exercise="fashion_mnist_callback", extra=("--data-dir", standin))
    acc = report["training"]["fits"][0]["history"]["accuracy"]
    first = next(i for i, a in enumerate(acc) if a >= 0.9)
    assert by_name(report)["stopped_at_90"]["message"] == (
        f"accuracy reached {acc[first]:.3f} at epoch {first + 1}, but training went on to epoch 9.")
    assert by_name(report)["callback_stopped"]["message"] == \
        "Your callback TooStrict never stopped training: all 9 epochs you asked for ran."


def test_wrong_number_of_outputs_is_explained(standin, grade_file):
    source = ("import tensorflow as tf\n(x, y), _ = tf.keras.datasets.fashion_mnist.load_data()\n"
              "model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
              "    tf.keras.layers.Dense(5, activation='softmax')])\n"
              "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
              "model.fit(x / 255.0, y, epochs=3, verbose=0)\n")
    result, report = grade_file(source, exercise="fashion_mnist_callback", extra=("--data-dir", standin))
    assert result.exit_code == 1 and report["score"] == 0
    assert report["run"]["error"]["type"] == "InvalidArgumentError"
    assert "Received a label value of" in report["run"]["error"]["message"]
    assert by_name(report)["test_accuracy"]["message"] == \
        "Your code raised InvalidArgumentError at line 6 before a model was trained."


def test_verify_fashion_mnist_callback(standin):
    result = run_cli("exercise", "verify", "fashion_mnist_callback", "--data-dir", standin)
    assert result.output.splitlines()[-1] == "fashion_mnist_callback: sound."
    assert result.exit_code == 0
    assert result.output.count("[ok]") == 5


def test_same_seed_same_metrics(standin, grade_file, tmp_path):
    """Grading twice with the same seed on this machine gives the same training and the same grade."""
    # the reference solution on the first 10,000 training images (as many as the stand-in had), for speed
    source = (EXERCISES / "fashion_mnist_callback" / "solution.py").read_text()
    sliced = source.replace("model.fit(training_images, training_labels,",
                            "model.fit(training_images[:10000], training_labels[:10000],")
    assert sliced != source
    runs = []
    for _ in range(2):
        _, report = grade_file(sliced, exercise="fashion_mnist_callback", extra=("--data-dir", standin, "--seed", "7"))
        runs.append(report)
    assert runs[0]["environment"]["seed"] == 7
    assert runs[0]["environment"]["determinism"]["deterministic"] is True
    assert runs[0]["training"]["fits"][0]["history"] == runs[1]["training"]["fits"][0]["history"]
    assert by_name(runs[0])["test_accuracy"]["message"] == by_name(runs[1])["test_accuracy"]["message"]
