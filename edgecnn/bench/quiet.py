"""Silence C++ log lines written straight to file descriptor 2 (TensorFlow's start-up, LiteRT's delegate
notice) for the length of a `with` block. Python exceptions still carry their messages."""

import os
import sys
from contextlib import contextmanager


@contextmanager
def quiet_stderr(enabled=True):
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
