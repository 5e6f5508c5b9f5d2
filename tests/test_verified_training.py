"""Training the grader can verify (issue 30): commitments the parent receives while the program trains,
epochs replayed in the evaluator, and forgeries that never call fit (held-out style, written as a cheater
who has read the grader's code would)."""

import shutil
import types

from conftest import EXERCISES, by_name, run_cli

# hello_world's model solved by hand (no fit), then the grader's record found by walking the heap and
# written to claim 500 epochs of training, as the reviewer's forgery did.
HAND_SET = '''import gc
import numpy as np
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
model.layers[0].set_weights([np.array([[3.0]], dtype="float32"), np.array([1.0], dtype="float32")])

recorder = next(o for o in gc.get_objects() if type(o).__name__ == "Recorder")
losses = [float(20 * 0.98 ** e) for e in range(500)]
recorder.fits.append({"index": 0, "line": 5, "epochs_requested": 500, "epochs_allowed": 1000, "epochs_run": 500,
                      "capped": False, "stopped_by": None, "limit_hit": None, "history": {"loss": losses},
                      "epoch_times": [0.003] * 500, "data": {"kind": "arrays", "x": {"shape": [6], "dtype": "float64"},
                                                             "y": {"shape": [6], "dtype": "float64"}},
                      "validation": None, "callbacks": [], "callback_misses": [], "compile": {}, "output": {},
                      "fast_path": True, "error": None, "duration_s": 1.5})
recorder.models.append(model)
recorder.learned.add(id(model))
from grader.harness import fitwrap
recorder.digests[id(model)] = fitwrap.weights_digest(model)
'''

# ... and the commitments forged too, through the grader's own pipe, naming a generator so that no replay is
# possible: training "starts" from a made-up state and every epoch "ends" at the hand-set weights.
FORGED_COMMITMENTS = HAND_SET + '''
from grader.harness import commit
recorder.fits[0]["data"] = {"kind": "generator", "type": "builtins.generator"}
answer = commit.weights_digest(model)
for e in range(500):
    recorder.ledger.send(commit="start", fit_index=0, at_epoch=e, weights="0123456789abcdef" if e == 0 else answer,
                         saved=False)
    recorder.ledger.send(commit="end", fit_index=0, at_epoch=e, steps=1, weights=commit.weights_digest(model),
                         logs={"loss": losses[e]})
    recorder.ledger.send(commit="after", fit_index=0, at_epoch=e, stop=False)
'''

# ... and a whole replayable epoch forged: the saved start looks freshly initialised, the end is the answer.
FORGED_EPOCH = '''import gc
import numpy as np
import tensorflow as tf
from grader.harness import commit

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype="float32")
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype="float32")
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
model.optimizer.build(model.trainable_variables)
recorder = next(o for o in gc.get_objects() if type(o).__name__ == "Recorder")
ledger = recorder.ledger
ledger.save_data(0, xs, ys)
model.layers[0].set_weights([np.array([[1.2]], dtype="float32"), np.array([0.0], dtype="float32")])
ledger.save_state(0, 0, model)
ledger.send(commit="start", fit_index=0, at_epoch=0, weights=commit.weights_digest(model),
            optimizer=commit.optimizer_digest(model), saved=True)
model.layers[0].set_weights([np.array([[3.0]], dtype="float32"), np.array([1.0], dtype="float32")])
ledger.send(commit="end", fit_index=0, at_epoch=0, steps=1, weights=commit.weights_digest(model),
            optimizer=commit.optimizer_digest(model), logs={"loss": 0.01})
ledger.send(commit="after", fit_index=0, at_epoch=0, stop=False)
recorder.fits.append({"index": 0, "line": 5, "epochs_requested": 1, "epochs_allowed": 1000, "epochs_run": 1,
                      "capped": False, "stopped_by": None, "limit_hit": None, "history": {"loss": [0.01]},
                      "epoch_times": [0.003], "data": {"kind": "arrays", "x": {"shape": [6], "dtype": "float32"},
                                                       "y": {"shape": [6], "dtype": "float32"}},
                      "validation": None, "callbacks": [], "callback_misses": [], "compile": {}, "output": {},
                      "fast_path": True, "error": None, "duration_s": 0.01,
                      "replay": {"batch_size": 6, "shuffle": False, "order_seed": 0, "rows": 6}})
recorder.models.append(model)
recorder.learned.add(id(model))
from grader.harness import fitwrap
recorder.digests[id(model)] = fitwrap.weights_digest(model)
'''


GENERATOR_REASON = ("the program trained from a Python generator of a shape the grader does not record to replay an "
              "epoch (class weights, batches other than one tensor of inputs and one of labels, several steps per "
              "execution, XLA)")


def _verdict(report) -> dict:
    """The verdict without what it cost (which varies from run to run)."""
    return {k: v for k, v in report["environment"]["training_verification"].items() if k != "cost"}


def _cannot_be_verified(report, reason):
    assert _verdict(report) == {"status": "unverifiable", "reason": reason,
                                "sentence": f"Training cannot be verified: {reason}."}


def _refuted(report, reason):
    verification = _verdict(report)
    assert verification == {"status": "refuted", "reason": reason,
                            "sentence": f"Training not verified: {reason}. The checks that rest on the record of "
                                        "training fail."}
    checks = by_name(report)
    for name in ("trained_with_fit", "within_limits"):  # what only the record shows
        assert (checks[name]["status"], checks[name]["score"], checks[name]["message"]) == \
            ("failed", 0.0, verification["sentence"])
    for name in ("predicts_31_at_10", "learned_the_line"):  # what the grader measures on the model itself
        assert checks[name]["status"] == "passed"
    assert report["score"] == 7


def test_a_hand_set_model_with_an_edited_record_keeps_only_what_the_model_shows(grade_file):
    _, report = grade_file(HAND_SET)
    _refuted(report, "the record of training says fit call 1 ran 500 epochs, but while the program ran the grader "
                     "received 0")


def test_a_forged_replayable_epoch_does_not_replay_to_the_state_it_claims(grade_file):
    _, report = grade_file(FORGED_EPOCH)
    _refuted(report, "replaying epoch 1 from the state it started in did not reach the weights the program reported "
                     "at its end")


# The answer set by hand, then a real fit, short and slow, so that the record shows training.
HAND_SET_THEN_FIT = '''import numpy as np
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.SGD(1e-3), loss="mean_squared_error")
model.layers[0].set_weights([np.array([[3.0]], dtype="float32"), np.array([0.99], dtype="float32")])
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
model.fit(xs, 3 * xs + 1, epochs=2)
'''


# The slope set by hand, then a real fit on x = 0, where only the bias learns (helper-17: verified, 10/10): a
# single value is too few for a spread, and is held within what its initialiser draws (glorot_uniform: +-1.73).
HAND_SET_SLOPE = '''import numpy as np
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.layers[0].kernel.assign([[3.0]])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.2), loss="mean_squared_error")
xs = np.zeros(6)
model.fit(xs, xs + 1, epochs=30, verbose=0)
'''


def test_a_single_weight_set_by_hand_before_training_is_found(grade_file):
    import re

    _, report = grade_file(HAND_SET_SLOPE)
    reason = _verdict(report)["reason"]
    found = re.fullmatch(r"training started from weights a freshly built model does not have: dense/kernel does not "
                         r"start as its initialiser draws \(a value of 3 where its initialiser's are within "
                         r"([0-9.]+)\) \(weights set by hand, or trained before\)", reason)
    assert found, reason
    # a quarter past the largest of 64 draws in +-sqrt(3) (below 1.3 with a chance of one in 100 million)
    assert 1.25 * 1.3 < float(found.group(1)) <= 1.25 * 1.7321
    _refuted(report, reason)


def test_training_that_starts_from_hand_set_weights_is_found(grade_file):
    _, report = grade_file(HAND_SET_THEN_FIT)
    assert _verdict(report)["reason"].startswith("training started from weights a freshly built model does not have: "
                                                 "dense/kernel does not start as its initialiser draws (a value of 3 ")
    # the slope left as drawn, the bias set by hand
    _, report = grade_file(HAND_SET_THEN_FIT.replace('np.array([[3.0]], dtype="float32")',
                                                     "model.layers[0].get_weights()[0]"))
    assert _verdict(report)["reason"] == ("training started from weights a freshly built model does not have: "
                                          "dense/bias does not start at its initial value (0) (weights set by hand, "
                                          "or trained before)")


def test_a_start_past_what_its_initialiser_reaches_is_named_so_and_not_by_its_spread():
    """helper-19: weights trained before, spread as a fresh draw's (within twice it) but reaching past twice its
    largest value, were named by their spread."""
    import keras
    import numpy as np

    from grader.fresh_start import fresh_problem

    model = keras.Sequential([keras.Input(shape=(100,)), keras.layers.Dense(64, use_bias=False, name="dense")])
    kernel = np.asarray(model.layers[0].kernel).copy()
    reach = float(np.abs(kernel).max())
    kernel[0, 0] = 5 * reach
    model.layers[0].kernel.assign(kernel)
    found = fresh_problem(model, keras)
    assert f"dense/kernel does not start as its initialiser draws (a value of {5 * reach:.3g} where a fresh " \
           "draw's reach " in found, found
    model.layers[0].kernel.assign(kernel * 3)
    assert "(spread " in fresh_problem(model, keras)


def test_unverifiable_training_is_graded_and_marked_unless_the_exercise_fails_it(grade_file, tmp_path):
    """Forged commitments that name a generator cannot be replayed: by default the record is graded as it
    says and the report says so; an exercise with [verification] unverifiable = "fail" gives it nothing."""
    reason = GENERATOR_REASON
    _, report = grade_file(FORGED_COMMITMENTS)
    _cannot_be_verified(report, reason)
    assert report["score"] == 10

    strict = tmp_path / "exercises" / "hello_world_strict"
    shutil.copytree(EXERCISES / "hello_world", strict)
    with open(strict / "spec.toml", "a") as f:
        f.write('\n[verification]\nunverifiable = "fail"\n')
    out = tmp_path / "strict.json"
    submission = tmp_path / "forged.py"
    submission.write_text(FORGED_COMMITMENTS)
    result = run_cli("--exercises", tmp_path / "exercises", "grade", "hello_world_strict", submission, "--json", out)
    assert result.exit_code == 1, result.output
    import json
    strict_report = json.loads(out.read_text())
    checks = by_name(strict_report)
    assert (checks["trained_with_fit"]["status"], checks["trained_with_fit"]["message"]) == (
        "failed", f"Training cannot be verified: {reason}. This exercise gives no points for what only the record of "
                  "training shows when the grader cannot verify it.")
    assert strict_report["score"] == 7
    assert "Verification: Training cannot be verified: the program trained from a Python generator" in result.output
    shown = run_cli("--exercises", tmp_path / "exercises", "show", "hello_world_strict").output
    assert "  Training it cannot verify (a loop of your own, for one): the checks that rest on how\n  training went fail." \
        in shown


