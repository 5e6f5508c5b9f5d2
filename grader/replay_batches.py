"""What a replay trains on (runs in the evaluator process, with grader/replay.py): the batches of an epoch
as the child's fit drew them, rebuilt from what the child saved and the grader's own copies. An
ImageDataGenerator is the runtime's own with the recorded settings, transforming the same samples from
the same state of NumPy's generator; a folder's pictures are decoded again from their files' bytes; a
tf.data pipeline's or a generator's rows are those recorded, in the recorded batches; rows recorded by
their hashes are read again from the exercise's pictures. Everything read is checked first: a record
the grader cannot replay from raises ``Unreplayable`` with the reason. Imports only the standard
library, NumPy, TensorFlow and Keras.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader import batchorder, picture_rows

SHAPE_BATCHES = 2  # Keras' PyDataset adapter makes this many batches to learn their shapes, before training


class Unreplayable(Exception):
    """The epoch cannot be replayed, for a reason the message gives (a sentence's end)."""


def arrays_in(path: Path, names=None) -> dict:
    """The arrays of a saved .npz (those of ``names`` it holds: each is read only when asked for)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in (names or data.files) if k in data.files}


IMAGE_MODULES = {"keras3": "keras.src.legacy.preprocessing.image", "keras2": "tf_keras.src.preprocessing.image"}


def rows_from_pictures(tf, keras, data: dict, pictures, workdir: Path) -> np.ndarray:
    """The rows a pipeline of pictures gave, read again from the exercise's pictures (grader/picture_rows.py),
    handed over as one file of their bytes (``pictures``: {"blob", "index"})."""
    import shutil

    if not isinstance(pictures, dict) or not all(isinstance(pictures.get(k), str) and Path(pictures[k]).is_file()
                                                  for k in ("blob", "index")):
        raise Unreplayable("the pipeline's pictures were recorded by their hashes, and no pictures were handed over "
                           "to read them from")
    folder = None
    try:
        folder = picture_rows.laid_out(Path(pictures["blob"]), arrays_in(Path(pictures["index"])), workdir)
        return picture_rows.rows_from_pictures(tf, keras.utils, data, folder)
    except picture_rows.NotFound as exc:
        raise Unreplayable(str(exc)) from None
    except (ValueError, tf.errors.OpError) as exc:  # (no picture Keras reads, one it cannot decode)
        raise Unreplayable(f"the exercise's pictures could not be read again ({type(exc).__name__})") from None
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def image_generator(request: dict, data: dict, runtime: str):
    """The runtime's own ImageDataGenerator with the settings the child recorded (plain values, and the
    arrays its ``fit`` computed), checked against a fresh one's: the same names, values of the same kinds."""
    import importlib

    generator = importlib.import_module(IMAGE_MODULES[runtime]).ImageDataGenerator()
    fresh = vars(generator)
    settings = request.get("generator")
    if not isinstance(settings, dict):
        raise Unreplayable("the ImageDataGenerator's settings were not recorded")
    for name, value in settings.items():
        if name not in fresh or name == "preprocessing_function":
            raise Unreplayable(f"the ImageDataGenerator's recorded settings name '{str(name)[:40]}', which it has not")
        if isinstance(value, list):
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value) or len(value) > 64:
                raise Unreplayable(f"the ImageDataGenerator's recorded {name} is not a short list of numbers")
        elif not (value is None or isinstance(value, (bool, int, float, str))):
            raise Unreplayable(f"the ImageDataGenerator's recorded {name} is not a plain value")
        setattr(generator, name, value)
    for name in ("mean", "std", "zca_whitening_matrix"):
        if f"generator_{name}" in data:
            setattr(generator, name, data[f"generator_{name}"])
    return generator


