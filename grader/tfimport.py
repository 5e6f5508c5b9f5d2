"""Import Keras/TensorFlow without their C++ start-up lines on stderr, on the runtime asked for.

TensorFlow prints absl/oneDNN notices while its shared libraries load, and no environment setting
silences them; they would land in the grader's stderr and in every student's captured output.
``runtime`` is "keras3" (TensorFlow's own Keras) or "keras2" (the Keras team's ``tf-keras`` package,
which ``tf.keras`` becomes under ``TF_USE_LEGACY_KERAS=1``; see grader/runtime.py).
A leaf module with no other imports: both the child harness and the trusted evaluator use it.
"""

import os


def import_keras_quietly(runtime: str = "keras3"):
    """(tf, keras) where ``keras`` is the Keras that ``tf.keras`` is on ``runtime``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if runtime == "keras2":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"  # read by TensorFlow when tf.keras is first touched
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        if runtime == "keras2":
            import tf_keras as keras

            keras.backend.constant(0.0)  # the lazily loaded kernels print on first use
        else:
            import keras

            keras.ops.convert_to_tensor(0.0)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf, keras