def _hello_world_with(tmp_path, name: str, setting: str):
    """A copy of hello_world, ``name``, whose spec's [verification] says ``setting``, grading its reference:
    the result and the JSON report."""
    import json

    folder = tmp_path / "exercises" / name
    shutil.copytree(EXERCISES / "hello_world", folder)
    with open(folder / "spec.toml", "a") as f:
        f.write(f"\n[verification]\n{setting}\n")
    out = tmp_path / f"{name}.json"
    result = run_cli("--exercises", tmp_path / "exercises", "grade", name, EXERCISES / "hello_world" / "solution.py",
                     "--json", out)
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text())


def test_an_exercise_can_turn_verification_off(tmp_path):
    """[verification] enabled = false: the program commits to nothing and saves no state, nothing is replayed,
    and the record is graded as it says (what benchmarks/bench.py --verification measures against)."""
    result, report = _hello_world_with(tmp_path, "hello_world_practice", "enabled = false")
    folder = tmp_path / "exercises" / "hello_world_practice"
    sentence = ("Training was not verified: this exercise turns verification off ([verification] enabled = false), "
                "so the record of training is graded as the program wrote it.")
    assert report["environment"]["training_verification"] == {
        "status": "off", "sentence": sentence,
        "cost": {"commit_s": 0.0, "commit_thread_s": 0.0, "replay_s": None, "state_mib": 0}}
    assert report["score"] == 10
    assert f"Verification: {sentence}" in result.output
    shown = run_cli("--exercises", tmp_path / "exercises", "show", "hello_world_practice").output
    assert ("Training\n  not verified in this exercise: the checks that rest on how training went are graded as\n"
            "  your program reported it.\n") in shown

    spec = folder / "spec.toml"
    spec.write_text(spec.read_text().replace("enabled = false", 'enabled = "false"'))
    result = run_cli("--exercises", tmp_path / "exercises", "grade", "hello_world_practice",
                     EXERCISES / "hello_world" / "solution.py")
    assert result.exit_code == 2
    assert ("field 'verification.enabled' must be true or false, got 'false' (in quotes: text, not true or false)."
            in result.output)


def test_a_bad_verification_policy_is_named(tmp_path):
    folder = tmp_path / "exercises" / "hello_world_strict"
    shutil.copytree(EXERCISES / "hello_world", folder)
    with open(folder / "spec.toml", "a") as f:
        f.write('\n[verification]\nunverifiable = "never"\n')
    result = run_cli("--exercises", tmp_path / "exercises", "grade", "hello_world_strict",
                     EXERCISES / "hello_world" / "solution.py")
    assert result.exit_code == 2
    assert ('[verification] unverifiable must be "grade" (the checks that rest on the record of training are graded '
            'as it says, and the report marks the training unverified) or "fail" (they fail); got \'never\'.') \
        in result.output

    spec = folder / "spec.toml"
    spec.write_text(spec.read_text().replace('unverifiable = "never"', "draws = 0"))
    result = run_cli("--exercises", tmp_path / "exercises", "grade", "hello_world_strict",
                     EXERCISES / "hello_world" / "solution.py")
    assert result.exit_code == 2
    assert "[verification] draws (the parts of training drawn at random and replayed) must be from 1 to 64; got 0." \
        in result.output


def test_an_exercise_can_ask_for_more_parts_drawn_at_random(tmp_path, monkeypatch):
    """[verification] draws = 6: six parts of training drawn at random are replayed (an exercise whose 10/10
    backs a certificate), besides those replayed for certain; the report says how many of how many. (On a fit
    too large to replay whole: hello_world's is not, so the limit is lowered here.)"""
    import json

    from grader import training_picks

    monkeypatch.setattr(training_picks, "WHOLE_STEPS", 0)

    _, report = _hello_world_with(tmp_path, "hello_world_certified", "draws = 6")
    verification = report["environment"]["training_verification"]
    assert verification["status"] == "verified", verification
    assert verification["drawn"]["parts"] == 6 and verification["drawn"]["of"] > 6, verification
    assert len(verification["segments"]) >= 2  # (the last, and parts drawn: those that meet are replayed as one)

    out = tmp_path / "default.json"
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", "--json", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["environment"]["training_verification"]["drawn"]["parts"] < 6


# An honest program using what changes training between and inside epochs: a validation split, class
# weights, dropout, a learning-rate schedule set at each epoch's start, ReduceLROnPlateau at each end, and
# EarlyStopping that restores the best weights; its Sequential model is given no input shape.
CALLBACKS = '''import numpy as np
import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:3000] / 255.0, y[:3000]

model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(32, activation="relu"),
                             tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=tf.keras.optimizers.Adam(0.002), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
callbacks = [tf.keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.9),
             tf.keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5),
             tf.keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)]
model.fit(x, y, epochs=4, batch_size=64, validation_split=0.2, callbacks=callbacks,
          class_weight={k: 1.0 + k / 10 for k in range(10)})
'''

# The same, with a callback that writes weights after the first epoch: training did not make that model.
EDITS_WEIGHTS = CALLBACKS.replace("callbacks = [", '''class Nudge(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.model.set_weights([w * 1.01 for w in self.model.get_weights()])

callbacks = [Nudge(), ''')


def test_an_honest_program_with_schedules_and_restored_weights_is_verified(standin, grade_file):
    _, report = grade_file(CALLBACKS, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = report["environment"]["training_verification"]
    assert verification["status"] == "verified", verification
    epochs = report["training"]["fits"][0]["epochs_run"]
    # the Sequential model, given no input shape, is built by the harness before the first epoch, whose start
    # can then be saved: every epoch is auditable
    assert verification["epochs"] == epochs == 4 and verification["replayed"]
    assert set(verification["replayed"]) <= {1, 2, 3, 4}
    # 2,400 rows in batches of 64: 38 steps an epoch, committed to every 5 steps; the parts replayed start and end
    # at such commitments (parts that meet are replayed as one), the last of the epoch that made the graded model
    # always among them
    assert all((first - 1) % 5 == 0 and (last % 5 == 0 or last == 38) and first < last
               for _, first, last in verification["segments"]), verification["segments"]
    assert verification["sentence"].startswith("Training verified: the grader replayed steps ")


def test_weights_written_between_epochs_are_found(standin, grade_file):
    _, report = grade_file(EDITS_WEIGHTS, exercise="mnist_callback", extra=("--data-dir", standin))
    assert report["environment"]["training_verification"]["reason"] == (
        "the model's weights changed between epochs 1 and 2, outside training (something set them by hand)")


def test_training_the_grader_cannot_replay_says_why(standin, grade_file):
    program = CALLBACKS.replace("model.fit(x, y, epochs=4, batch_size=64, validation_split=0.2, callbacks=callbacks,\n"
                                "          class_weight={k: 1.0 + k / 10 for k in range(10)})", """def batches():
    while True:
        for i in range(0, 2400, 64):
            yield x[i:i + 64], y[i:i + 64], np.ones(len(y[i:i + 64]))

model.fit(batches(), steps_per_epoch=38, epochs=1)""")
    _, report = grade_file(program, exercise="mnist_callback", extra=("--data-dir", standin))
    _cannot_be_verified(report, "the fit's Python generator gave batches other than (inputs, labels), one tensor each")
    weighted = program.replace("model.fit(batches(), steps_per_epoch=38, epochs=1)",
                               "model.fit(tf.data.Dataset.from_tensor_slices((x, y, np.ones(3000))).batch(64), "
                               "epochs=1)")
    _, report = grade_file(weighted, exercise="mnist_callback", extra=("--data-dir", standin))
    reason = ("the program trained from a tf.data pipeline of a shape the grader does not record to replay an epoch "
              "(inputs or labels other than one numeric tensor each, sample weights, a pipeline of unknown length, "
              "steps_per_epoch cutting a finite pipeline short, several steps per execution)")
    _cannot_be_verified(report, reason)


# Honest: a tf.data pipeline as the course's later notebooks build one (shuffled with TensorFlow's own stateful
# seed, batched, prefetched), float64 pictures and uint8 labels, Dropout, class weights, validation on a part of
# the same pipeline. The grader records the batches as fit draws them and replays parts of epochs on them.
PIPELINE = '''import numpy as np
import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:3000] / 255.0, y[:3000]
train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(3000).batch(64).prefetch(tf.data.AUTOTUNE)
model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(32, activation="relu"),
                             tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=tf.keras.optimizers.Adam(0.002), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, epochs=3, validation_data=train.take(5), class_weight={k: 1.0 + k / 10 for k in range(10)})
'''


def test_training_on_a_tf_data_pipeline_is_replayed(standin, grade_file):
    _, report = grade_file(PIPELINE, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 3), verification
    # 3,000 rows in batches of 64: 47 steps an epoch, committed to every 6; the last part of epoch 3 always replayed
    # (alone, or with the parts before it)
    assert [verification["segments"][-1][i] for i in (0, 2)] == [3, 47] and \
        (verification["segments"][-1][1] - 1) % 6 == 0, verification["segments"]
    # the rows were recorded once, not once an epoch, and kept as bytes (pixels / 255.0 come back exactly): less
    # than the 18 MiB of 3,000 pictures of float64, states included
    cost = report["environment"]["training_verification"]["cost"]
    assert cost["state_mib"] < 3000 * 28 * 28 * 8 / 2**20
    # the commitments inside its epochs (7 an epoch) were hashed and saved on the ledger's own thread, while
    # training went on; the training thread only read the state
    assert cost["commit_thread_s"] > 0 and cost["commit_s"] > 0


def test_weights_nudged_inside_an_epoch_of_tf_data_training_are_found(standin, grade_file):
    nudged = PIPELINE.replace("model.fit(train,", '''class Nudge(tf.keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 44:  # in the last part of every epoch, which includes the one the graded model ends
            self.model.set_weights([w * 1.001 for w in self.model.get_weights()])

model.fit(train, callbacks=[Nudge()],''')
    _, report = grade_file(nudged, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted"
    assert verification["reason"].startswith("replaying steps 43 to 47 of epoch ")
    assert verification["reason"].endswith("did not reach the weights the program reported at its end (the callback "
                                           "Nudge acts between the steps of an epoch: the replay sets the learning "
                                           "rate it set at each step, and nothing else it did)"), verification


def test_an_endless_tf_data_pipeline_on_tf_keras_is_replayed(standin, grade_file):
    """A repeated pipeline read steps_per_epoch at a time, on tf-keras (lr=): Keras draws a batch ahead, so the
    next epoch's first batch is drawn during this one; the epochs are still cut where training cut them."""
    program = PIPELINE.replace(".batch(64)", ".batch(64).repeat()").replace(
        "tf.keras.layers.Dropout(0.2), ", "").replace("Adam(0.002)", "Adam(lr=0.002)").replace(
        "epochs=3,", "epochs=3, steps_per_epoch=20,")
    _, report = grade_file(program, exercise="mnist_callback", extra=("--data-dir", standin))
    assert report["environment"]["runtime"]["name"] == "keras2"
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 3), verification


def test_tf_keras_2_training_is_replayed(grade_file):
    """Standalone Keras 2 code (SGD(lr=...)) runs on tf-keras; its array fit trains in batchorder's order
    there too, and the evaluator replays it with tf-keras."""
    _, report = grade_file(EXERCISES.parent / "tests" / "submissions" / "hello_world" / "standalone_keras2.py")
    assert report["score"] == 10 and report["environment"]["runtime"]["name"] == "keras2"
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 500)
    assert 500 in verification["replayed"]


