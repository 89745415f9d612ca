"""Reader for the idx format of (Fashion-)MNIST, plain or gzip-compressed. numpy only."""

import gzip
import struct

import numpy as np

from edgecnn.errors import UserError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise UserError(f"cannot read idx file {path}: {e}.") from e
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _DTYPES:
        raise UserError(f"{path} is not an idx file (bad magic number).")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise UserError(f"{path} is cut short: its header names {ndim} dimensions but the file has {len(data)} "
                        f"bytes; download or copy it again.")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_DTYPES[data[2]])
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise UserError(f"{path} is truncated: its header says {shape}, its body has {len(body)} bytes; download "
                        f"or copy it again.")
    return np.frombuffer(body, dtype=dtype).reshape(shape)
