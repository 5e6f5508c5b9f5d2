"""The IDX format (MNIST, Fashion-MNIST): gzip files of a big-endian header and uint8 data."""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from grader.datasets import DataError

UBYTE = 0x08


def write(path: Path, array: np.ndarray):
    """At zlib's fastest level (the stand-ins' noisy pixels barely compress at any level, and level 6
    takes about twice as long), with no time stamp: the same array makes the same file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as f:
        f.write(header + array.tobytes())


def read(path: Path, ndim: int) -> np.ndarray:
    """Read and check one IDX gzip file; a damaged file is a DataError naming it."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is damaged or not a gzip file ({exc}). Download it again "
                        "(`grader data fetch`) or import a good copy (`grader data import`).") from None
    if len(raw) < 4 + 4 * ndim or raw[0] != 0 or raw[1] != 0 or raw[2] != UBYTE or raw[3] != ndim:
        raise DataError(f"{path} is not an IDX file of {ndim}-dimensional bytes (its header is wrong).")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    promised = int(np.prod(shape))
    if data.size != promised:
        what = "is truncated" if data.size < promised else "has data beyond what its header describes"
        raise DataError(f"{path} {what}: its header promises {promised} bytes of data, it holds {data.size}.")
    return data.reshape(shape)