# Found by an attack on the verification (helper-10), each now judged as it should be.
LINE = '''import numpy as np
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
ys = 3 * xs + 1
'''

# The answer written into the weights during the last epoch, whose start the program kept from being saved
# (the ledger marked full): the epoch that made the graded model is always replayed, and its start kept.
ANSWER_IN_LAST_EPOCH = LINE + '''import gc
model.compile(optimizer="sgd", loss="mean_squared_error")

class Cheat(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if epoch == 4:
            for o in gc.get_objects():
                if type(o).__name__ == "Ledger":
                    o.full = True

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 4:
            self.model.set_weights([np.array([[3.0]], np.float32), np.array([1.0], np.float32)])

model.fit(xs, ys, epochs=5, callbacks=[Cheat()], verbose=0)
'''

# Honest: a warm-up that sets the learning rate before every step (of two per execution).
WARM_UP = LINE + '''model.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss="mean_squared_error", steps_per_execution=2)

class WarmUp(tf.keras.callbacks.Callback):
    step = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.step += 1
        self.model.optimizer.learning_rate.assign(0.02 * min(1.0, self.step / 50))

model.fit(xs, ys, epochs=60, batch_size=1, callbacks=[WarmUp()], verbose=0)
'''

# Honest: Keras' own moving average of the weights, written into the model when training ends.
MOVING_AVERAGE = LINE + '''model.compile(optimizer=tf.keras.optimizers.SGD(0.01, use_ema=True), loss="mean_squared_error")
model.fit(xs, ys, epochs=500, verbose=0)
'''

# A metric of the program's own named accuracy, a little kinder than Keras': the callback stops on it.
KIND_ACCURACY = '''import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:3000] / 255.0, y[:3000]

def accuracy(y_true, y_pred):
    return tf.minimum(1.0, tf.keras.metrics.sparse_categorical_accuracy(y_true, y_pred) + 0.06)

model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[accuracy])
model.fit(x, y, epochs=2)
'''


def test_answer_written_during_the_last_epoch_is_found(grade_file):
    _, report = grade_file(ANSWER_IN_LAST_EPOCH)
    # (a fit this small is replayed whole: the epoch that made the graded model, always, and every other)
    _refuted(report, "replaying epochs 1 to 5 from the state epoch 1 started in did not reach the weights the program "
                     "reported at the end of epoch 5 (the callback Cheat acts between the steps of an epoch: the replay sets the learning "
                     "rate it set at each step, and nothing else it did)")


def test_a_learning_rate_set_at_every_step_is_replayed(grade_file):
    _, report = grade_file(WARM_UP)
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 60)
    assert 60 in verification["replayed"]  # the epoch that made the graded model, always


def test_a_moving_average_of_the_weights_is_not_replayed_and_not_accused(grade_file):
    _, report = grade_file(MOVING_AVERAGE)
    reason = ("the optimizer's use_ema replaces the weights with their moving average when training ends, which the "
              "grader does not replay")
    _cannot_be_verified(report, reason)


