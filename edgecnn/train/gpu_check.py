"""make gpu-check, the training half: TensorFlow sees the GPU; the demo recipe trains on it as it is
(recipes/gpu_check_auto.yaml) and with mirrored, mixed precision and XLA on (gpu_check_fast.yaml);
seconds per epoch against the demo's CPU figure; each int8 file's top-1 on the 10,000 test images.

Exit status: 0 both trained with int8 top-1 >= 0.90; 1 not; 2 no GPU that TensorFlow can use.
"""

import statistics
import subprocess
import sys
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.bench.gpu_check import NO_GPU, find_gpu, no_gpu_sentence
from edgecnn.bench.quiet import quiet_stderr

RECIPES = ("gpu_check_auto", "gpu_check_fast")
FLOOR = 0.90
CPU_EPOCH_S = 55     # the demo's seconds per epoch on 2 CPU cores, docs/demo.md


def epoch_seconds(history_path):
    """(first epoch's seconds, median of the others): the first carries graph building / XLA compiling."""
    seconds = [row["seconds"] for row in read_json(history_path) if "seconds" in row]
    if not seconds:
        return None, None
    return seconds[0], statistics.median(seconds[1:] or seconds)


def int8_top1(folder):
    from edgecnn.bench.labelled import load_labelled
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime

    x, y, _ = load_labelled(str(folder / "testset.npz"))
    return Loaded(folder / "int8.tflite", pick_runtime(), 2).accuracy(x, y)["top1"]


def main():
    gpu = find_gpu()
    if gpu is None:
        print(no_gpu_sentence("gpu-check"), file=sys.stderr)
        return NO_GPU
    with quiet_stderr():
        from edgecnn.tf import tf

        found = tf.config.list_physical_devices("GPU")
    if not found:
        print(f"gpu-check: TensorFlow {tf.__version__} sees no GPU although this machine has one ({gpu}); install "
              f"its CUDA libraries with 'make setup GPU=1' and run it again.", file=sys.stderr)
        return NO_GPU
    print(f"GPU: {gpu}; TensorFlow {tf.__version__} lists {', '.join(d.name for d in found)}", flush=True)
    rows = []
    for name in RECIPES:
        folder = Path("build") / name
        done = subprocess.run(["make", "--no-print-directory", f"{folder}/int8.tflite", f"{folder}/testset.npz"])
        if done.returncode:
            print(f"gpu-check: building {folder}/int8.tflite failed (above).", file=sys.stderr)
            return 1
        first, rest = epoch_seconds(folder / "history.json")
        rows.append((name, first, rest, int8_top1(folder)))
    print(f"| recipe | first epoch s | later epochs s (median) | against {CPU_EPOCH_S} s on 2 CPU cores | int8 top-1 |")
    print("|---|---:|---:|---:|---:|")
    for name, first, rest, top1 in rows:
        print(f"| {name} | {first:.1f} | {rest:.1f} | {CPU_EPOCH_S / rest:.1f}x faster | {100 * top1:.2f} % |")
    passed = all(top1 >= FLOOR for *_, top1 in rows)
    print(f"gpu-check (training): {'passed' if passed else 'FAILED'}: int8 top-1 >= {FLOOR:.2f} for "
          f"{sum(top1 >= FLOOR for *_, top1 in rows)} of {len(rows)} recipes.")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
