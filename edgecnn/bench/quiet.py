"""Silence C++ log lines written straight to file descriptor 2 (TensorFlow's start-up, LiteRT's delegate
notice) for the length of a `with` block. Python exceptions still carry their messages."""

import os
import sys
import tempfile
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


@contextmanager
def without_info():
    """The runtime's own log lines of a block, less its INFO notices ("Created TensorFlow Lite XNNPACK delegate
    for CPU."): warnings and errors are written on, so a refusal reads as one line. EDGECNN_RUNTIME_LOG=1
    passes everything through as it comes (guard.py's child: a crash must not take its last words along)."""
    if os.environ.get("EDGECNN_RUNTIME_LOG") == "1":
        yield
        return
    log = None
    try:
        with captured_stderr() as log:
            yield
    finally:
        kept = [line for line in (log.text if log else "").splitlines(keepends=True) if not line.startswith("INFO: ")]
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


class Captured:
    text = ""


@contextmanager
def captured_stderr(stdout=False):
    """Like quiet_stderr, but keeps what was written: the yielded object's .text, once the block ends.
    For runtimes whose reasons for a refusal are log lines rather than the exception's message. `stdout`:
    file descriptor 1 too (LiteRT's GPU accelerator prints "Failed to load OpenCL library" there)."""
    sys.stderr.flush()
    sys.stdout.flush()
    got = Captured()
    fds = (2, 1) if stdout else (2,)
    saved, sink = [os.dup(fd) for fd in fds], tempfile.TemporaryFile()
    for fd in fds:
        os.dup2(sink.fileno(), fd)
    try:
        yield got
    finally:
        for fd, kept in zip(fds, saved):
            os.dup2(kept, fd)
            os.close(kept)
        sink.seek(0)
        got.text = sink.read().decode("utf-8", "replace")
        sink.close()
