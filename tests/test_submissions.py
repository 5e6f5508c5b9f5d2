"""Code as students write it: the course's own lab, function style, notebooks, their own callbacks."""

import json

import pytest


COURSE_LAB = """import tensorflow as tf
import numpy as np
from tensorflow import keras
## Define and compile the neural network
model = tf.keras.Sequential([keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer='sgd', loss='mean_squared_error')
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
model.fit(xs, ys, epochs=500)
print(model.predict([10.0])) # Print [[31.002396]]
"""


def test_the_course_lab_as_written_gets_full_marks_and_its_old_idiom_is_named(grade_file):
    result, report = grade_file(COURSE_LAB)
    assert result.exit_code == 0 and report["score"] == 10
    assert report["run"]["status"] == "ok"
    # predict on a list is tf.keras 2 code: it runs on tf-keras, where input_shape= is the API itself
    assert report["environment"]["runtime"]["name"] == "keras2"
    assert report["legacy"] == [{"idiom": "model.predict on a Python list",
                                 "modern": "model.predict(np.array([10.0]))", "line": 10, "where": "line 10"}]
    assert report["run"]["output_tail"].rstrip().endswith("]]")


def test_function_returning_history_is_graded(grade_file):
    source = ("import numpy as np\nimport tensorflow as tf\n\n"
              "def train_model():\n"
              "    xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n    ys = 3 * xs + 1\n"
              "    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
              "    model.compile(optimizer='sgd', loss='mse')\n"
              "    return model.fit(xs, ys, epochs=300, verbose=0)\n")
    result, report = grade_file(source)
    assert report["model"]["source"] == "returned by train_model()"
    assert report["training"]["fits"][0]["epochs_run"] == 300
    assert result.exit_code == 0 and report["score"] == 10


def test_a_stock_nbconvert_export_calls_get_ipython_without_importing_it(grade_file):
    """`jupyter nbconvert --to script` writes `get_ipython().run_line_magic(...)` and `.system(...)` with no
    import of get_ipython (only some templates add one)."""
    result, report = grade_file("#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\n"
                                "get_ipython().run_line_magic('matplotlib', 'inline')\n"
                                "get_ipython().system('pip install -q tensorflow')\n"
                                "print('RAN')\n", name="export.py")
    assert report["run"]["error"] is None, report["run"]["error"]
    assert "RAN" in report["run"]["output_tail"]


def test_a_main_block_that_trains_is_not_trained_twice(grade_file):
    source = ("import numpy as np\nimport tensorflow as tf\n\n"
              "def train_model():\n"
              "    xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
              "    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
              "    model.compile(optimizer='sgd', loss='mse')\n"
              "    model.fit(xs, 3 * xs + 1, epochs=300, verbose=0)\n    return model\n\n"
              "if __name__ == '__main__':\n    trained = train_model()\n    print(trained.predict(np.array([10.0]), verbose=0))\n")
    result, report = grade_file(source)
    assert len(report["training"]["fits"]) == 1
    assert report["model"]["source"] == "the last model passed to fit"
    assert report["score"] == 10


def test_students_own_callback_is_recorded_as_the_one_that_stopped_training(grade_file):
    source = ("import numpy as np\nimport tensorflow as tf\n"
              "class myCallback(tf.keras.callbacks.Callback):\n"
              "    def on_epoch_end(self, epoch, logs={}):\n"
              "        if logs.get('loss') < 0.01:\n"
              "            self.model.stop_training = True\n"
              "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
              "model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
              "model.compile(optimizer='sgd', loss='mse')\n"
              "model.fit(xs, 3 * xs + 1, epochs=900, verbose=0, callbacks=[myCallback()])\n")
    _, report = grade_file(source)
    fit = report["training"]["fits"][0]
    loss = fit["history"]["loss"]
    first_below = next(i for i, v in enumerate(loss) if v < 0.01)
    assert fit["epochs_run"] == first_below + 1 < 900
    assert fit["stopped_by"] == {"class": "myCallback", "module": "__main__", "student": True,
                                 "bases": ["Callback"], "batch_hooks": False, "hook": "on_epoch_end",
                                 "epoch": first_below, "grader": False}
    assert fit["callbacks"] == [{"class": "myCallback", "module": "__main__", "student": True, "bases": ["Callback"],
                                 "batch_hooks": False}]


