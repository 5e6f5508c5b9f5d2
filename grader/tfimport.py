"""Import Keras/TensorFlow without their C++ start-up lines on stderr.

TensorFlow prints absl/oneDNN notices while its shared libraries load, and no environment setting
silences them; they would land in the grader's stderr and in every student's captured output.
A leaf module with no other imports: both the child harness and the trusted evaluator use it.
"""

import os


def import_keras_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        import tensorflow as tf

        keras.ops.convert_to_tensor(0.0)  # the lazily loaded kernels print on first use
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf, keras
