"""The child-side fit wrapper, run in a real child process."""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from grader.tfimport import import_keras_quietly
    from grader.harness import fitwrap
    tf, keras = import_keras_quietly()

    def train(n, batch_size, epochs=60):
        keras.utils.set_random_seed(7)
        xs = np.linspace(-1, 4, n)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mean_squared_error")
        h = model.fit(xs, 3 * xs + 1, epochs=epochs, batch_size=batch_size, verbose=0)
        return h.history["loss"], [w.tolist() for w in model.get_weights()]

    plain = [train(6, None), train(40, 8)]
    recorder = fitwrap.Recorder({"max_epochs": 50, "train_deadline": time.time() + 600}, "none")
    fitwrap.install(tf, keras, recorder)
    wrapped = [train(6, None), train(40, 8)]
    print(json.dumps({"plain": plain, "wrapped": wrapped, "fits": recorder.fits}))
""")


@pytest.fixture(scope="module")
def runs():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_one_batch_of_arrays_takes_the_fast_path_and_computes_the_same_thing(runs):
    (plain_loss, _), (fast_loss, _) = runs["plain"][0], runs["wrapped"][0]
    assert runs["fits"][0]["fast_path"] is True
    # capped at the job's 50 epochs: the same 50 losses and the same weights as plain Keras after 50
    assert len(fast_loss) == 50
    assert fast_loss == pytest.approx(plain_loss[:50], rel=1e-5)
    assert runs["fits"][0]["capped"] is True and runs["fits"][0]["epochs_requested"] == 60


def test_many_batches_keep_keras_own_pipeline(runs):
    fit = runs["fits"][1]
    assert fit["fast_path"] is False
    assert fit["epochs_run"] == 50 and fit["limit_hit"] == "epochs"
    assert runs["wrapped"][1][0] == pytest.approx(runs["plain"][1][0][:50], rel=1e-5)
