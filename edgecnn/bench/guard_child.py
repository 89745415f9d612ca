"""guard.py's child: every file loaded and run once, a line "ran PATH" after each; a runtime that crashes
on a file ends only this process, and the parent names the file that has no line.

    python -m edgecnn.bench.guard_child RUNTIME THREADS XNNPACK RANGES MODEL.tflite ...
"""

import json
import sys

from edgecnn.bench.measure import Loaded
from edgecnn.bench.runtime import pick_runtime


def main(argv):
    name, threads, xnnpack, ranges, *paths = argv
    runtime = pick_runtime(name)
    index_ranges = {input_name: high for input_name, high in json.loads(ranges)}
    for path in paths:
        try:
            Loaded(path, runtime, int(threads), xnnpack=xnnpack == "1", index_ranges=index_ranges)
        except Exception:            # noqa: BLE001 - a refusal is the parent's to report, as it always is
            pass
        print(f"ran {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