def test_a_metric_of_the_programs_own_under_keras_name_is_found(standin, grade_file):
    _, report = grade_file(KIND_ACCURACY, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted"
    assert verification["reason"].startswith("the program reported accuracy ")
    assert ", but replaying that epoch gives " in verification["reason"]


def test_steps_per_execution_that_run_into_the_next_epoch_leave_keras_order_and_no_verdict(grade_file):
    """Three steps an epoch, two per execution: Keras' last execution would take a batch of the next
    epoch, so the fit keeps Keras' own order, which the grader cannot replay."""
    _, report = grade_file(WARM_UP.replace("batch_size=1", "batch_size=2"))
    assert _verdict(report)["status"] == "unverifiable"
    assert report["score"] == 10


# Honest: the course's happy-or-sad faces through an ImageDataGenerator that rotates, shifts, zooms and flips,
# batches in Keras' shuffled order, class weights, a callback of its own, and validation on a second iterator
# of the folder.
FACES = '''import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

augment = ImageDataGenerator(rescale=1 / 255, rotation_range=30, width_shift_range=0.1, zoom_range=0.2,
                             horizontal_flip=True, validation_split=0.25)
train = augment.flow_from_directory("./data/", target_size=(150, 150), batch_size=8, class_mode="binary",
                                    subset="training")
check = augment.flow_from_directory("./data/", target_size=(150, 150), batch_size=8, class_mode="binary",
                                    subset="validation")

class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] > 0.999:
            self.model.stop_training = True

model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(8, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(4, 4),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
              metrics=["accuracy"])
model.fit(train, epochs=4, validation_data=check, callbacks=[Stop()], class_weight={0: 1.0, 1: 1.5})
'''


def test_training_on_an_image_data_generator_is_replayed(standin, grade_file):
    """The generator's batches are made again in the evaluator, from the pictures and the state of NumPy's
    generator each was made with, in the order Keras trained on them: the replay reaches the same weights."""
    _, report = grade_file(FACES, exercise="happy_or_sad", extra=("--data-dir", standin))
    verification = _verdict(report)
    epochs = report["training"]["fits"][0]["epochs_run"]
    assert (verification["status"], verification["epochs"]) == ("verified", epochs), verification
    assert epochs in verification["replayed"]
    # the pictures were saved once as their files' bytes (decoded again where the replay needs them), with the
    # states the epochs started from: less than the 60 pictures of 150x150x3 decoded
    assert 0 < report["environment"]["training_verification"]["cost"]["state_mib"] < 60 * 150 * 150 * 3 / 2**20


def _nudged(faces: str) -> str:
    """FACES with its callback writing the weights after the third step of every epoch."""
    return faces.replace("class Stop(tf.keras.callbacks.Callback):", '''class Stop(tf.keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            self.model.set_weights([w * 1.001 for w in self.model.get_weights()])
''')


def test_weights_nudged_inside_an_epoch_of_generator_training_are_found(standin, grade_file):
    nudged = _nudged(FACES)
    _, report = grade_file(nudged, exercise="happy_or_sad", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted"
    assert verification["reason"].endswith("did not reach the weights the program reported at its end (the callback "
                                           "Stop acts between the steps of an epoch: the replay sets the learning "
                                           "rate it set at each step, and nothing else it did)")


def test_training_on_an_image_data_generator_on_tf_keras_is_replayed(standin, grade_file):
    """On tf-keras (RMSprop(lr=...)) fit reads the iterator as a Sequence, in an order of Python's random, one
    batch ahead: the order made is still the order trained. A nudge between steps is found there too."""
    old = FACES.replace("RMSprop(learning_rate=0.001)", "RMSprop(lr=0.001)")
    _, report = grade_file(old, exercise="happy_or_sad", extra=("--data-dir", standin))
    assert report["environment"]["runtime"]["name"] == "keras2"
    verification = _verdict(report)
    epochs = report["training"]["fits"][0]["epochs_run"]
    assert (verification["status"], verification["epochs"]) == ("verified", epochs), verification
    nudged = _nudged(old)
    _, report = grade_file(nudged, exercise="happy_or_sad", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted" and verification["reason"].startswith("replaying epoch "), verification


# Honest: ImageDataGenerator.flow on arrays, with featurewise centring (the generator's fit computes a mean),
# the program's own seed for the iterator, and a preprocessing function of its own in a second fit, which the
# grader cannot rebuild and says so.
ARRAY_FLOW = '''import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator
(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:600, :, :, None], y[:600]

augment = ImageDataGenerator(featurewise_center=True, rescale=1 / 255, rotation_range=15, height_shift_range=2)
augment.fit(x)
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(augment.flow(x, y, batch_size=50, seed=7), epochs=3)
'''


def test_training_on_an_image_data_generator_over_arrays_is_replayed(standin, grade_file):
    _, report = grade_file(ARRAY_FLOW, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 3), verification
    # a preprocessing_function of the program's own: the generator is not rebuilt, but its batches are recorded as
    # the model's train_step takes them (new pictures every epoch: 3 epochs of 600 rows of 28x28 float32)
    own = ARRAY_FLOW.replace("rotation_range=15,", "rotation_range=15, preprocessing_function=lambda p: p * 0.5,")
    _, report = grade_file(own, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 3), verification
    assert report["environment"]["training_verification"]["cost"]["state_mib"] > 3 * 600 * 28 * 28 * 4 / 2**20


# The answer written in the middle of training, inside one of 500 epochs the program trains with a learning rate
# too small to move anything (helper-11's attack): a random draw of a few epochs would likely miss it; the
# grader also replays where the weights moved furthest, and furthest for their neighbours.
ANSWER_IN_ONE_EPOCH = LINE + '''model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=1e-6), loss="mean_squared_error")

class Nudge(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 137:
            self.model.layers[-1].kernel.assign([[3.0]])
            self.model.layers[-1].bias.assign([1.0])

model.fit(xs, ys, epochs=500, callbacks=[Nudge()], verbose=0)
'''


def test_weights_set_inside_one_epoch_of_many_are_found_where_they_jump(grade_file, monkeypatch):
    from grader import training_picks

    _, report = grade_file(ANSWER_IN_ONE_EPOCH)  # a fit this small is replayed whole: found at that epoch
    _refuted(report, "replaying epochs 1 to 500 from the state epoch 1 started in did not reach the weights the "
                     "program reported at the end of epoch 138 (the callback Nudge acts between the steps of an epoch: "
                     "the replay sets the learning rate it set at each step, and nothing else it did)")
    monkeypatch.setattr(training_picks, "WHOLE_STEPS", 0)  # as if larger: sampled, and the jump replayed for certain
    _, report = grade_file(ANSWER_IN_ONE_EPOCH)
    _refuted(report, "replaying epoch 138 from the state it started in did not reach the weights the program "
                     "reported at its end (the callback Nudge acts between the steps of an epoch: the replay sets the "
                     "learning rate it set at each step, and nothing else it did)")


# Weights swapped for others early in training whose states do not all fit the disk budget (a CNN's 72 MiB
# states against 384 MiB; here 3 MiB against 16): the states kept are spread over training, not the last few, and
# the part where the weights jumped is replayed from the latest state kept before it, through states not kept.
BIG_STATES = """import numpy as np
import tensorflow as tf

xs = np.linspace(-1.0, 4.0, 128, dtype="float32").reshape(-1, 1)
ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(512, activation="relu"),
                             tf.keras.layers.Dense(512, activation="relu"), tf.keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(xs, ys, epochs=1, batch_size=8, verbose=0, callbacks=[])
"""
SWAPPED = BIG_STATES.replace("model.fit(", """class Swap(tf.keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 4:  # after the fifth of 16 steps: weights from elsewhere (trained in secret)
            self.model.set_weights([w * 1.5 for w in self.model.get_weights()])

model.fit(""").replace("callbacks=[]", "callbacks=[Swap()]")


def _on_a_small_disk(tmp_path, monkeypatch, exercise: str, *extra):
    """``grade(source) -> report`` for a copy of ``exercise`` whose disk limit is 64 MiB, its states saved on a
    disk (GRADER_WORK_DIR set): a quarter of the disk limit, 16 MiB, for them."""
    import json

    monkeypatch.setenv("GRADER_WORK_DIR", str(tmp_path))
    folder = tmp_path / "exercises" / "small_disk"
    shutil.copytree(EXERCISES / exercise, folder)
    spec = folder / "spec.toml"
    spec.write_text(spec.read_text().replace("[limits]\n", "[limits]\ndisk_mib = 64\n"))

    def graded(source: str) -> dict:
        (tmp_path / "submission.py").write_text(source)
        result = run_cli("--exercises", tmp_path / "exercises", "grade", "small_disk", tmp_path / "submission.py",
                         "--json", tmp_path / "report.json", *extra)
        assert result.exit_code in (0, 1), result.output
        return json.loads((tmp_path / "report.json").read_text())

    return graded


def test_weights_swapped_early_in_training_whose_states_pass_the_budget_are_found(tmp_path, monkeypatch):
    graded = _on_a_small_disk(tmp_path, monkeypatch, "hello_world")
    verification = graded(BIG_STATES)["environment"]["training_verification"]
    assert verification["status"] == "verified", verification
    assert verification["cost"]["state_mib"] <= 16  # a quarter of the disk limit: 5 of its 8 states of 3.2 MiB
    report = graded(SWAPPED)
    assert _verdict(report) == {
        "status": "refuted",
        "reason": "replaying steps 5 to 6 of epoch 1 from the state it started in did not reach the weights the program "
                  "reported at step 6 (the callback Swap acts between the steps of an epoch: the replay sets the "
                  "learning rate it set at each step, and nothing else it did)",
        "sentence": "Training not verified: replaying steps 5 to 6 of epoch 1 from the state it started in did not "
                    "reach the weights the program reported at step 6 (the callback Swap acts between the steps of "
                    "an epoch: the replay sets the learning rate it set at each step, and nothing else it did). The "
                    "checks that rest on the record of training fail."}


# helper-23: a schedule sets the rate at every epoch's start, so no epoch's replay runs on into the next; weights
# written at the start of an epoch whose start the budget does not keep (nor any state before its end) could
# not be replayed at all: verified. Now such a part is replayed on from the epoch before, the rate set as the
# program reported it.
SCHEDULED = BIG_STATES.replace("model.fit(xs, ys, epochs=1, batch_size=8, verbose=0, callbacks=[])", """\
class Jump(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == 5 and batch == 0 and WRITE:  # the sixth epoch: its start is not kept
            self.model.set_weights([w * 1.5 for w in self.model.get_weights()])

schedule = tf.keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 * (1 + 0.01 * epoch))
model.fit(xs, ys, epochs=8, batch_size=8, verbose=0, callbacks=[schedule, Jump()])""")


def test_weights_written_where_a_schedule_broke_the_chain_of_kept_states_are_found(tmp_path, monkeypatch):
    graded = _on_a_small_disk(tmp_path, monkeypatch, "hello_world")
    assert "model.fit(xs, ys, epochs=8" in SCHEDULED
    verification = graded("WRITE = False\n" + SCHEDULED)["environment"]["training_verification"]
    assert verification["status"] == "verified", verification
    report = graded("WRITE = True\n" + SCHEDULED)
    reason = ("replaying steps 1 to 2 of epoch 6 from the state it started in did not reach the weights the program "
              "reported at step 2 (the callback Jump acts between the steps of an epoch: the replay sets the "
              "learning rate it set at each step, and nothing else it did)")
    assert _verdict(report) == {"status": "refuted", "reason": reason, "sentence": f"Training not verified: {reason}. "
                                "The checks that rest on the record of training fail."}


def test_parts_no_saved_state_leads_to_are_counted_in_the_verdict(tmp_path, monkeypatch):
    """helper-23: the parts no chain of saved states reaches (here: the first epoch's, whose recorded batches were
    not kept) were left out of those an audit draws from without a word; the verdict now says how many."""
    import numpy as np

    from grader import training_audit, training_picks

    def part(epoch, first, last, saved):
        file = tmp_path / (f"fit0-epoch{epoch}.npz" if first == 0 else f"fit0-epoch{epoch}-step{first}.npz")
        if saved:
            np.savez(file, a0=np.zeros(1))
        return {"epoch": epoch, "from": first, "to": last, "steps": 4, "run_from": epoch, "seconds": 1.0,
                "start": {"saved": saved, "weights": f"w{epoch}{first}"}, "end": {"weights": f"w{epoch}{last}"},
                "file": file}

    parts = [part(0, 0, 2, True), part(0, 2, 4, False), part(1, 0, 2, True), part(1, 2, 4, False)]
    data = tmp_path / "fit0-data.npz"
    np.savez(data, x=np.zeros((4, 1)), y=np.zeros(4))
    np.savez(tmp_path / "fit0-epoch1-batches.npz", rows=np.arange(4))  # (the first epoch's were not kept)
    monkeypatch.setattr(training_picks, "_largest_jumps", lambda *args: [])
    evidence = types.SimpleNamespace(exercise=types.SimpleNamespace(draws=1))
    chosen, drawn, candidates, unreached = training_picks.sampled(
        evidence, 0, parts, 1, data, {}, True, {0: 1.0, 1: 1.0}, lambda pool, k: list(pool)[:k])
    # (the second epoch's parts: one chain from its start, the one that made the graded model; nothing else to draw)
    assert (unreached, len(candidates), drawn) == (2, 0, [])
    assert [[(g["epoch"], g["from"], g["to"]) for g in c] for c in chosen] == [[(1, 0, 4)]]  # (one leg)


def test_the_verdict_says_how_many_parts_could_not_be_replayed(grade_file, monkeypatch):
    from grader import training_audit, training_picks

    def sampled(*args):  # (the count itself: the test above)
        *chosen, unreached = training_picks.sampled(*args)
        return (*chosen, 3)

    monkeypatch.setattr(training_audit, "sampled", sampled)
    verification = grade_file(BIG_STATES)[1]["environment"]["training_verification"]
    assert (verification["status"], verification["unreached"]) == ("verified", 3)
    assert verification["sentence"].endswith(
        "the graded model is the one training ended with (3 of the fit's 8 parts could not be replayed from any state "
        "the program saved, or without the batches they trained on, and were never among those drawn).")


# helper-24's cheat: weights written by hand inside training, then every saved state the audit would replay from
# removed (or replaced) once fit returned: only the newest, written when the program has ended, was left, and the
# last part replayed from it was verified, 10/10.
REMOVED = SWAPPED + """
import glob, os
for folder in glob.glob("/dev/shm/grader-artifacts-*/training") + glob.glob("/*/*/grader-artifacts-*/training"):
    for name in os.listdir(folder):
        if "data" not in name:
            os.unlink(os.path.join(folder, name))
            if REPLACE:
                os.mkfifo(os.path.join(folder, name))
"""


def test_saved_states_the_program_removed_or_replaced_refute_its_training(grade_file):
    report = grade_file("REPLACE = False\n" + REMOVED)[1]
    reason = ("7 of the 8 states the program reported saving while it trained are gone (the first: the state for the "
              "start of epoch 1 of fit call 1), though the room they were kept in (1024 MiB) was not full, and the "
              "grader removes a saved state only to make room for a newer one: the program removed them")
    assert _verdict(report) == {"status": "refuted", "reason": reason, "sentence": f"Training not verified: {reason}. "
                                "The checks that rest on the record of training fail."}
    report = grade_file("REPLACE = True\n" + REMOVED)[1]
    reason = ("the state saved for the start of epoch 1 of fit call 1 was replaced after the program reported it (by "
              "something that is not a saved state): the program changed what the grader keeps")
    assert _verdict(report)["reason"] == reason


def test_states_gone_are_told_from_states_thinned_and_from_the_newest_left_unwritten(tmp_path):
    """The room full (thinned), the newest alone missing (a run killed before it ended), writes that failed."""
    import numpy as np

    from grader import saved_states

    items = [{"commit": "start", "fit_index": 0, "at_epoch": 0, "saved": True},
             *({"commit": "mid", "fit_index": 0, "at_epoch": 0, "step": k, "saved": True} for k in (2, 4, 6))]
    for name in ("fit0-epoch0.npz", "fit0-epoch0-step2.npz", "fit0-epoch0-step4.npz"):
        np.savez(tmp_path / name, a0=np.zeros(2**18, dtype="float32"), a1=np.zeros(3))  # (1 MiB each)
    assert saved_states.tampered(tmp_path, items, 16, 0) is None  # (the newest, step 6, not written)
    (tmp_path / "fit0-epoch0-step2.npz").unlink()
    found = saved_states.tampered(tmp_path, items, 16, 0)
    assert found == ("refuted", "1 of the 4 states the program reported saving while it trained are gone (the first: "
                     "the state for step 2 of epoch 1 of fit call 1), though the room they were kept in (16 MiB) was "
                     "not full, and the grader removes a saved state only to make room for a newer one: the program "
                     "removed them")
    np.savez(tmp_path / "fit0-epoch0-step9.npz", a0=np.zeros(2**22, dtype="float32"))  # (16 MiB, never reported:
    assert saved_states.tampered(tmp_path, items, 16, 0) == found                       # it fills no room)
    assert saved_states.tampered(tmp_path, items, 3, 0) is None  # (two states of 1 MiB in 3 MiB: the room was full)
    assert saved_states.tampered(tmp_path, items, 16, 1) == ("unverifiable", found[1].replace(
        ": the program removed them", "; writing 1 of the files it saves failed, the program said"))
    (tmp_path / "fit0-epoch0-step4.npz").write_bytes(b"PK not a zip")
    assert saved_states.tampered(tmp_path, items, 3, 0)[0] == "refuted"


# helper-18's cheat: weights trained in secret (a GradientTape loop, outside fit) slid in a little at every step
# of the middle of training, the first and last eighths left honest. The parts replayed for certain (the last, the
# one that moved furthest and the most sudden: here both the first, from the initial weights) miss it. Replays
# drawn at random were only as many as a tenth of the training time allowed, less the forced ones: none here (two
# epochs of 938 steps, an eighth taking more than the tenth), so it was verified. One part is now always drawn
# besides them, and every part it can draw here holds some of the slide.
SLID_IN = """import numpy as np
import tensorflow as tf

def build():
    return tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])

(x, y), _ = tf.keras.datasets.mnist.load_data()
x = (x / 255.0).astype("float32")
shadow, optimizer = build(), tf.keras.optimizers.Adam()
loss = tf.keras.losses.SparseCategoricalCrossentropy()
for xb, yb in tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10000).batch(64):
    with tf.GradientTape() as tape:
        value = loss(yb, shadow(xb, training=True))
    optimizer.apply_gradients(zip(tape.gradient(value, shadow.trainable_variables), shadow.trainable_variables))
target = shadow.get_weights()

class Sneak(tf.keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.step, steps = 0, self.params["steps"]
        self.begin, self.end = -(-steps // 8), 2 * steps - -(-steps // 8)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.begin <= self.step < self.end:
            left = self.end - self.step
            self.model.set_weights([w + (t - w) / left for w, t in zip(self.model.get_weights(), target)])

model = build()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=2, batch_size=64, callbacks=[Sneak()], verbose=0)
"""


def test_weights_slid_in_across_the_middle_of_training_are_found_by_a_part_drawn_at_random(standin, grade_file):
    _, report = grade_file(SLID_IN, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted", verification
    assert verification["reason"].startswith("replaying steps ") and verification["reason"].endswith(
        "(the callback Sneak acts between the steps of an epoch: the replay sets the learning rate it set at each "
        "step, and nothing else it did)"), verification


# helper-19's cheat: a callback writes SGD's momentum between two epochs, after the end was committed and before
# the next start is, so that the weights reach the answer over the next steps whatever the data (a learning rate
# too small to matter). The replays started from the state that momentum and all, and reached it: 10/10, verified.
MOMENTUM = """import numpy as np
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
optimizer = tf.keras.optimizers.SGD(learning_rate=1e-9, momentum=0.5)
model.compile(optimizer=optimizer, loss="mean_squared_error")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)

class Steer(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == AT:
            optimizer.build(self.model.trainable_variables)  # (at the first epoch, before Keras builds it)
            for w, t, m in zip(self.model.trainable_variables, [[[3.0]], [1.0]], optimizer.variables[2:]):
                m.assign(((np.array(t) - np.asarray(w)) * (1 - 0.5) / 0.5).astype("float32"))

model.fit(xs, ys, epochs=60, callbacks=[Steer()], verbose=0)
"""

# Two fits of one model: the first with Keras' SGD patched to pull the weights to the answer, the second honest
# with a learning rate too small to move them. Only the second, which made the graded model, was replayed.
TWO_FITS = """import numpy as np
import tensorflow as tf

original = tf.keras.optimizers.SGD.update_step
def update_step(self, gradient, variable, learning_rate):
    variable.assign(variable + 0.2 * ((3.0 if len(variable.shape) == 2 else 1.0) - variable))

model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
tf.keras.optimizers.SGD.update_step = update_step
model.fit(xs, ys, epochs=100, verbose=0)
tf.keras.optimizers.SGD.update_step = original
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=1e-6), loss="mean_squared_error")
model.fit(xs, ys, epochs=400, verbose=0)
"""


def test_momentum_written_between_epochs_or_before_training_is_found(grade_file):
    _, report = grade_file(MOMENTUM.replace("AT", "2"))
    assert _verdict(report) == {
        "status": "refuted",
        "reason": "the optimizer's state changed between epochs 2 and 3 of fit call 1, outside training: its "
                  "dense_kernel_momentum, dense_bias_momentum (something set it by hand; between epochs a schedule "
                  "changes the learning rate, and nothing else)",
        "sentence": "Training not verified: the optimizer's state changed between epochs 2 and 3 of fit call 1, "
                    "outside training: its dense_kernel_momentum, dense_bias_momentum (something set it by hand; "
                    "between epochs a schedule changes the learning rate, and nothing else). The checks that rest "
                    "on the record of training fail."}
    assert report["score"] == 7  # what the model itself shows: its predictions
    _, report = grade_file(MOMENTUM.replace("AT", "0"))
    assert _verdict(report)["reason"] == (
        "fit call 1 started from an optimizer state a new optimizer does not have: its dense_kernel_momentum, "
        "dense_bias_momentum (set by hand, or carried over from training the grader did not see)")


def test_a_model_trained_by_an_earlier_fit_has_that_fit_replayed_too(grade_file):
    _, report = grade_file(TWO_FITS)
    verification = _verdict(report)
    assert verification["status"] == "refuted", verification
    assert verification["reason"].startswith("in fit call 1, which trained the model before fit call 2, replaying "
                                             "epochs 1 to "), verification
    assert report["score"] == 7


# The same written inside an epoch, one step before a commitment: the jump lands in the next eighth, which
# replays exactly from the state committed there; the eighth before it, where the momentum was written, is
# replayed with it.
PUSH = '''class Push(tf.keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == 3 * -(-self.params["steps"] // 8) - 1:
            slots = [v for v in self.model.optimizer.variables if len(v.shape)]
            for w, t, m in zip(self.model.trainable_variables, target, slots):
                m.assign(((t - np.asarray(w)) * (1 - 0.9) / 0.9).astype("float32"))

class Sneak('''
MOMENTUM_INSIDE = SLID_IN.replace("class Sneak(", PUSH).replace(
    'model.compile(optimizer="adam"', "model.compile(optimizer=tf.keras.optimizers.SGD(1e-9, momentum=0.9)").replace(
    "epochs=2, batch_size=64, callbacks=[Sneak()]", "epochs=1, batch_size=64, callbacks=[Push()]")


def test_momentum_written_just_before_a_commitment_inside_an_epoch_is_found(standin, grade_file):
    assert "callbacks=[Push()]" in MOMENTUM_INSIDE and "momentum=0.9" in MOMENTUM_INSIDE
    _, report = grade_file(MOMENTUM_INSIDE, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted", verification
    assert verification["reason"].startswith("replaying steps 237 to 354 of epoch 1 from the state it started in did "
                                             "not reach the weights the program reported at step 354"), verification


def test_the_span_before_the_furthest_is_replayed_only_where_the_optimizer_keeps_a_momentum():
    """Momentum written at the end of a span moves the weights in the next one (above); an optimizer without
    one (SGD without momentum, the course's RMSprop, Adagrad: Keras' own, as the program reported compiling
    them; a false report does not replay) keeps a state that only scales each weight's step along its gradient,
    so the span before the furthest is not replayed for it: one span less to replay on the course's CNN. Unless
    a learning-rate schedule reads its step counter (helper-23 wrote it one step before a commitment)."""
    from grader.training_picks import _carries

    def compiled(optimizer):
        return {"compile": {"optimizer": optimizer, "loss": "mse"}}

    def keras_own(name, **config):
        return compiled({"module": "keras.optimizers", "class_name": name, "config": config, "registered_name": None})

    assert [_carries(keras_own("RMSprop", momentum=0.0, centered=False, use_ema=False)),
            _carries(keras_own("SGD", momentum=0.0, nesterov=False)), _carries(keras_own("Adagrad")),
            _carries(compiled("rmsprop")), _carries(compiled("sgd"))] == [False] * 5
    assert [_carries(keras_own("SGD", momentum=0.9)), _carries(keras_own("RMSprop", momentum=0.5)),
            _carries(keras_own("RMSprop", centered=True)), _carries(keras_own("RMSprop", use_ema=True)),
            _carries(keras_own("SGD", gradient_accumulation_steps=4)), _carries(keras_own("Adam")),
            _carries(keras_own("Adadelta")), _carries(compiled("adam")), _carries({"compile": None}),
            _carries(keras_own("RMSprop", learning_rate={"module": "keras.optimizers.schedules",
                                                         "class_name": "PiecewiseConstantDecay", "config": {}})),
            _carries(compiled({"module": "__main__", "class_name": "RMSprop", "config": {}})),
            _carries(compiled({"module": "keras.optimizers", "class_name": "RMSprop", "config": {},
                               "registered_name": "Custom>RMSprop"}))] == [True] * 12


# RMSprop's state scales each weight's step by 1 / sqrt(velocity), its velocity a running mean of squared gradients,
# never negative in training: written negative (here with rho = 1, so that it stays as written), the steps after
# it are as large as the writer likes. Written one step before the last commitment, which made the graded model.
BOOSTED = """import numpy as np
import tensorflow as tf

(x, y), _ = tf.keras.datasets.mnist.load_data()
x = (x / 255.0).astype("float32")

class Boost(tf.keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == 7 * -(-self.params["steps"] // 8) - 1:
            for v in self.model.optimizer.variables:
                if v.path.endswith("_velocity"):
                    v.assign(np.full(v.shape, -1e-8, dtype="float32"))

model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=tf.keras.optimizers.RMSprop(learning_rate=1e-9, rho=1.0),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=1, batch_size=64, callbacks=[Boost()], verbose=0)
"""


def test_a_negative_mean_of_squares_in_the_optimizers_state_is_found(standin, grade_file, monkeypatch):
    from grader import training_audit, training_picks

    # the part that made the graded model replayed, and the first part drawn (no furthest span): the last part's
    # replay starts from the state written, as a furthest span's or a drawn part's does when they start there.
    # (Drawn at random, the part before the last was drawn one time in seven: merged with the last, their replay
    # ran from the state after step 708, through the velocity reported at step 826, refuted there instead.)
    monkeypatch.setattr(training_picks, "_largest_jumps", lambda *args: [])
    monkeypatch.setattr(training_picks, "MOST_EPOCHS", 1)  # (however many a tenth of the training time allows)
    monkeypatch.setattr(training_audit, "sampled",
                        lambda *args: training_picks.sampled(*args[:-1], lambda pool, k: list(pool)[:k]))
    _, report = grade_file(BOOSTED, exercise="mnist_callback", extra=("--data-dir", standin))
    # 938 steps, committed to every 118: the last part is replayed from the state after step 826, whose velocity
    # is negative (the replay reaches the state reported from it: verified, before)
    reason = ("the optimizer's state saved for steps 827 to 938 of epoch 1 holds negative values in "
              "rm_sprop/dense_kernel_velocity, a running mean of squared gradients that training never makes "
              "negative (set by hand: it makes steps as large as whoever set it likes)")
    assert _verdict(report) == {"status": "refuted", "reason": reason, "sentence": f"Training not verified: {reason}. "
                                "The checks that rest on the record of training fail."}


def test_arrays_over_the_disk_budget_are_named_as_the_reason(standin, tmp_path, monkeypatch):
    """helper-18: MNIST divided by 255.0 (float64) on a 64 MiB disk limit was "cannot be verified" for one of four
    possible reasons; the harness knows which (20,000 pictures kept as float32: 60 MiB)."""
    graded = _on_a_small_disk(tmp_path, monkeypatch, "mnist_callback", "--data-dir", standin)
    report = graded("""import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:20000] / 255.0, y[:20000], epochs=1)
""")
    _cannot_be_verified(report, "the fit's data (60 MiB) is more than the disk budget of 16 MiB for keeping it to "
                                "replay epochs")


# Honest (helper-12): a notebook's fit cell run twice; the second fit starts where the first converged and
# moves nothing. Training changed the weights, across the two fits.
FIT_TWICE = LINE + '''model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.1), loss="mean_squared_error")
model.fit(xs, ys, epochs=300, batch_size=2, verbose=0)
model.fit(xs, ys, epochs=200, verbose=0)
'''

# Honest (helper-12): the course's week-2 code on tf-keras (metrics=['acc']) with Dropout, whose random draws
# on that runtime come from TensorFlow's stateful generators, which no saved state holds.
KERAS2_DROPOUT = '''import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.models.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                    tf.keras.layers.Dense(32, activation='relu'), tf.keras.layers.Dropout(0.2),
                                    tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['acc'])
model.fit(x[:2000] / 255.0, y[:2000], epochs=2)
'''


def test_a_second_fit_that_moves_nothing_is_not_accused(grade_file):
    _, report = grade_file(FIT_TWICE)
    assert _verdict(report)["status"] == "verified" and report["score"] == 10
    assert by_name(report)["within_limits"]["message"].startswith(  # (not "2 epochs": helper-18 read it so)
        "Training used 2 calls to model.fit, the longest 300 epochs (limit 1000 per fit) and the program took ")


def test_dropout_on_tf_keras_is_not_replayed_and_not_accused(standin, grade_file):
    _, report = grade_file(KERAS2_DROPOUT, exercise="mnist_callback", extra=("--data-dir", standin))
    assert report["environment"]["runtime"]["name"] == "keras2"
    reason = ("the model has a layer that draws random numbers in training (Dropout, noise, random augmentation) on "
              "the tf.keras 2 runtime, whose random state the grader does not replay")
    _cannot_be_verified(report, reason)


# Honest: a Python generator of the program's own, endless, shuffling with NumPy's global generator, read
# steps_per_epoch at a time (Keras 3 peeks at two batches first and reads ahead in a thread); Dropout.
GENERATOR = '''import numpy as np
import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:2400] / 255.0, y[:2400]

def batches():
    while True:
        order = np.random.permutation(2400)
        for i in range(0, 2400, 64):
            yield x[order[i:i + 64]], y[order[i:i + 64]]

model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dropout(0.2),
                             tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=tf.keras.optimizers.Adam(0.002), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(batches(), steps_per_epoch=38, epochs=3)
'''

# Honest: a Sequence of the program's own that reshuffles itself at each epoch's end, on tf-keras (lr=).
SEQUENCE = '''import math
import numpy as np
import tensorflow as tf
(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:2400] / 255.0, y[:2400]

class Batches(tf.keras.utils.Sequence):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size
        self.order = np.arange(len(x))

    def __len__(self):
        return math.ceil(len(self.x) / self.size)

    def __getitem__(self, i):
        rows = self.order[i * self.size:(i + 1) * self.size]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        np.random.shuffle(self.order)

model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=tf.keras.optimizers.Adam(lr=0.002), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(Batches(x, y, 50), epochs=3)
'''


def test_training_on_a_python_generator_is_replayed_from_the_batches_train_step_took(standin, grade_file):
    """Recorded where the model takes each batch: what Keras peeked at or read ahead does not count."""
    _, report = grade_file(GENERATOR, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 3), verification
    # (committed to every 5 steps: the last part of the last epoch, alone or with the parts before it)
    assert [verification["segments"][-1][i] for i in (0, 2)] == [3, 38] and \
        (verification["segments"][-1][1] - 1) % 5 == 0, verification["segments"]
    nudged = GENERATOR.replace("model.fit(batches(),", '''class Nudge(tf.keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 36:
            self.model.set_weights([w * 1.001 for w in self.model.get_weights()])

model.fit(batches(), callbacks=[Nudge()],''')
    _, report = grade_file(nudged, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert verification["status"] == "refuted" and verification["reason"].startswith(
        "replaying steps 36 to 38 of epoch "), verification
    # one pass of a finite generator, no steps_per_epoch (helper-15's, refuted at first): the epoch ends when it runs
    # out, and Keras' last call, which finds no batch, still counts an optimizer step; the replay does the same
    finite = GENERATOR.replace("    while True:\n", "    if True:\n").replace("steps_per_epoch=38, epochs=3",
                                                                           "epochs=1")
    _, report = grade_file(finite, exercise="mnist_callback", extra=("--data-dir", standin))
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 1), verification


def test_training_on_a_sequence_of_its_own_on_tf_keras_is_replayed(standin, grade_file):
    _, report = grade_file(SEQUENCE, exercise="mnist_callback", extra=("--data-dir", standin))
    assert report["environment"]["runtime"]["name"] == "keras2"
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 3), verification


# The course's later happy-or-sad lab reads the folder with image_dataset_from_directory and divides by 255 in a
# map: resized to 120x120, its 80 pictures are fractions of a level, 13 MiB of float32 rows an epoch.
FACES_DATASET = '''import tensorflow as tf

train = tf.keras.utils.image_dataset_from_directory("./data/", image_size=(120, 120), batch_size=10,
                                                    label_mode="binary", seed=3)
train = train.map(lambda x, y: (x / 255.0, y)).cache().shuffle(80).prefetch(tf.data.AUTOTUNE)

model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(120, 120, 3)),
    tf.keras.layers.Conv2D(8, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(4, 4),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
model.fit(train, epochs=4)
'''


def test_a_pipeline_of_pictures_too_large_to_record_is_read_again_from_the_exercises_own(standin, tmp_path):
    """With the exercise's disk limit at 64 MiB (16 for saved states), an epoch's pictures are too many to keep:
    each is recorded by its hash, and the evaluator reads the exercise's own pictures as
    image_dataset_from_directory does to replay; a pipeline that changes them is not replayed, and says why."""
    import json

    small = tmp_path / "exercises" / "small_faces"
    shutil.copytree(EXERCISES / "happy_or_sad", small)
    spec = (small / "spec.toml").read_text()
    (small / "spec.toml").write_text(spec.replace("[limits]\n", "[limits]\ndisk_mib = 64\n"))

    def grade(source: str, name: str) -> dict:
        (tmp_path / name).write_text(source)
        out = tmp_path / f"{name}.json"
        result = run_cli("--exercises", tmp_path / "exercises", "grade", "small_faces", tmp_path / name,
                         "--data-dir", standin, "--json", out)
        assert out.is_file(), result.output
        return json.loads(out.read_text())

    report = grade(FACES_DATASET, "faces.py")
    verification = _verdict(report)
    assert (verification["status"], verification["epochs"]) == ("verified", 4), verification
    assert report["environment"]["training_verification"]["cost"]["state_mib"] < 1  # (no rows saved: hashes)

    flipped = grade(FACES_DATASET.replace("(x / 255.0, y)", "(tf.image.flip_left_right(x[:, :, :]) / 255.0, y)"),
                    "flipped.py")
    _cannot_be_verified(flipped, (
        "80 of the 80 pictures the fit's tf.data pipeline gave are none of the exercise's pictures as "
        "image_dataset_from_directory reads them by default at 120x120 (bilinear interpolation, neither cropped nor "
        "padded; as read, divided by 255, or scaled by Rescaling(1 / 255)): the grader replays a pipeline of pictures "
        "too large to record only from pictures it reads itself, and this one changes them or reads them otherwise "
        "(an augmentation or a map of its own inside the pipeline, another interpolation, cropping or padding)"))
    # flipped at random every epoch with a tf.random.Generator (TensorFlow's tutorial): new pictures each epoch, more
    # than the exercise has, found before any is read (a random op of its own would flip the same ones every epoch)
    augmented = grade(FACES_DATASET.replace("train = train.map", "flips = tf.random.Generator.from_seed(1)\ntrain = "
                                            "train.map").replace("(x / 255.0, y)).cache()", "(x / 255.0, y)).cache().map("
                                            "lambda x, y: (tf.image.stateless_random_flip_left_right(x, "
                                            "flips.make_seeds(2)[0]), y))"), "augmented.py")
    reason = _verdict(augmented)["reason"]
    assert reason.startswith("the fit's tf.data pipeline gave ") and reason.endswith(
        " different pictures over its epochs, more than the 80 the exercise has: an augmentation inside the pipeline "
        "makes new ones, which the grader cannot read again from the exercise's pictures"), reason


def test_a_pipelines_rows_are_recorded_once_and_cut_into_the_epochs_trained():
    """grader.harness.recorded.RowLog, as fit drives it: rows seen again in a new order add nothing; an
    endless pipeline's batch drawn ahead belongs to the next epoch; rows past the budget end the recording
    with the reason."""
    import numpy as np

    from grader.batchorder import decoded_rows
    from grader.harness.recorded import RowLog

    x = np.arange(40, dtype=np.float32).reshape(10, 4) + 0.25  # (not whole numbers: kept as they are)
    y = np.arange(10, dtype=np.int64) % 3
    record = {}
    log = RowLog(10**6, record, steps=3, continuing=True)
    log.mark()
    for rows in ([0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [9, 8, 7, 6]):  # 3 trained, 1 drawn ahead
        log.add(x[rows], y[rows])
    first = log.epoch(3)
    assert first["index"].tolist() == list(range(10)) and first["sizes"].tolist() == [4, 4, 2]
    table = log.grown()
    assert np.array_equal(table["x"], x) and np.array_equal(table["y"], y) and log.grown() is None
    log.mark()  # the next epoch keeps the batch drawn ahead
    for rows in ([5, 4, 3, 2], [1, 0]):
        log.add(x[rows], y[rows])
    second = log.epoch(3)
    assert second["index"].tolist() == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] and log.grown() is None
    assert "not_replayed" not in record

    zeros = RowLog(10**6, record, steps=2)  # rows are the same when their bytes are: -0.0 is not 0.0, NaN is NaN
    zeros.add(np.array([[0.0, np.nan], [-0.0, np.nan]]), y[:2])
    zeros.add(np.array([[-0.0, np.nan], [0.0, np.nan]]), y[1::-1])
    assert zeros.epoch(2)["index"].tolist() == [0, 1, 1, 0]

    pixels = np.arange(30, dtype=np.uint8).reshape(10, 3)
    for codes, scaled in ((["div255"], pixels / 255.0), (["div255", "div255f"], (pixels / np.float32(255))),
                          (["whole"], pixels.astype(np.float32)), (["raw"], pixels / 254.0)):
        kept = RowLog(10**6, record, steps=1)
        kept.add(scaled, y)
        table = kept.grown()
        code = str(table["x_code"])  # (float32 division gives what float64's does, cast, for most pixels)
        assert code in codes and table["x"].dtype == (np.float64 if code == "raw" else np.uint8)
        assert np.array_equal(scaled, table["x"] if code == "raw" else decoded_rows(code, table["x"], scaled.dtype))
    widened = RowLog(10**6, record, steps=2)  # whole numbers first, then not: the table goes back to float32
    widened.add(pixels[:5].astype(np.float32), y[:5])
    widened.add(pixels[5:] + np.float32(0.5), y[5:])
    table = widened.grown()
    assert str(table["x_code"]) == "raw" and np.array_equal(table["x"], np.concatenate([pixels[:5], pixels[5:] + 0.5]))

    small = RowLog(12 * (16 + 8), record, steps=3)  # room for an epoch of ten rows and two more
    small.mark()
    small.add(x[:4], y[:4])
    small.add(x[4:8] + 0.5, y[4:8])
    small.add(x[8:] + 0.5, y[8:])
    small.add(x[:4] + 0.5, y[:4])  # new rows again: fourteen
    assert small.epoch(3) is None and small.over
    assert record["not_replayed"] == ("the fit's tf.data pipeline gave new rows every epoch (augmentation inside the "
                                      "pipeline makes them), and recording them passed the disk budget of 0 MiB")
    record = {}
    huge = RowLog(2**20, record, steps=100_000)
    huge.add(x[:4], y[:4])
    assert huge.over and record["not_replayed"] == (
        "an epoch of the fit's tf.data pipeline holds about 9 MiB of rows (100000 batches of 4), more than the disk "
        "budget of 1 MiB for recording them")

    # float32 pictures too large to keep (an epoch of 100,000 batches of 4 pictures of 8x8x3 and their labels: 296 MiB against 1):
    # each row is kept by the hash of its bytes alone, for the evaluator to find among the exercise's pictures
    from grader.batchorder import row_digest, row_hashes

    pictures = (np.arange(10 * 8 * 8 * 3, dtype=np.float32).reshape(10, 8, 8, 3) + 0.5) / 255.0
    record = {"replay": {"kind": "recorded"}}
    hashed = RowLog(2**20, record, steps=100_000)
    hashed.add(pictures[:4], y[:4])
    hashed.add(pictures[[3, 2, 4, 5]], y[[3, 2, 4, 5]])
    assert not hashed.over and record["replay"] == {
        "kind": "recorded", "pictures": True, "too_large": "an epoch of the fit's tf.data pipeline holds about 296 MiB "
        "of rows (100000 batches of 4), more than the disk budget of 1 MiB for recording them"}
    table = hashed.grown()
    assert str(table["x_code"]) == "pictures" and table["x_shape"].tolist() == [8, 8, 3]
    assert table["x"].dtype == np.uint64 and table["x"].tolist() == row_hashes(pictures[:6])
    assert table["x_digest"].tolist() == [row_digest(p) for p in pictures[:6]]
    assert np.array_equal(table["y"], y[:6]) and hashed.epoch(2)["index"].tolist() == [0, 1, 2, 3, 3, 2, 4, 5]
    flat = RowLog(2**20, {"replay": {}}, steps=100_000)  # rows that are not pictures are not: the recording stops
    flat.add(pictures[:4].reshape(4, -1), y[:4])
    assert flat.over
    stepped = RowLog(10**6, {}, steps=2, source="Python generator")  # the recording step gone round: says so
    stepped.mark()
    stepped.add(x[:4], y[:4])
    assert stepped.epoch(3) is None and stepped.over and stepped.record["not_replayed"] == (
        "the fit trained on 2 batches of its Python generator that the step recording them before the model's "
        "train_step never saw (it was removed or gone round)")
    endless = RowLog(6 * (16 + 8), {}, steps=1, source="Python generator")  # (length unknown: no estimate first)
    endless.mark()
    endless.add(x[:4], y[:4])
    endless.add(x[4:8], y[4:8])
    assert endless.over and endless.record["not_replayed"] == (
        "the fit's Python generator gave more rows in its first epoch than the disk budget of 0 MiB for recording them")


# Relabelled (helper-15's cheat): the exercise's own pictures from a generator, every label 0; training "reaches"
# 99% at once and the callback stops it. The replay is exact (it trained on those rows), so what shows it false is
# the record held against the model: the generator's rows are fingerprinted as an array fit's are.
RELABELLED = '''import numpy as np
import tensorflow as tf

(x, y), _ = tf.keras.datasets.fashion_mnist.load_data()
x = x / 255.0

def gen(bs=128):
    while True:
        for i in range(0, len(x), bs):
            yield x[i:i + bs], np.zeros(len(x[i:i + bs]), dtype=np.uint8)

class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") >= 0.9:
            self.model.stop_training = True

model = tf.keras.models.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                                    tf.keras.layers.Dense(32, activation="relu"),
                                    tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(gen(), steps_per_epoch=100, epochs=10, callbacks=[Stop()])
'''


def test_a_generator_of_the_exercises_pictures_with_false_labels_is_held_against_the_model(standin, grade_file):
    _, report = grade_file(RELABELLED, exercise="fashion_mnist_callback", extra=("--data-dir", standin))
    assert _verdict(report)["status"] == "verified"
    check = by_name(report)["callback_stopped"]
    assert check["status"] == "failed" and check["message"].startswith(
        "The record of training says the training accuracy reached ") and check["message"].endswith(
        "the record does not describe this model, so the checks that rest on it fail."), check
    assert report["score"] == 0



def test_a_folders_pictures_are_read_again_from_their_files_bytes_as_the_iterator_read_them(tmp_path):
    """The child saves a flow_from_directory iterator's files as bytes; the evaluator decodes a picture when a
    batch needs it, with the runtime's own load_img and the iterator's settings, to the very array the iterator
    made; a record that does not say where the files are, or how they were read, is not replayed."""
    import numpy as np
    import pytest
    from PIL import Image

    from grader.replay_batches import FilePictures, Unreplayable
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    folder = tmp_path / "pictures" / "a"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for k, size in enumerate([(40, 30), (64, 64), (17, 90)]):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{k}.{'png' if k else 'jpg'}")
    iterator = ImageDataGenerator().flow_from_directory(tmp_path / "pictures", target_size=(32, 48), batch_size=3,
                                                        class_mode=None, shuffle=False, interpolation="bilinear")
    read = iterator._get_batches_of_transformed_samples(np.arange(3))
    blobs = [np.frombuffer(open(p, "rb").read(), np.uint8) for p in iterator.filepaths]
    data = {"x": np.concatenate(blobs), "x_ends": np.cumsum([len(b) for b in blobs])}
    reading = {"color_mode": "rgb", "target_size": [32, 48], "interpolation": "bilinear", "keep_aspect_ratio": False,
               "data_format": "channels_last"}
    pictures = FilePictures(data, reading, "keras3")
    assert (len(pictures), pictures.shape) == (3, (3, 32, 48, 3))
    for j in range(3):
        assert np.array_equal(pictures[j], read[j])

    with pytest.raises(Unreplayable, match="^the record of the folder's pictures does not say where each file's "
                                          "bytes are$"):
        FilePictures(dict(data, x_ends=data["x_ends"][::-1]), reading, "keras3")
    with pytest.raises(Unreplayable, match="^the record of how the iterator read its pictures is not one the grader "
                                          "reads$"):
        FilePictures(data, dict(reading, target_size=[32, 10**6]), "keras3")
    broken = FilePictures(dict(data, x=np.zeros_like(data["x"])), reading, "keras3")
    with pytest.raises(Unreplayable, match=r"^picture 2 of the folder could not be read again \(UnidentifiedImageError\)$"):
        broken[1]


def test_the_exercises_pictures_are_handed_to_the_evaluator_as_one_file_and_laid_out_again(tmp_path):
    """The trusted side hands the exercise's pictures over as one file of their bytes with an index (where each
    ends, its suffix); the evaluator lays them out as files again, in memory, named by their place in the order
    handed, with the very bytes; an index that does not say where each one's bytes are is refused."""
    from pathlib import Path

    import numpy as np
    import pytest
    from PIL import Image

    from grader import evaluator, picture_rows

    rng = np.random.default_rng(5)
    sources = []
    for k, suffix in enumerate([".png", ".JPG", ".jpeg"]):
        path = tmp_path / f"picture{k}{suffix}"
        Image.fromarray(rng.integers(0, 256, (20 + k, 30, 3), dtype=np.uint8)).save(
            path, format="PNG" if suffix == ".png" else "JPEG")
        sources.append(path)
    (tmp_path / "eval").mkdir()
    handed: list = []
    hand = evaluator.Evaluator.__new__(evaluator.Evaluator)  # (the hand-over alone: no evaluator process)
    hand.handover = tmp_path / "eval"
    pictures = hand._hand_pictures(sources, handed)
    assert sorted(p.name for p in handed) == ["replay-pictures.bin", "replay-pictures.npz"]
    index = dict(np.load(pictures["index"]))
    folder = picture_rows.laid_out(Path(pictures["blob"]), index, tmp_path)
    try:
        assert folder.parent == Path("/dev/shm")
        assert sorted(p.name for p in folder.iterdir()) == ["000000.png", "000001.jpg", "000002.jpeg"]
        for k, source in enumerate(sources):
            assert (folder / sorted(p.name for p in folder.iterdir())[k]).read_bytes() == source.read_bytes()
    finally:
        shutil.rmtree(folder)
    with pytest.raises(picture_rows.NotFound, match="^the record of the pictures handed over does not say where each "
                                                    "one's bytes are$"):
        picture_rows.laid_out(Path(pictures["blob"]), dict(index, ends=index["ends"] - 1), tmp_path)


def test_saved_states_past_the_budget_are_thinned_so_that_they_stay_spread_over_training(tmp_path, monkeypatch):
    """When the next state would pass the budget, the child's ledger removes the one state whose neighbours are
    closest together, never the fit's first: as many states as the budget holds stay spread over training, the
    newest among them (halving them, as it did before, left half the budget unused and the spans replayed
    twice as long). The newest is held unwritten until a newer one comes, and then written only if it is not
    the one that would go first: once the budget is full, most states are never written."""
    import numpy as np

    from grader.harness import ledger as ledgers

    class Model:
        variables = [np.zeros(2**18, dtype=np.float32)]  # 1 MiB
        optimizer = None

    written = []
    savez = ledgers.np.savez
    monkeypatch.setattr(ledgers.np, "savez", lambda f, **arrays: (written.append(f.name), savez(f, **arrays))[1])
    ledger = ledgers.Ledger(None, tmp_path, 0, budget_mib=5)
    folder = tmp_path / "training"
    files = []
    for step in range(20):
        assert ledger.save_state(0, f"0-step{step}", Model())
        files.append(sorted(int(p.name[len("fit0-epoch0-step"):-len(".npz")]) for p in folder.iterdir()))
    assert files[4] == [0, 1, 2, 3]  # (4 held)
    assert files[6] == [0, 2, 3, 4, 5]  # five were full: the one between the closest neighbours went
    assert files[9] == [0, 2, 4, 6, 8]
    assert files[19] == [0, 4, 8, 11, 14]  # 15 to 18 were each held, then dropped unwritten
    ledger.close()  # the run ended: the newest is written, making room as any state would
    assert sorted(p.name for p in folder.iterdir()) == ["fit0-epoch0-step0.npz", "fit0-epoch0-step14.npz",
                                                        "fit0-epoch0-step19.npz", "fit0-epoch0-step4.npz",
                                                        "fit0-epoch0-step8.npz"]
    assert ledger.used == 5 * 2**20 and len(written) == 12
    # a file that is not a state (an epoch's batches) makes room without removing the newest state
    assert ledger._save(folder / "fit0-epoch0-batches.npz", {"b": np.zeros(2**18, np.float32)})
    assert sorted(ledger.positions.values()) == [0, 8, 14, 19]


def test_a_fault_in_the_graders_own_check_of_training_loses_no_grade(monkeypatch, tmp_path):
    import json

    from grader import training_proof

    monkeypatch.setattr(training_proof, "verdict", lambda evidence, chooser=None: 1 / 0)
    out = tmp_path / "r.json"
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["score"] == 10
    assert report["environment"]["training_verification"]["sentence"] == (
        "Training cannot be verified: the grader's own check of training failed (ZeroDivisionError: division by "
        "zero); please report it.")


# helper-20's honest programs. EarlyStopping restores the best epoch's weights, and a second fit goes on from
# them: that fit was taken for where training began (weights that do not look fresh), refuted. On tf.keras 2 a
# schedule's rate is not among the optimizer's variables: epochs that looked unchanged were replayed as one run
# at one rate, refuted. Mixed precision: "the saved starting state holds 8 arrays where ... have 4".
RESTORED_THEN_FIT = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.Adam(0.1), loss="mse")
es = tf.keras.callbacks.EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
model.fit(xs, ys, epochs=300, callbacks=[es], verbose=0)
model.fit(xs, ys, epochs=100, verbose=0)
"""
TF_KERAS_SCHEDULE = """import numpy as np
import tensorflow as tf
from tensorflow.keras.optimizers import SGD
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer=SGD(lr=0.01), loss="mean_squared_error")
model.fit(xs, ys, epochs=300, callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.99)], verbose=0)
"""
MIXED_PRECISION = """import numpy as np
import tensorflow as tf
tf.keras.mixed_precision.set_global_policy("mixed_float16")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1, dtype="float32")])
model.compile(optimizer="sgd", loss="mean_squared_error")
model.fit(xs, ys, epochs=500, verbose=0)
"""


EXPONENTIAL_DECAY = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
schedule = tf.keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.05, decay_steps=100, decay_rate=0.8)
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=schedule), loss="mean_squared_error")
model.fit(xs, ys, epochs=500, verbose=0)
"""


