"""The batches an array fit trains on, epoch by epoch, as a function of a seed: the same in the child,
which trains on them, and in the evaluator, which replays an epoch of that training to check it.

Keras shuffles NumPy arrays with TensorFlow's stateful random ops, whose state no other process can
rebuild. Here epoch ``e`` of a fit with seed ``s`` trains on ``stateless_shuffle(range(n), [s, e])`` cut
into batches of ``batch_size`` (the last one shorter), which is what Keras does with its own permutation:
the same steps, the same batch sizes, a permutation as random. Imports nothing of the grader; TensorFlow
is handed in.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

SEED_WORDS = 2**31 - 1


def fit_seed(seed: int | None, fit_index: int) -> int:
    """The seed of one fit's batch order, from the grading's seed and which fit call it is."""
    words = [abs(int(seed or 0)), int(fit_index), 0x0B47C4]
    return int(np.random.SeedSequence(words).generate_state(1)[0]) % SEED_WORDS


def steps_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / batch_size))


def epoch_batches(tf, rows: int, seed: int, first_epoch: int, last_epoch: int, batch_size: int, shuffle: bool):
    """The index batches of epochs ``first_epoch`` up to ``last_epoch`` (excluded), one after another."""

    @tf.autograph.experimental.do_not_convert  # (TensorFlow ops only: AutoGraph's rewriting took 0.1 s a pipeline)
    def one_epoch(epoch):
        indices = tf.range(rows, dtype=tf.int64)
        if shuffle:
            indices = tf.random.experimental.stateless_shuffle(
                indices, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(indices).batch(batch_size)

    return tf.data.Dataset.range(first_epoch, last_epoch).flat_map(one_epoch)


def dataset(tf, x: np.ndarray, y: np.ndarray, seed: int, first_epoch: int, last_epoch: int, batch_size: int,
            shuffle: bool):
    """(x, y) batches in the fit's order, as Keras' own array pipeline builds them (a gather per batch)."""
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    indices = epoch_batches(tf, len(x), seed, first_epoch, last_epoch, batch_size, shuffle)
    return tf.data.Dataset.zip((indices, arrays)).map(
        tf.autograph.experimental.do_not_convert(lambda i, xy: (tf.gather(xy[0], i), tf.gather(xy[1], i)))).prefetch(2)


def image_batch(generator, x: np.ndarray, y: np.ndarray, index: np.ndarray, dtype: str):
    """The batch an ImageDataGenerator iterator makes of samples ``index`` of ``x`` (pictures already read,
    as its ``flow`` holds them or ``flow_from_directory`` reads them) and ``y``: each picture transformed
    by ``generator`` with NumPy's global generator as it stands, in order. The same in the child, which
    trains on it, and in the evaluator, which replays it from the generator's state the child recorded."""
    batch = np.zeros((len(index),) + tuple(x.shape[1:]), dtype=dtype)
    for i, j in enumerate(index):
        sample = x[j]
        params = generator.get_random_transform(sample.shape)
        sample = generator.apply_transform(sample.astype(dtype), params)
        batch[i] = generator.standardize(sample)
    return batch, y[index]


ROW_CODES = ("whole", "div255", "div255f")  # how a table of rows is kept in bytes (grader/harness/recorded.py)
PICTURES = "pictures"  # ... or by each row's hash alone, pictures the evaluator reads again (grader/picture_rows.py)


def decoded_rows(code: str, rows: np.ndarray, dtype: str) -> np.ndarray:
    """Rows kept as bytes (``rows``, uint8) as the pipeline gave them, in ``dtype``: whole numbers from 0 to
    255 (``"whole"``), or such numbers divided by 255 in double precision (``"div255"``: NumPy's ``x / 255.0``)
    or in single (``"div255f"``: TensorFlow's on float32). The same in the child, which checks that every row
    it keeps so comes back exactly, and in the evaluator, which replays on them."""
    if code == "whole":
        return rows.astype(dtype)
    if code == "div255":
        return (rows.astype(np.float64) / 255.0).astype(dtype)
    if code == "div255f":
        return (rows.astype(np.float32) / np.float32(255.0)).astype(dtype)
    raise ValueError(f"no such way of keeping rows: {code!r}")


def row_hashes(rows: np.ndarray) -> list[int]:
    """A 64-bit hash of each row's bytes (``rows``: one row per sample, of any type and shape): a product
    with fixed random words. The same in the child, which records a pipeline's rows by it, and in the
    evaluator, which finds them again among the pictures it reads (grader/picture_rows.py)."""
    flat = np.ascontiguousarray(rows).reshape(len(rows), -1).view(np.uint8)
    pad = (-flat.shape[1]) % 8
    if pad:
        flat = np.concatenate([flat, np.zeros((len(flat), pad), np.uint8)], axis=1)
    words = np.ascontiguousarray(flat).view(np.uint64)
    with np.errstate(over="ignore"):
        return (words * _hash_words(words.shape[1])).sum(axis=1, dtype=np.uint64).tolist()


@functools.lru_cache(maxsize=8)
def _hash_words(n: int) -> np.ndarray:
    return np.random.default_rng(0x5EED).integers(1, 2**63, n, dtype=np.uint64) | 1


def row_digest(row: np.ndarray) -> int:
    """A digest of one row's bytes no one can aim at (BLAKE2b, 64 bits): what shows a row the child recorded by its
    ``row_hashes`` value is the very picture the evaluator read, not one made to share that value."""
    return int.from_bytes(hashlib.blake2b(np.ascontiguousarray(row), digest_size=8).digest(), "little")
