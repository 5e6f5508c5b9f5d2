"""The rows of a tf.data pipeline found among the exercise's own pictures (runs in the evaluator).

A pipeline of pictures too large to keep (``image_dataset_from_directory`` at 150x150 gives float32 rows
of 270 KB, fractions of a level once resized) is recorded in the child by a hash of each row's bytes
(grader/harness/recorded.py). Here the runtime's own ``image_dataset_from_directory`` reads the pictures
the trusted side handed over (the exercise's dataset, never the program's copy) at the rows' size, as
they are, divided by 255 (``x / 255.0`` in a map) or scaled as ``Rescaling(1 / 255)`` scales them, and
every recorded row must be one of these (the same hash, and the same BLAKE2b digest, which no picture
can be made to share): the replay trains on pictures read here, so the rows are shown to be the
exercise's own. Imports only NumPy and, handed in, TensorFlow and Keras.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.batchorder import PICTURES, row_digest, row_hashes

COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}
SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # the pictures image_dataset_from_directory reads
IN_MEMORY = "/dev/shm"  # the evaluator's own (a private tmpfs in its sandbox)
MOST_IN_MEMORY = 256 * 2**20  # pictures laid out there, at most (more go to the evaluator's folder)
MOST_ROW_BYTES = 1536 * 2**20  # the rows built for a replay, together (the evaluator's memory is limited)
WAYS = ("as read", "divided by 255", "scaled by Rescaling(1 / 255)")


class NotFound(Exception):
    """The rows cannot be rebuilt from the pictures, for the reason the message gives (a sentence's end)."""


def rows_from_pictures(tf, utils, data: dict, folder: Path) -> np.ndarray:
    """The recorded rows (``data["x"]``: their hashes; ``x_shape``, ``x_dtype``), read from the pictures in
    ``folder`` with ``utils.image_dataset_from_directory`` (the runtime's own)."""
    hashes, shape = data["x"], [int(v) for v in np.ravel(data.get("x_shape", []))]
    digests = data.get("x_digest")
    if hashes.dtype != np.uint64 or hashes.ndim != 1 or str(data.get("x_dtype")) != "<f4" or len(shape) != 3 or \
            shape[2] not in COLOR_MODES or not all(0 < v <= 4096 for v in shape[:2]) or digests is None or \
            digests.dtype != np.uint64 or digests.shape != hashes.shape:
        raise NotFound("the record of the pipeline's pictures is not one of rows of float32 pictures")
    handed, distinct = sum(1 for _ in folder.iterdir()), len(set(hashes.tolist()))
    if distinct > handed:
        raise NotFound(f"the fit's tf.data pipeline gave {distinct} different pictures over its epochs, "
                       f"more than the {handed} the exercise has: an augmentation inside the pipeline makes new ones, "
                       "which the grader cannot read again from the exercise's pictures")
    if len(hashes) * int(np.prod(shape)) * 4 > MOST_ROW_BYTES:
        raise NotFound(f"the pipeline's {len(hashes)} pictures of {shape[0]}x{shape[1]} are more than the grader reads "
                       f"again to replay training ({MOST_ROW_BYTES // 2**20} MiB)")
    wanted: dict[int, list[int]] = {}
    for i, h in enumerate(hashes.tolist()):
        wanted.setdefault(h, []).append(i)
    rows = np.empty((len(hashes), *shape), np.float32)
    pictures = utils.image_dataset_from_directory(
        str(folder), labels=None, image_size=(shape[0], shape[1]), color_mode=COLOR_MODES[shape[2]],
        batch_size=64, shuffle=False).map(lambda x: (x, x / 255.0, x * (1 / 255))) if handed else ()
    order = [0, 1, 2]  # the ways tried on each batch: the one that last found rows first (a pipeline has one)
    for batch in pictures:
        for w in list(order):
            if _found(batch[w].numpy(), wanted, digests, rows):
                order.remove(w)
                order.insert(0, w)
                break  # (the other ways of the same pictures are not this pipeline's)
        if not wanted:
            return rows
    missing = sum(len(v) for v in wanted.values())
    raise NotFound(f"{missing} of the {len(hashes)} pictures the fit's tf.data pipeline gave are none of the exercise's "
                   f"pictures as image_dataset_from_directory reads them by default at {shape[0]}x{shape[1]} (bilinear "
                   f"interpolation, neither cropped nor padded; {', '.join(WAYS[:-1])}, or {WAYS[-1]}): the grader "
                   "replays a pipeline of pictures too large to record only from pictures it reads itself, and this one "
                   "changes them or reads them otherwise (an augmentation or a map of its own inside the pipeline, "
                   "another interpolation, cropping or padding)")


def _found(pictures: np.ndarray, wanted: dict, digests: np.ndarray, rows: np.ndarray) -> bool:
    """Put each of ``pictures`` that is a wanted row (its hash, then its digest) in its places in ``rows``, and
    take it off ``wanted``; whether any was."""
    found = False
    for k, h in enumerate(row_hashes(pictures)):
        if h not in wanted:
            continue
        digest, rest = row_digest(pictures[k]), []
        for i in wanted.pop(h):  # (the same hash and not the same digest: not this picture)
            if digests[i] == digest:
                rows[i], found = pictures[k], True
            else:
                rest.append(i)
        if rest:
            wanted[h] = rest
    return found


def laid_out(blob: Path, index: dict, workdir: Path) -> Path:
    """The pictures handed over as one file (``blob``: their bytes one after another; ``index``: ``ends``, where
    each ends, and ``kinds``, its suffix in SUFFIXES) laid out as files again, named by their place in the
    order handed (``000000.jpg``...), in a new folder: in memory where there is room (thousands of small files
    are written there in a few hundredths of a second, a disk takes seconds), else in ``workdir``. The
    caller removes the folder."""
    import os
    import shutil
    import tempfile

    ends, kinds = index.get("ends"), index.get("kinds")
    size = os.path.getsize(blob)
    if ends is None or kinds is None or ends.ndim != 1 or ends.dtype.kind not in "iu" or kinds.shape != ends.shape or \
            kinds.dtype.kind not in "iu" or (ends.size and (ends[0] < 0 or ends[-1] != size or np.any(np.diff(ends) < 0)
                                                            or kinds.max() >= len(SUFFIXES))):
        raise NotFound("the record of the pictures handed over does not say where each one's bytes are")
    base = None
    try:
        room = os.statvfs(IN_MEMORY)
        if size <= MOST_IN_MEMORY and room.f_bavail * room.f_frsize >= 2 * size + 2**20 * (1 + len(ends) // 256):
            base = IN_MEMORY
    except OSError:
        pass
    folder = Path(tempfile.mkdtemp(prefix="pictures-", dir=base or workdir))
    try:
        with open(blob, "rb") as f:
            start = 0
            for i, (end, kind) in enumerate(zip(ends.tolist(), kinds.tolist())):
                with open(folder / f"{i:06d}{SUFFIXES[kind]}", "wb") as out:
                    out.write(f.read(end - start))
                start = end
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
