"""Describe what fed a ``fit`` call, for the trace (runs in the child)."""

from __future__ import annotations

import numpy as np

from grader.fingerprint import file_hashes, row_hashes

# ImageDataGenerator settings that make training data random (rescale alone does not).
RANDOM_TRANSFORMS = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range",
                     "zoom_range", "channel_shift_range", "brightness_range", "horizontal_flip", "vertical_flip")


def _array_info(a) -> dict:
    a = np.asarray(a)
    info = {"shape": list(a.shape), "dtype": str(a.dtype)}
    if a.size and np.issubdtype(a.dtype, np.number):
        info["min"] = float(np.min(a))
        info["max"] = float(np.max(a))
    return info


def _generator_transforms(gen) -> dict:
    on = {}
    for name in RANDOM_TRANSFORMS:
        value = getattr(gen, name, None)
        if value is None:
            continue
        if isinstance(value, (list, tuple, np.ndarray)):
            value = [float(v) for v in np.ravel(value)]
            if value and not (len(value) == 2 and value == [1.0, 1.0]) and any(value):
                on[name] = value
        elif value:
            on[name] = value if isinstance(value, bool) else float(value)
    return on


def _pipeline(ds) -> dict:
    """The stages of a tf.data pipeline, newest first, and the random ops its map functions run
    (augmentation inside ``dataset.map``: Keras preprocessing layers or tf.image.random_*)."""
    stages, random_ops = [], set()
    node = ds
    for _ in range(64):
        if node is None:
            break
        stages.append(type(node).__name__)
        func = getattr(node, "_map_func", None) or getattr(node, "_func", None)
        graph = getattr(getattr(func, "function", None), "graph", None)
        if graph is not None:
            try:
                random_ops.update(op.type for op in graph.get_operations() if "Random" in op.type)
            except Exception:
                pass
        node = getattr(node, "_input_dataset", None)
    return {"stages": stages, "random_ops": sorted(random_ops)}


def peek(x, keras, tf):
    """Value range and shape of one batch of model inputs, read AFTER training, with NumPy's random
    state put back, so looking cannot change what the student's training computed."""
    if isinstance(x, np.ndarray) or x is None:
        return None
    state = np.random.get_state()
    try:
        if isinstance(x, tf.data.Dataset):
            batch = next(iter(x.take(1)))
        elif hasattr(x, "__getitem__") and hasattr(x, "__len__") and not isinstance(x, (list, tuple, dict)):
            batch = x[0]
        else:
            return None
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        a = np.asarray(inputs)
        if not a.size or not np.issubdtype(a.dtype, np.number):
            return None
        return {"shape": list(a.shape), "min": float(a.min()), "max": float(a.max())}
    except Exception:
        return None
    finally:
        np.random.set_state(state)


def transforms_change_pictures(iterator, gen, tries: int = 8) -> bool | None:
    """Whether the generator's ``random_transform`` changes a picture at all: tried on a noise picture of
    the iterator's size, with NumPy's random state put back (training computes the same). None if it
    cannot be tried."""
    shape = getattr(iterator, "image_shape", None)
    if shape is None and isinstance(getattr(iterator, "x", None), np.ndarray):
        shape = iterator.x.shape[1:]
    if shape is None or len(shape) != 3 or not callable(getattr(gen, "random_transform", None)):
        return None
    state = np.random.get_state()
    try:
        picture = np.random.default_rng(0).uniform(0, 255, tuple(int(v) for v in shape)).astype(np.float32)
        for _ in range(tries):
            changed = np.asarray(gen.random_transform(picture.copy()), dtype=np.float32)
            if changed.shape != picture.shape or not np.allclose(changed, picture, atol=0.5):
                return True
        return False
    except Exception:
        return None
    finally:
        np.random.set_state(state)


def describe(x, y=None) -> dict:
    """A JSON-able description of a fit's training data."""
    if isinstance(x, np.ndarray) or (isinstance(x, (list, tuple)) and x and not hasattr(x[0], "__next__")):
        try:
            info = {"kind": "arrays", "x": _array_info(x)}
            if y is not None:
                info["y"] = _array_info(y)
            return info
        except (ValueError, TypeError):
            return {"kind": "arrays"}
    gen = getattr(x, "image_data_generator", None)
    if gen is not None:
        transforms = _generator_transforms(gen)
        return {
            "kind": "ImageDataGenerator",
            "iterator": type(x).__name__,
            "directory": str(getattr(x, "directory", "") or ""),
            "samples": int(getattr(x, "n", 0) or 0),
            "batch_size": int(getattr(x, "batch_size", 0) or 0),
            "rescale": getattr(gen, "rescale", None),
            "random_transforms": transforms,
            "transforms_change_pictures": transforms_change_pictures(x, gen) if transforms else None,
            "class_mode": getattr(x, "class_mode", None),
            "num_classes": getattr(x, "num_classes", None),
        }
    kind = type(x).__module__.split(".")[0] + "." + type(x).__name__
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        return dict({"kind": "tf.data", "element_spec": str(x.element_spec)}, **_pipeline(x))
    if hasattr(x, "__next__"):
        return {"kind": "generator", "type": kind}
    return {"kind": "other", "type": kind}


def fingerprint(x) -> list:
    """Hashes of a sample of the examples fit received (see grader/fingerprint.py): rows of an
    array (also the arrays of ImageDataGenerator.flow), or the files a folder-reading generator or
    dataset loaded."""
    try:
        if isinstance(x, np.ndarray):
            return row_hashes(x)
        if isinstance(getattr(x, "x", None), np.ndarray) and hasattr(x, "image_data_generator"):
            return row_hashes(x.x)  # ImageDataGenerator.flow(x, y): the arrays it draws batches from
        paths = getattr(x, "filepaths", None) or getattr(x, "file_paths", None)
        if paths:
            return file_hashes(paths)
    except Exception:
        pass
    return []
