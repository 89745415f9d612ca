"""Checks that a path is a whole TFLite flatbuffer before a runtime is asked to load it."""

import os
import struct


class ModelFileError(ValueError):
    pass


def check_tflite(path):
    """Raise ModelFileError with one sentence when `path` is missing, not TFLite, or truncated."""
    if not os.path.isfile(path):
        raise ModelFileError(f"{path} is not a file; give the path of a .tflite model.")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if size < 8 or head[4:8] != b"TFL3":
        raise ModelFileError(f"{path} is not a TFLite file (no 'TFL3' identifier at byte 4); "
                             f"convert the model with the TFLite converter first.")
    (root,) = struct.unpack("<I", head[:4])
    if root + 4 > size:
        raise ModelFileError(f"{path} is truncated ({size} bytes, its header points past the end); "
                             f"copy or convert it again.")
    return size
