"""Fits on an ImageDataGenerator's batches made replayable (runs in the child, beside grader/harness/commit.py).

An iterator of Keras' ImageDataGenerator (``flow`` on arrays, ``flow_from_directory`` on a folder) makes
each batch from the pictures it holds or reads, the generator's settings and NumPy's global generator
(which grader/harness/determinism.py seeds batch by batch). For a fit on one, the harness
- saves the pictures once, with their labels and the generator's settings: a folder's pictures as its
  files' bytes, with how the iterator reads them (size, colours, interpolation), which the evaluator
  decodes the same way where a replay needs them (``grader.batchorder.image_batch`` makes the same batches
  of pictures so read as the iterator does); the iterator goes on reading its files as it would;
- records, for each batch the fit trains on, which samples it holds and the state of NumPy's generator
  when it was made, and saves them at each epoch's end (``BatchLog``).
The evaluator makes the same batches again from these to replay an epoch (grader/replay_batches.py).
"""

from __future__ import annotations

import numpy as np

from grader.harness.determinism import iterator_module

SETTINGS_ARRAYS = ("mean", "std", "zca_whitening_matrix")  # set by ImageDataGenerator.fit(x)


def replayable(keras, a: dict, budget_bytes: int, per_execution: int = 1) -> dict | None:
    """What replaying a fit on an ImageDataGenerator iterator needs: the pictures (``x``), their labels
    (``y``), the generator's settings and the ``BatchLog`` recording the batches; None, and nothing
    changed, for a fit of another shape (another kind of data, a ``preprocessing_function`` of the
    program's own, ``steps_per_epoch`` other than one pass (or, on tf-keras, part of one), pictures (a
    folder's: its files' bytes) over ``budget_bytes``)."""
    module = iterator_module(keras)
    iterator = a.get("x")
    if module is None or type(iterator) not in (module.NumpyArrayIterator, module.DirectoryIterator):
        return None
    generator = iterator.image_data_generator
    if a.get("y") is not None or not hasattr(iterator, "_grader_number") or per_execution != 1 or \
            not _one_pass_or_less(keras, a.get("steps_per_epoch"), len(iterator)) or generator is None or \
            generator.preprocessing_function is not None or iterator.save_to_dir or \
            getattr(iterator, "sample_weight", None) is not None or iterator.dtype != keras.backend.floatx() or \
            getattr(iterator, "workers", 1) != 1 or getattr(iterator, "use_multiprocessing", False) or \
            a.get("workers", 1) != 1 or a.get("use_multiprocessing"):  # (tf-keras: fit's own arguments)
        return None
    settings, arrays = _settings(generator)
    if settings is None:
        return None
    if type(iterator) is module.NumpyArrayIterator:
        if iterator.x_misc or iterator.y is None:
            return None
        x, y = iterator.x, np.asarray(iterator.y)
        if y.dtype == object or len(y) != len(x):
            return None
        x, shape, reading = _compact(x), x.shape[1:], {}
    else:
        y = _folder_labels(iterator)
        files = _folder_files(iterator, budget_bytes) if y is not None else None
        reading = _reading(iterator)
        if files is None or reading is None:
            return None
        (x, ends), shape = files, tuple(iterator.image_shape)
        arrays = dict(arrays, x_ends=ends)
    log = BatchLog(iterator)
    return {"kind": "images", "x": x, "y": y, "arrays": arrays, "generator": settings, "dtype": iterator.dtype,
            "batch_size": iterator.batch_size, "rows": int(iterator.n), "steps": len(iterator), "log": log,
            "input_shape": shape, **({"files": reading} if reading else {})}


def _one_pass_or_less(keras, steps, batches: int) -> bool:
    """Whether an epoch of ``steps`` reads the iterator as the record of its batches can say: one pass; on
    tf-keras also the first part of one (it reads a Sequence anew every epoch, from a new pass, and the
    batch it made ahead at the epoch's end is never trained on: the replay takes the first ``steps``)."""
    if steps is None or steps == batches:
        return True
    return not keras.__version__.startswith("3") and isinstance(steps, int) and 0 < steps < batches


def _settings(generator) -> tuple[dict | None, dict]:
    """The generator's settings: plain values (numbers, text, lists of numbers) and arrays (what its
    ``fit`` computed); None when one is of another kind."""
    plain, arrays = {}, {}
    for name, value in vars(generator).items():
        if name == "preprocessing_function":
            continue
        if name in SETTINGS_ARRAYS:
            if value is not None:
                value = np.asarray(value)
                if value.dtype.kind not in "fiu":
                    return None, {}
                arrays[f"generator_{name}"] = value
            continue
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            plain[name] = [float(v) for v in value]
        elif value is None or isinstance(value, (bool, int, float, str)):
            plain[name] = value
        else:
            return None, {}
    return plain, arrays


