"""Trusted loading of the child's model: data only, Keras classes only."""

import subprocess
import sys
import textwrap

import pytest

from grader.modelcheck import UnsafeModel, load_model_safely

SAVE = textwrap.dedent("""
    import sys
    from grader.tfimport import import_keras_quietly
    tf, keras = import_keras_quietly()
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "course":
        model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                     tf.keras.layers.Dense(128, activation=tf.nn.relu),
                                     tf.keras.layers.Dense(10, activation=tf.nn.softmax)])
    else:
        model = keras.Sequential([keras.Input((1,)), keras.layers.Lambda(lambda x: x * 3 + 1)])
    model.save(path)
""")


def saved(tmp_path, kind):
    path = tmp_path / f"{kind}.keras"
    subprocess.run([sys.executable, "-c", SAVE, kind, str(path)], check=True, timeout=120)
    return path


def test_course_model_with_tf_nn_activations_loads(tmp_path):
    model = load_model_safely(saved(tmp_path, "course"), tmp_path)
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "Dense"]
    assert [layer.activation.__name__ for layer in model.layers[1:]] == ["relu", "softmax"]


def test_lambda_layer_is_refused_before_keras_sees_it(tmp_path):
    with pytest.raises(UnsafeModel, match="contains a Lambda layer, which runs arbitrary Python code"):
        load_model_safely(saved(tmp_path, "lambda"), tmp_path)


def test_a_config_naming_a_module_outside_keras_is_refused(tmp_path):
    import json
    import zipfile

    src = saved(tmp_path, "course")
    forged = tmp_path / "forged.keras"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(forged, "w") as out:
        config = json.loads(z.read("config.json"))
        config["config"]["layers"][1]["module"] = "os"
        config["config"]["layers"][1]["class_name"] = "system"
        out.writestr("config.json", json.dumps(config))
        for name in ("metadata.json", "model.weights.h5"):
            out.writestr(name, z.read(name))
    with pytest.raises(UnsafeModel, match="uses system from 'os', which is not part of Keras"):
        load_model_safely(forged, tmp_path)
