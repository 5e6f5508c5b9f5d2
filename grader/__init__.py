"""grader: automated checking of TensorFlow/Keras training exercises."""

__version__ = "0.1.0"