def _folder_labels(iterator) -> np.ndarray | None:
    """The label of every picture as the iterator's batches give it (binary, sparse or categorical)."""
    classes = np.asarray(iterator.classes)
    if iterator.class_mode in ("binary", "sparse"):
        return classes.astype(iterator.dtype)
    if iterator.class_mode == "categorical":
        labels = np.zeros((len(classes), len(iterator.class_indices)), dtype=iterator.dtype)
        labels[np.arange(len(classes)), classes] = 1.0
        return labels
    return None


def _folder_files(iterator, budget_bytes: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The bytes of every file of a ``flow_from_directory`` iterator, one after another, and where each ends;
    None when one cannot be read or together they pass ``budget_bytes``."""
    chunks, ends, total = [], [], 0
    for path in iterator.filepaths:
        try:
            with open(path, "rb") as f:
                chunk = f.read(budget_bytes - total + 1)
        except OSError:
            return None
        total += len(chunk)
        if total > budget_bytes:
            return None
        chunks.append(np.frombuffer(chunk, dtype=np.uint8))
        ends.append(total)
    return np.concatenate(chunks) if chunks else np.zeros(0, np.uint8), np.asarray(ends, dtype=np.int64)


READING = ("color_mode", "target_size", "interpolation", "keep_aspect_ratio", "data_format")


def _reading(iterator) -> dict | None:
    """How a ``flow_from_directory`` iterator reads its files (what ``load_img`` and ``img_to_array`` are given):
    plain values only."""
    out = {}
    for name in READING:
        value = getattr(iterator, name, False if name == "keep_aspect_ratio" else None)
        if isinstance(value, tuple):
            value = list(value)
        if not (isinstance(value, (str, bool)) or (isinstance(value, list) and len(value) == 2 and
                                                   all(isinstance(v, int) and not isinstance(v, bool) for v in value))):
            return None
        out[name] = value
    return out


def _compact(x: np.ndarray) -> np.ndarray:
    """Pictures of whole numbers from 0 to 255 as bytes (a quarter of the disk); the same values."""
    if x.dtype != np.uint8 and x.size and x.dtype.kind in "fiu":
        small = x.astype(np.uint8)
        if np.array_equal(small, x):
            return small
    return x


class BatchLog:
    """Records, while installed on an iterator, each batch it makes: (pass, batch number), which samples it
    holds and NumPy's generator state it was made with. Batches made between ``mark()`` (an epoch's start)
    and ``epoch()`` are that epoch's, in the order made, which is the order trained on: Keras 3 trains on
    an iterator's batches in an order of its own (fit's ``shuffle``), made one after another, ahead of the
    steps, by one generator (``workers`` 1, which ``replayable`` requires). When the fit validates on the
    same iterator, its batches come after, in the next pass."""

    over = False  # (it never gives up: the pictures were saved when the fit started)

    def __init__(self, iterator):
        self.iterator, self.entries = iterator, []
        original = iterator._get_batches_of_transformed_samples

        def make(index_array):
            state = np.random.get_state()
            out = original(index_array)
            key = getattr(iterator, "_grader_batch", None)  # (pass, number) when the batch was asked for by
            iterator._grader_batch = None  # number (not by next(): a look at the data is no training batch);
            if key is not None:  # the pass is the one whose order it is made in (the first sets the order)
                key = (getattr(iterator, "_grader_passes", key[0]), key[1])
            self.entries.append((key, np.array(index_array), state))
            return out

        iterator._get_batches_of_transformed_samples = make

    def mark(self):
        self.entries = []  # an epoch starts: the batches made before it (a look at the data, a peek) go

    def epoch(self, steps: int | None = None) -> dict | None:
        """The epoch's training batches, in order, as arrays to save; None when they are not all there
        (``steps``, the steps trained, is not needed: each batch is keyed by its pass and number)."""
        window = [e for e in self.entries if e[0] is not None]
        if not window:
            return None
        first_pass, seen, picked = window[0][0][0], set(), []
        for (passes, number), index, state in window:
            if passes == first_pass and number not in seen:
                seen.add(number)
                picked.append((index, state))
        return {"index": np.concatenate([p[0] for p in picked]).astype(np.int64),
                "sizes": np.asarray([len(p[0]) for p in picked], dtype=np.int64),
                "keys": np.stack([p[1][1] for p in picked]).astype(np.uint32),
                "positions": np.asarray([p[1][2] for p in picked], dtype=np.int64),
                "gauss": np.asarray([[p[1][3], p[1][4]] for p in picked], dtype=np.float64)}

    def rows(self) -> None:
        """No rows of its own to fingerprint (the iterator's pictures are fingerprinted from the iterator)."""
        return None

    def grown(self) -> None:
        """No samples to save at an epoch's end (grader/harness/recorded.py's log has some)."""
        return None

    def close(self):
        self.iterator.__dict__.pop("_get_batches_of_transformed_samples", None)
        self.entries = []