class FilePictures:
    """A folder's pictures as a ``flow_from_directory`` iterator reads them: each decoded, when a batch needs
    it, from its file's bytes (saved by the child) by the runtime's own ``load_img`` and ``img_to_array``,
    with the iterator's recorded settings (checked). Indexed like the array of pictures it stands for."""

    CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}

    def __init__(self, data: dict, reading, runtime: str):
        import importlib

        self.utils = importlib.import_module(IMAGE_MODULES[runtime]).image_utils
        blob, ends = data.get("x"), data.get("x_ends")
        if blob is None or ends is None or blob.dtype != np.uint8 or blob.ndim != 1 or ends.ndim != 1 or \
                ends.dtype.kind not in "iu" or (ends.size and (ends[0] < 0 or ends[-1] != blob.size or
                                                              np.any(np.diff(ends) < 0))):
            raise Unreplayable("the record of the folder's pictures does not say where each file's bytes are")
        size = reading.get("target_size") if isinstance(reading, dict) else None
        if not isinstance(reading, dict) or reading.get("color_mode") not in self.CHANNELS or \
                not isinstance(size, list) or len(size) != 2 or \
                not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 8192 for v in size) or \
                reading.get("data_format") not in ("channels_last", "channels_first") or \
                not isinstance(reading.get("keep_aspect_ratio"), bool) or \
                not isinstance(reading.get("interpolation"), str) or len(reading["interpolation"]) > 20:
            raise Unreplayable("the record of how the iterator read its pictures is not one the grader reads")
        self.blob, self.ends, self.reading = blob, ends, reading
        self.error: Unreplayable | None = None  # the first picture that could not be read again: why
        channels = self.CHANNELS[reading["color_mode"]]
        self.shape = (len(ends), *size, channels) if reading["data_format"] == "channels_last" else \
            (len(ends), channels, *size)

    def __len__(self):
        return len(self.ends)

    def __getitem__(self, j):
        import io

        start = int(self.ends[j - 1]) if j else 0
        r = self.reading
        try:
            img = self.utils.load_img(io.BytesIO(self.blob[start:int(self.ends[j])].tobytes()),
                                      color_mode=r["color_mode"], target_size=tuple(r["target_size"]),
                                      interpolation=r["interpolation"], keep_aspect_ratio=r["keep_aspect_ratio"])
            picture = self.utils.img_to_array(img, data_format=r["data_format"])
            if hasattr(img, "close"):
                img.close()
        except Exception as exc:  # (a file PIL cannot decode, an interpolation it has not)
            self.error = self.error or Unreplayable(f"picture {j + 1} of the folder could not be read again "
                                                    f"({type(exc).__name__})")
            raise self.error from None
        if picture.shape != self.shape[1:]:
            self.error = self.error or Unreplayable(f"picture {j + 1} of the folder reads as {picture.shape}, not "
                                                    f"{self.shape[1:]}")
            raise self.error
        return picture


def batch_sizes(log: dict, data: dict, last: int) -> list[int]:
    """The sizes of the recorded batches of an epoch, checked: at least ``last`` of them, together naming
    as many samples as the record holds, each one of the saved samples."""
    sizes = [int(n) for n in log.get("sizes", [])]
    if len(sizes) < last or any(n <= 0 for n in sizes):
        raise Unreplayable(f"the record of the epoch's batches holds {len(sizes)} of its {last} steps")
    index, rows = log.get("index"), len(data["x"])
    if index is None or index.ndim != 1 or index.dtype.kind not in "iu" or index.size != sum(sizes) or \
            (index.size and (index.min() < 0 or index.max() >= rows)) or len(data["y"]) != rows:
        raise Unreplayable("the record of the epoch's batches names samples the saved ones do not have")
    return sizes


def recorded_batches(tf, data: dict, log: dict, first: int, last: int):
    """Batches first+1..last of the epoch as the child's tf.data pipeline gave them: the same rows, in the
    same batches (a tf.data pipeline, as fit read the child's: the same conversions, class_weight taken)."""
    sizes = [int(n) for n in log["sizes"]]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    x, y, index = data["x"], data["y"], log["index"]
    code, dtype = str(data.get("x_code", "raw")), np.dtype(x.dtype)
    if code != "raw":  # kept as bytes (grader.batchorder.decoded_rows)
        try:
            dtype = np.dtype(str(data.get("x_dtype")))
        except TypeError:
            dtype = None
        if code not in batchorder.ROW_CODES or x.dtype != np.uint8 or dtype is None or dtype.kind not in "fiu":
            raise Unreplayable("the record of the pipeline's rows says they were kept in a way the grader does not")

    def batches():
        for k in range(first, last):
            rows = index[starts[k]:starts[k + 1]]
            yield (x[rows] if code == "raw" else batchorder.decoded_rows(code, x[rows], dtype)), y[rows]

    signature = (tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(dtype)),
                 tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)))
    return tf.data.Dataset.from_generator(batches, output_signature=signature)


def image_batches(keras, generator, data: dict, log: dict, first: int, last: int, dtype):
    """Batches first+1..last of the epoch as the child's ImageDataGenerator made them: the same samples,
    transformed from the same state of NumPy's generator (``grader.batchorder.image_batch``)."""
    sizes = [int(n) for n in log["sizes"]]
    if not (len(log["keys"]) == len(log["positions"]) == len(log["gauss"]) == len(sizes)):
        raise Unreplayable(f"the record of the epoch's batches holds {len(sizes)} of its {last} steps")
    if dtype not in ("float32", "float64", "float16"):
        raise Unreplayable("the ImageDataGenerator's recorded dtype is not a float type")
    index = log["index"]
    starts = np.concatenate([[0], np.cumsum(sizes)])

    base = getattr(keras.utils, "PyDataset", keras.utils.Sequence)  # (tf-keras has Sequence alone)

    class Batches(base):  # (not a Python generator: fit takes class_weight with these)
        made: dict = {}  # the first batches, which Keras also makes first to learn their shapes: made once

        def __len__(self):
            return last - first

        def __getitem__(self, i):
            if i in self.made:
                return self.made[i]
            k = first + i
            np.random.set_state(("MT19937", log["keys"][k], int(log["positions"][k]), int(log["gauss"][k][0]),
                                 float(log["gauss"][k][1])))
            batch = batchorder.image_batch(generator, data["x"], data["y"], index[starts[k]:starts[k + 1]], dtype)
            if i < SHAPE_BATCHES:
                self.made[i] = batch
            return batch

    return Batches()
