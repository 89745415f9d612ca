"""Checks that a path is a whole, undamaged TFLite flatbuffer before a runtime is asked to load it."""

import os
import re
import struct

from edgecnn.bench.verify import Damaged, verify


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
    try:
        verify(path)
    except Damaged as e:
        raise ModelFileError(f"{path} is damaged {e}; copy or convert it again.") from None
    return size


def load_error(path, runtime, error):
    """One sentence for a model the runtime cannot load: the op it lacks, by name, where it says which."""
    text = str(error).strip()
    too_new = re.search(r"Didn't find op for builtin opcode '(\w+)' version '(\d+)'", text)
    if too_new:
        op, version = too_new.groups()
        return ModelFileError(f"{path} uses {op} version {version}, which {runtime} does not have; run it on a "
                              f"newer runtime or convert with an older TensorFlow (its converter writes older op versions).")
    custom = re.search(r"unresolved custom op: ([^.\s]+)", text)
    if custom:
        return ModelFileError(f"{path} uses the custom op {custom.group(1)}, which {runtime} does not provide; "
                              f"register its kernel in the runtime, or convert without custom ops.")
    first = text.splitlines()[0] if text else type(error).__name__
    return ModelFileError(f"{path} could not be loaded by {runtime}: {first.rstrip('.')}.")


def first_invoke_error(path, runtime, error, ranges):
    """One sentence for a model whose first inference fails on the bench's random input, naming the
    integer inputs whose values the user can set (--index-range NAME=N). `ranges`: input name -> the N used."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
    got = ", ".join(f"{name} got integers 0 to {high - 1}" for name, high in ranges.items())
    hint = (f"; {got}: give the range its values must keep with --index-range {next(iter(ranges))}=N (0 to N-1)"
            if ranges else "; check the file, or convert it again")
    return ModelFileError(f"{path}: the first inference on {runtime} failed ({first[:200]}){hint}.")