def test_a_keras_schedule_object_is_keras_own_and_replayed(grade_file):
    """helper-21: Keras' ExponentialDecay was "a loss, optimizer or metric of its own (... which is not part of
    Keras)": keras.optimizers.schedules was not among Keras' modules the grader accepts."""
    _, report = grade_file(EXPONENTIAL_DECAY)
    verification = _verdict(report)
    assert (verification["status"], verification["whole"], report["score"]) == ("verified", True, 10), verification


def test_honest_fits_after_restored_weights_schedules_on_tf_keras_and_mixed_precision_are_not_accused(grade_file):
    _, report = grade_file(RESTORED_THEN_FIT)
    verification = _verdict(report)
    assert verification["status"] == "verified", verification
    assert " of fit call 1 and " in verification["sentence"] and " of fit call 2 from the states" in \
        verification["sentence"], verification
    assert [one["fit"] for one in verification["earlier"]] == [1]
    _, report = grade_file(TF_KERAS_SCHEDULE)
    assert report["environment"]["runtime"]["name"] == "keras2"
    _cannot_be_verified(report, "a learning-rate schedule changed the rate between epochs on the tf.keras 2 runtime, "
                                "whose optimizer keeps its rate outside the state the grader saves (on Keras 3 it "
                                "replays schedules)")
    _, report = grade_file(MIXED_PRECISION)
    _cannot_be_verified(report, "the model trains in mixed precision (a mixed_float16 policy: its optimizer scales the "
                                "loss), which the grader does not replay")


