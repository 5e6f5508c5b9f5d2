"""The child's record of training held against the trained model (issue 30, first step): a record that
claims more than the model can do fails the checks that rest on it; an honest one is left alone."""

from conftest import EXERCISES, by_name

CALLBACK = '''import tensorflow as tf
(x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
x_train = x_train / 255.0

class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get("accuracy", 0) > 0.99:
            self.model.stop_training = True

model = tf.keras.models.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                    tf.keras.layers.Dense(16, activation="relu"),
                                    tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train[:64], y_train[:64], epochs=1, callbacks=[myCallback()])
'''

# The cheat: the grader's record of that one short fit, rewritten into the run the task asks for.
FORGED = CALLBACK + '''
import gc
for obj in gc.get_objects():
    if type(obj).__name__ == "Recorder":
        fit = obj.fits[-1]
        fit["history"] = {"accuracy": [0.95, 0.992], "loss": [0.2, 0.03]}
        fit["epochs_run"], fit["epochs_requested"] = 2, 10
        fit["stopped_by"] = dict(fit["callbacks"][0], hook="on_epoch_end", epoch=1, grader=False)
        fit["data"]["x"]["shape"][0] = fit["data"]["y"]["shape"][0] = 60000
'''


def test_a_record_rewritten_to_claim_the_threshold_fails_the_checks_that_rest_on_it(standin, grade_file):
    _, report = grade_file(FORGED, exercise="mnist_callback", extra=("--data-dir", standin))
    record = report["environment"]["training_record"]
    assert record["status"] == "contradicted" and record["claimed"] == 0.992
    assert record["measured"] < 0.8 and record["examples"] == 10000
    assert record["sentence"].startswith("The record of training says the training accuracy reached 0.992 in the "
                                         "last epoch, but the trained model scores ")
    # what the parent received while the fit ran (one epoch) shows the record false, before any replay
    verification = {k: v for k, v in report["environment"]["training_verification"].items() if k != "cost"}
    assert verification == {
        "status": "refuted", "reason": "the record of training says fit call 1 ran 2 epochs, but while the program "
                                       "ran the grader received 1",
        "sentence": "Training not verified: the record of training says fit call 1 ran 2 epochs, but while the program "
                    "ran the grader received 1. The checks that rest on the record of training fail."}
    checks = by_name(report)
    for name in ("callback_stopped", "stopped_at_99", "stopped_early", "within_limits"):  # failed on the model's
        assert (checks[name]["status"], checks[name]["score"]) == ("failed", 0.0)  # measure first, which says so
        assert checks[name]["message"] == record["sentence"]
    assert report["score"] == 0


def test_a_short_honest_run_is_not_accused(standin, grade_file):
    """The same program, its record untouched: it trained on 64 of 60,000 rows, which the grader cannot
    measure as the record did, so it is unverifiable and graded on its own merits."""
    _, report = grade_file(CALLBACK, exercise="mnist_callback", extra=("--data-dir", standin))
    record = report["environment"]["training_record"]
    assert record["status"] == "unverifiable"
    assert record["reason"] == ("the program trained on 64 of the 60000 training examples, so the model's accuracy "
                                "on all of them is not what the record measured")
    assert not any("record" in c["message"] for c in report["checks"])  # no check speaks of a false record
    # its one epoch, replayed by the grader from the state it started in, reached the weights it reported
    verification = report["environment"]["training_verification"]
    assert (verification["status"], verification["replayed"], verification["epochs"]) == ("verified", [1], 1)


def test_an_exercise_that_carries_its_data_says_why_it_is_not_checked(grade_file):
    _, report = grade_file(EXERCISES / "hello_world" / "solution.py")
    assert report["environment"]["training_record"] == {
        "status": "unverifiable", "reason": "the exercise carries its own data, so the grader has no copy of what "
                                            "the program trained on to measure the model with",
        "sentence": "Not checked against the model: the exercise carries its own data, so the grader has no copy of "
                    "what the program trained on to measure the model with."}
    # a fit this small (500 one-step epochs of a 2-parameter model) is replayed whole, as one run from the state
    # the program reported when training began, each epoch's end held against the one it reported
    verification = report["environment"]["training_verification"]
    assert (verification["status"], verification["epochs"], verification["whole"]) == ("verified", 500, True)
    assert verification["segments"] == [[500, 1, 1]] and verification["replayed"] == list(range(1, 501))
    assert verification["drawn"] == {"parts": 0, "of": 0}
    cost = verification["cost"]  # the child's committing and saving, the evaluator's replay, the states saved
    assert cost["commit_s"] > 0 and cost["replay_s"] > 0 and 0 < cost["state_mib"] < 1
    assert cost["commit_thread_s"] == 0.0  # (epochs of one step: no commitments inside an epoch, none on its thread)
    assert verification["sentence"] == (
        "Training verified: the grader replayed all 500 epochs from the state the program reported while it "
        "trained, and reached exactly the weights it reported; the graded model is the one training ended with.")
