"""One TFLite Micro probe, run as a child process: python -m edgecnn.bench.tflm_probe MODEL.tflite ARENA_BYTES

Loads the file into TFLM's own interpreter with a tensor arena of ARENA_BYTES, runs one inference on a
zero input and prints TFLM's recording allocator (head and tail) to stderr. TFLM's Python binding aborts
or segfaults when an arena is far too small or a kernel's check trips; here that only ends this child,
and the parent (edgecnn.bench.tflm) reads the exit status and TFLM's own log as the measurement.

Exit status: 0 ran, 3 TFLM refused the model (its log says why), negative: killed by a signal.
"""

import sys


def main(argv):
    path, arena = argv[0], int(argv[1])
    import numpy as np
    from tflite_micro import runtime

    with open(path, "rb") as f:
        data = f.read()
    try:
        interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
        for i in range(_count(interp.get_input_details)):
            detail = interp.get_input_details(i)
            interp.set_input(np.zeros(detail["shape"], detail["dtype"]), i)
        interp.invoke()
    except (RuntimeError, ValueError) as e:
        print(f"refused: {e}", file=sys.stderr, flush=True)
        return 3
    sys.stderr.flush()
    interp.print_allocations()
    return 0


def _count(details):
    """How many tensors the interpreter has behind `details` (it raises past the last one)."""
    n = 0
    while True:
        try:
            details(n)
        except (RuntimeError, ValueError, IndexError):
            return n
        n += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