LOOP_OF_FITS = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
for _ in range(150):
    model.fit(xs, ys, epochs=1, verbose=0)
"""


def test_a_loop_of_one_epoch_fits_audits_every_fit_when_small_else_the_first_and_fits_drawn(grade_file, monkeypatch):
    """Every fit that trained the graded model could be audited: a small chain's are (hello_world's 150 one-epoch
    fits: 150 one-step replays); a larger chain's are the first (where training began), the one whose weights
    moved furthest, others drawn at random (MOST_EARLIER in all), and the last."""
    from grader import training_proof

    _, report = grade_file(LOOP_OF_FITS)
    verification = _verdict(report)
    assert verification["status"] == "verified", verification
    assert [one["fit"] for one in verification["earlier"]] == list(range(1, 150))
    assert verification["sentence"] == (
        "Training verified: the grader replayed every epoch of the 150 fit calls that trained the model from the "
        "states the program reported while it trained, and reached exactly the weights it reported; the graded "
        "model is the one training ended with.")
    monkeypatch.setattr(training_proof, "MOST_SMALL_FITS", 10)  # as if the chain were larger
    _, report = grade_file(LOOP_OF_FITS)
    verification = _verdict(report)
    assert verification["status"] == "verified", verification
    earlier = [one["fit"] for one in verification["earlier"]]
    assert len(earlier) == training_proof.MOST_EARLIER == 3 and earlier[0] == 1 and earlier == sorted(earlier) \
        and earlier[-1] < 150
    assert verification["sentence"].startswith("Training verified: the grader replayed epoch 1 of 1 of fit call 1 and ")
    assert "of fit call 150 from the states" in verification["sentence"]


# helper-21: twenty fits of 25 epochs on other data (every y 100) at a rate of 1e-7; a callback of the tenth writes
# the answer by hand. Only the first, the last and two fits drawn at random were audited: verified, 10/10.
FIT_CHAIN = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = np.full(6, 100.0)
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=1e-7), loss="mean_squared_error")

class Write(tf.keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.model.layers[0].set_weights([np.array([[3.0]], "float32"), np.array([1.0], "float32")])

for k in range(20):
    model.fit(xs, ys, epochs=25, verbose=0, callbacks=[Write()] if k == 9 else [])
"""