def notebook(cells):
    """A notebook in nbformat 4: cells are (kind, source) or (kind, source, tags)."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": c[0], "metadata": {"tags": list(c[2])} if len(c) > 2 else {}, "source": c[1],
         **({"outputs": [], "execution_count": None} if c[0] == "code" else {})}
        for c in cells]})


def test_colab_style_notebook_with_magics_and_shell_lines(grade_file):
    nb = notebook([
        ("markdown", "# Week 1"),
        ("code", ["!pip install tensorflow==2.0\n", "%matplotlib inline\n", "import tensorflow as tf\n",
                  "import numpy as np\n", "import matplotlib.pyplot as plt"]),
        ("code", "%%bash\nwget https://example.com/data.zip\n"),
        ("code", ["xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)\n",
                  "ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)\n",
                  "plt.plot(xs, ys)\n", "plt.show()"]),
        ("code", ["model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])\n",
                  "model.compile(optimizer='sgd', loss='mean_squared_error')\n",
                  "history = model.fit(xs, ys, epochs=500, verbose=0)\n", "display(history.history['loss'][-1])"]),
    ])
    result, report = grade_file(nb, name="week1.ipynb")
    assert report["run"]["status"] == "ok", report["run"]
    assert result.exit_code == 0 and report["score"] == 10


def test_error_in_a_notebook_is_reported_by_cell_and_line(grade_file):
    nb = notebook([
        ("code", "import numpy as np\nimport tensorflow as tf"),
        ("code", "xs = np.array([1.0, 2.0])\n# a comment\nys = xs * undefined_name"),
    ])
    _, report = grade_file(nb, name="lab.ipynb")
    error = report["run"]["error"]
    assert error["type"] == "NameError" and error["where"] == "cell 2, line 3"
    assert '  File "lab.ipynb", cell 2, line 3, in <module>' in error["traceback"]


def test_progress_events_arrive_live_and_stay_out_of_the_students_output(tmp_path):
    from grader.exercise import get_exercise
    from grader.grading import grade

    path = tmp_path / "s.py"
    path.write_text("import numpy as np\nimport tensorflow as tf\nprint('mine')\n"
                    "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
                    "model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
                    "model.compile(optimizer='sgd', loss='mse')\nmodel.fit(xs, 3 * xs + 1, epochs=4, verbose=0)\n")
    events = []
    report = grade(get_exercise("hello_world"), path, progress=events.append).to_dict()
    phases = [e["phase"] for e in events if "phase" in e]
    assert phases == ["importing TensorFlow", "running your program", "saving the model",
                      "evaluating the trained model"]
    epochs = [(e["epoch"], e["epochs"]) for e in events if "epoch" in e]
    assert epochs == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(0 < e["time_left_s"] <= 120 for e in events if "time_left_s" in e)
    assert report["run"]["output_tail"] == "mine\n"


def test_only_cells_tagged_graded_run_when_the_exercise_says_so():
    from grader.submission import SubmissionError, notebook_to_source

    raw = notebook([("code", "import numpy as np", ["graded"]), ("code", "!pip install nothing\nplot()"),
                    ("code", "xs = np.arange(3)", ["graded", "other"])])
    source = notebook_to_source(raw, "a.ipynb", graded_only=True)
    assert source.text == "import numpy as np\nxs = np.arange(3)\n"
    assert source.locate(2) == "cell 3, line 1"
    assert "plot()" in notebook_to_source(raw, "a.ipynb").text
    with pytest.raises(SubmissionError, match="has no code cell tagged 'graded'"):
        notebook_to_source(notebook([("code", "x = 1")]), "b.ipynb", graded_only=True)


def test_a_cell_that_raises_stops_the_run_unless_the_exercise_goes_on(tmp_path):
    import shutil

    from conftest import EXERCISES
    from grader.exercise import load_exercise
    from grader.grading import grade

    cells = [("code", "import numpy as np\nimport tensorflow as tf"),
             ("code", "plt.plot([1, 2])"),
             ("code", "xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])\n"
                      "model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])\n"
                      "model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.05), loss='mse')\n"
                      "model.fit(xs, 3 * xs + 1, epochs=150, verbose=0)")]
    path = tmp_path / "lab.ipynb"
    path.write_text(notebook(cells))
    folder = tmp_path / "hello_on"
    shutil.copytree(EXERCISES / "hello_world", folder)
    (folder / "spec.toml").write_text((folder / "spec.toml").read_text().replace(
        'model_variable = "model"', 'model_variable = "model"\ncontinue_after_error = true'))

    stops = grade(load_exercise(EXERCISES / "hello_world"), path).to_dict()
    assert stops["run"]["error"]["where"] == "cell 2, line 1" and stops["score"] == 0

    goes_on = grade(load_exercise(folder), path).to_dict()
    assert goes_on["run"]["status"] == "error"
    assert [(e["type"], e["cell"], e["where"]) for e in goes_on["run"]["cell_errors"]] == [
        ("NameError", 2, "cell 2, line 1")]
    assert goes_on["score"] == 10
