"""Old idioms from the course material (runs in the child).

Code written for tf.keras 2 runs on tf-keras itself (grader/runtime.py chooses; ``install_keras2``
makes ``import keras`` mean it, as standalone Keras 2 code expects). What neither Keras still takes is
translated here, each use recorded with the student's line and its modern form; none changes what the
code computes: an optimizer's ``lr=`` (tf.keras up to 2.10 honoured it; later versions ignore it), the
TensorFlow 1 names ``tf.train.*Optimizer``, ``tf.logging``, sessions that only configured the GPU, and,
on Keras 3, what tf.keras 2 had (``from keras.preprocessing.image import``, ``fit_generator``'s kin)
when such code also uses Keras 3 and so runs there.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import sys
import types


class _KerasIsTfKeras(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import keras`` / ``from keras.layers import Dense`` give tf-keras's modules (standalone Keras 2
    code, on the Keras 2 runtime)."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras" and not name.startswith("keras."):
            return None
        if importlib.util.find_spec("tf_keras" + name[5:]) is None:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return importlib.import_module("tf_keras" + spec.name[5:])

    def exec_module(self, module):
        pass


def install_keras2():
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _KerasIsTfKeras())


def install(tf, keras, recorder, runtime: str = "keras3"):
    note = recorder.note_legacy
    if runtime != "keras2":
        _keras3_only(tf, keras, note)

    # Optimizer(lr=...) -> Optimizer(learning_rate=...), on each optimizer class of Keras 3 and of tf-keras's
    # new optimizers (tf-keras's legacy ones take lr= themselves)
    base = _base_optimizer(keras)
    for cls in {c for c in vars(keras.optimizers).values() if isinstance(c, type) and issubclass(c, base)}:
        if "__init__" in vars(cls):
            cls.__init__ = _taking_lr(cls.__init__, note)

    # TensorFlow 1 basics the course's notebooks open with
    if not hasattr(tf, "logging"):
        tf.logging = _Noted(tf.compat.v1.logging, "tf.logging", "tf.get_logger() or tf.compat.v1.logging", note)
    if not hasattr(tf, "enable_eager_execution"):
        def enable_eager_execution(*args, **kwargs):
            note("tf.enable_eager_execution()", "nothing: TensorFlow 2 runs eagerly")

        tf.enable_eager_execution = enable_eager_execution
    install_tf1_optimizers(tf, note)
    install_tf1_session(tf, keras, note)


TF1_OPTIMIZERS = {"GradientDescentOptimizer": "SGD", "MomentumOptimizer": "SGD(momentum=...)", "AdamOptimizer": "Adam",
                  "RMSPropOptimizer": "RMSprop", "AdagradOptimizer": "Adagrad", "AdadeltaOptimizer": "Adadelta",
                  "FtrlOptimizer": "Ftrl"}


def install_tf1_optimizers(tf, note):
    """``tf.train.AdamOptimizer()`` (TensorFlow 1) is ``tf.compat.v1.train.AdamOptimizer`` today, which
    tf-keras's ``compile`` takes as TensorFlow 1's Keras did."""
    v1 = tf.compat.v1.train
    for name in dir(v1):
        if name.endswith("Optimizer") and name != "Optimizer" and not hasattr(tf.train, name):
            modern = f"tf.keras.optimizers.{TF1_OPTIMIZERS.get(name, name[:-len('Optimizer')])}"
            setattr(tf.train, name, _noting(getattr(v1, name), f"tf.train.{name}(...)", modern + "(...)", note))



def _keras3_only(tf, keras, note):
    """tf.keras 2 names Keras 3 dropped, for code that also uses Keras 3 (and so runs there)."""
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


def _taking_lr(original_init, note):
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

    return init


def _noting(target, idiom: str, modern: str, note):
    @functools.wraps(target)
    def call(*args, **kwargs):
        note(idiom, modern)
        return target(*args, **kwargs)

    return call


def _base_optimizer(keras):
    for cls in type.mro(keras.optimizers.Optimizer):
        if cls.__name__ in ("BaseOptimizer", "_BaseOptimizer"):  # Keras 3; tf-keras's new optimizers
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