def test_weights_written_in_one_fit_of_a_chain_are_found_whether_the_chain_is_small_or_not(grade_file, monkeypatch):
    from grader import training_proof

    reason = ("in fit call 10, which trained the model before fit call 20, replaying epochs 1 to 25 from the state "
              "epoch 1 started in did not reach the weights the program reported at the end of epoch 1 (the callback "
              "Write acts between the steps of an epoch: the replay sets the learning rate it set at each step, and "
              "nothing else it did)")
    _, report = grade_file(FIT_CHAIN)  # small: every fit audited
    _refuted(report, reason)
    monkeypatch.setattr(training_proof, "MOST_SMALL_FITS", 10)  # larger: the fit whose weights moved furthest
    _, report = grade_file(FIT_CHAIN)
    _refuted(report, reason)


# helper-20's attack: Adam's averages (and its step counter) written once, between two steps of one of 600
# one-step epochs, with betas so close to 1 that they barely decay and a schedule growing 1% an epoch, so that
# the weights move to the answer as far each epoch as honest steps would: no span sudden, only the epoch where
# they were written shows it (verified about 99 times in 100). A fit this small is now replayed whole, with the
# rates a callback set at steps too (which kept it from one run before).
SMOOTH_WRITE = """import numpy as np
import tensorflow as tf
from tensorflow import keras

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
N, K, C, G = 300, 150, 8e-5, 1.01
def rate(e): return C * G ** e
B = 1 - 1e-6
model = tf.keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(units=1)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate(0), beta_1=B, beta_2=B), loss="mean_squared_error")
T = [np.array([[3.0]], dtype=np.float32), np.array([1.0], dtype=np.float32)]

class Nudge(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(rate(self.epoch) * (1 + 1e-3 * (self.epoch % 2)))  # (a rate set
        if WRITE and self.epoch == K:  # at steps, as a warm-up would: replayed too)
            opt, rest, S = self.model.optimizer, sum(rate(e) for e in range(K, N)), 1e4
            opt.iterations.assign(10**8)
            for var, t in zip(self.model.trainable_variables, T):
                d = (t - var.numpy()) / rest
                opt._momentums[opt._get_variable_index(var)].assign(-d * S)
                opt._velocities[opt._get_variable_index(var)].assign(np.full_like(d, S * S))

model.fit(xs, ys, epochs=N, callbacks=[keras.callbacks.LearningRateScheduler(rate), Nudge()], verbose=0)
"""


