"""Old idioms from the course material, made to run under Keras 3 (runs in the child).

Each is recorded with the student's line and its modern form; none changes what the code computes.
Measured against the alternative (running such code under tf-keras, Keras 2) in the README.
"""

from __future__ import annotations

import functools
import types


def install(tf, keras, recorder):
    note = recorder.note_legacy

    # from keras.preprocessing.image import ImageDataGenerator (gone from Keras 3's keras.preprocessing)
    legacy_image = tf.keras.preprocessing.image
    names = ("ImageDataGenerator", "DirectoryIterator", "NumpyArrayIterator", "Iterator")

    def image_getattr(name):
        if name in names:
            note(f"from keras.preprocessing.image import {name}",
                 f"from tensorflow.keras.preprocessing.image import {name}")
            return getattr(legacy_image, name)
        raise AttributeError(f"module 'keras.preprocessing.image' has no attribute '{name}'")

    keras.preprocessing.image.__getattr__ = image_getattr

    # Optimizer(lr=...) -> Optimizer(learning_rate=...)
    base = _base_optimizer(keras)
    original_init = base.__init__

    @functools.wraps(original_init)
    def init(self, *args, **kwargs):
        if "lr" in kwargs:
            note(f"{type(self).__name__}(lr=...)", f"{type(self).__name__}(learning_rate=...)")
            lr = kwargs.pop("lr")
            if args:
                args = (lr,) + tuple(args[1:])
            else:
                kwargs["learning_rate"] = lr
        original_init(self, *args, **kwargs)

    base.__init__ = init

    # model.evaluate_generator / predict_generator (fit_generator is in fitwrap)
    def evaluate_generator(self, generator, steps=None, *args, **kwargs):
        note("model.evaluate_generator(...)", "model.evaluate(...)")
        return self.evaluate(generator, steps=steps, verbose=kwargs.get("verbose", 0))

    def predict_generator(self, generator, steps=None, *args, **kwargs):
        note("model.predict_generator(...)", "model.predict(...)")
        return self.predict(generator, steps=steps, verbose=kwargs.get("verbose", 0))

    for name, fn in (("evaluate_generator", evaluate_generator), ("predict_generator", predict_generator)):
        if not hasattr(keras.Model, name):
            setattr(keras.Model, name, fn)

    # TensorFlow 1 basics the course's notebooks open with
    if not hasattr(tf, "logging"):
        tf.logging = _Noted(tf.compat.v1.logging, "tf.logging", "tf.get_logger() or tf.compat.v1.logging", note)
    if not hasattr(tf, "enable_eager_execution"):
        def enable_eager_execution(*args, **kwargs):
            note("tf.enable_eager_execution()", "nothing: TensorFlow 2 runs eagerly")

        tf.enable_eager_execution = enable_eager_execution
    install_tf1_session(tf, keras, note)


def install_tf1_session(tf, keras, note):
    """TensorFlow 1 boilerplate that only configured the GPU (``tf.ConfigProto()``,
    ``gpu_options.allow_growth``, ``tf.Session(config=...)``, ``set_session(sess)``), run as the
    harmless no-op it is on a CPU under TensorFlow 2, so the Keras code after it is graded."""
    v1 = tf.compat.v1
    modern = "nothing: TensorFlow 2 needs no session (tf.config.experimental.set_memory_growth for the GPU)"
    for name in ("ConfigProto", "GPUOptions", "Session", "InteractiveSession"):
        if not hasattr(tf, name):
            setattr(tf, name, _noting(getattr(v1, name), f"tf.{name}(...)", modern, note))
    for name in ("Session", "InteractiveSession"):
        setattr(v1, name, _noting(getattr(v1, name), f"tf.compat.v1.{name}(...)", modern, note))

    def set_session(session=None):
        note("set_session(sess)", modern)

    def get_session():
        note("get_session()", modern)
        return v1.Session()

    backend = types.ModuleType("keras.backend.tensorflow_backend")
    backend.set_session, backend.get_session = set_session, get_session
    import sys

    sys.modules.setdefault("keras.backend.tensorflow_backend", backend)
    for module in {keras.backend, tf.keras.backend}:
        for name, fn in (("set_session", set_session), ("get_session", get_session)):
            if not hasattr(module, name):
                setattr(module, name, fn)
        if not hasattr(module, "tensorflow_backend"):
            module.tensorflow_backend = backend
    try:
        compat_backend = v1.keras.backend
        if not hasattr(compat_backend, "set_session"):
            compat_backend.set_session = set_session
    except AttributeError:
        pass


def _noting(target, idiom: str, modern: str, note):
    @functools.wraps(target)
    def call(*args, **kwargs):
        note(idiom, modern)
        return target(*args, **kwargs)

    return call


def _base_optimizer(keras):
    for cls in type.mro(keras.optimizers.Optimizer):
        if cls.__name__ == "BaseOptimizer":
            return cls
    return keras.optimizers.Optimizer


class _Noted(types.SimpleNamespace):
    """Forwards attribute access to ``target`` and records the idiom on first use."""

    def __init__(self, target, idiom, modern, note):
        super().__init__()
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_args", (idiom, modern, note))

    def __getattr__(self, name):
        idiom, modern, note = object.__getattribute__(self, "_args")
        note(idiom, modern)
        return getattr(object.__getattribute__(self, "_target"), name)
