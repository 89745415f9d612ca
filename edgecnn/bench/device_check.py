"""Does every built .tflite load and run on the runtime devices ship? `make device-check` runs this in a
virtual env with only numpy<2, tflite-runtime 2.14 and the bench (no TensorFlow).

    python -m edgecnn.bench.device_check [FOLDER ...]      (default: build)

One line per file: its median latency, or the sentence saying why it does not load (an op version too
new for this runtime, by name). Exit status 1 when any file fails, 2 when there is nothing to check.
"""

import os
import sys

from edgecnn.bench.measure import benchmark
from edgecnn.bench.model_file import ModelFileError
from edgecnn.bench.runtime import RuntimeMissing, pick_runtime


def tflite_files(folders):
    found = []
    for folder in folders:
        for root, _, names in os.walk(folder):
            found += [os.path.join(root, n) for n in names if n.endswith(".tflite") and not n.startswith(".")]
    return sorted(found)


def main(argv=None):
    folders = (sys.argv[1:] if argv is None else argv) or ["build"]
    try:
        runtime = pick_runtime()
    except RuntimeMissing as e:
        print(f"device-check: error: {e}", file=sys.stderr)
        return 2
    files = tflite_files(folders)
    if not files:
        print(f"device-check: error: no .tflite files under {', '.join(folders)}; "
              f"run 'make demo' or 'make build/<recipe>/int8.tflite' first.", file=sys.stderr)
        return 2
    print(f"runtime {runtime.name} {runtime.version}, numpy {__import__('numpy').__version__}")
    failed = 0
    for path in files:
        try:
            (result,), _ = benchmark([path], runtime, threads=1, runs=5, warmup=1)
            print(f"ok    {path}: median {result['latency_ms']['median']:.3f} ms")
        except (ModelFileError, ValueError, RuntimeError) as e:
            failed += 1
            print(f"FAIL  {e}")
    print(f"{len(files) - failed} of {len(files)} files run on {runtime.name} {runtime.version}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