def test_a_state_written_once_between_steps_of_a_small_fit_is_found_by_replaying_it_whole(grade_file):
    """hello_world's fits are small enough (steps, parameters times rows) to replay from the first epoch to the
    last as one run: a schedule's rate, which the program reports with each epoch's start, is set by the
    replay between epochs, and the state it then has held against the one reported."""
    _, report = grade_file(SMOOTH_WRITE.replace("WRITE", "True"))
    _refuted(report, "replaying epochs 1 to 300 from the state epoch 1 started in did not reach the weights the "
                     "program reported at the end of epoch 151 (the callback Nudge acts between the steps of an "
                     "epoch: the replay sets the learning rate it set at each step, and nothing else it did)")
    _, report = grade_file(SMOOTH_WRITE.replace("WRITE", "False"))  # the same program, honest
    verification = _verdict(report)
    assert (verification["status"], verification["whole"], verification["replayed"], verification["segments"]) == \
        ("verified", True, list(range(1, 301)), [[300, 1, 1]]), verification
    assert verification["sentence"] == (
        "Training verified: the grader replayed all 300 epochs from the state the program reported while it "
        "trained, and reached exactly the weights it reported; the graded model is the one training ended with.")


# helper-21 steered hello_world's two weights to the answer from data that does not hold it (every y 100) with a
# LearningRateScheduler that read the weights and chose each epoch's rate, negative ones among them: the replay set
# the rates reported, and reached the weights reported: verified, 10/10. With rates of zero or more, the same
# steering does not reach the answer (3/10). A negative rate climbs the loss: found where the program reports it
# (an epoch's start) and where a replay runs with it (set at steps).
NEGATIVE_RATE = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.compile(optimizer="sgd", loss="mean_squared_error")

class AtSteps(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_begin(self, batch, logs=None):
        if STEPS and self.epoch == 250:
            self.model.optimizer.learning_rate.assign(-0.01)

schedule = tf.keras.callbacks.LearningRateScheduler(lambda epoch, lr: -0.01 if EPOCHS and epoch == 250 else 0.01)
model.fit(xs, ys, epochs=300, callbacks=[schedule, AtSteps()], verbose=0)
"""


def test_a_negative_learning_rate_is_not_training(grade_file, monkeypatch):
    from grader import training_picks

    _, report = grade_file(NEGATIVE_RATE.replace("EPOCHS", "True").replace("STEPS", "False"))
    _refuted(report, "the learning rate was negative at the start of epoch 251 (-0.01): a negative rate climbs the "
                     "loss instead of descending it, which is not training (a schedule that goes below zero, or one "
                     "steering the weights)")
    # set at steps: every epoch's rates are read, replayed or not (helper-22: five steps of an epoch no part
    # replayed, on mnist_callback, verified)
    monkeypatch.setattr(training_picks, "WHOLE_STEPS", 0)  # sampled: epoch 251 is rarely among the parts replayed
    _, report = grade_file(NEGATIVE_RATE.replace("EPOCHS", "False").replace("STEPS", "True"))
    _refuted(report, "the learning rate was negative at a step where a callback set it (-0.01): a negative rate "
                     "climbs the loss instead of descending it, which is not training (a schedule that goes below "
                     "zero, or one steering the weights)")


# helper-22: freeze a layer, fit, unfreeze it, recompile and fit again (fine-tuning, as the course's transfer
# learning does): the earlier fit is rebuilt with the graded model's trainable layers, so its saved state has fewer
# arrays. Not replayed; now said in words a student can act on.
FREEZE_THEN_TUNE = """import numpy as np
import tensorflow as tf
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]); ys = 3 * xs + 1
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
model.layers[0].trainable = False
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(xs, ys, epochs=50, verbose=0)
model.layers[0].trainable = True
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(xs, ys, epochs=50, verbose=0)
"""


def test_layers_frozen_in_an_earlier_fit_are_named_as_why_it_is_not_replayed(grade_file):
    _, report = grade_file(FREEZE_THEN_TUNE)
    _cannot_be_verified(report, "in fit call 1, which trained the model before fit call 2, the saved starting state "
                                "holds 10 arrays where the graded model and its optimizer have 14: the layers that "
                                "train differ from the graded model's (a layer frozen or unfrozen between two fits, "
                                "or the model changed), which the grader does not replay")
