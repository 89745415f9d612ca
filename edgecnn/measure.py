"""The pipeline's measurements of a recipe's files: edgecnn-bench (fp32 against int8, with accuracy on the
test set) and TensorFlow Lite Micro, each in a process of its own that never imports TensorFlow, as on a
device; and the table of build/<r>/bench.json."""

import subprocess
import sys

from edgecnn.artifacts import read_json, record
from edgecnn.errors import ChildFailed, UserError


def run_bench(recipe, files, json_path):
    """edgecnn-bench over `files` interleaved, with accuracy on testset.npz, in a process without TensorFlow."""
    cfg = recipe["bench"]
    argv = [*map(str, files), "--data", str(recipe.build_dir / "testset.npz"), "--threads", str(cfg["threads"]),
            "--runs", str(cfg["runs"]), "--warmup", str(cfg["warmup"]), "--json", str(json_path), "--quiet"]
    if cfg["test_samples"]:
        argv += ["--samples", str(cfg["test_samples"])]
    _child(["-m", "edgecnn.bench", *argv])


def bench(recipe):
    """build/<r>/bench.json: fp32.tflite and int8.tflite interleaved; the line to print."""
    out = recipe.build_dir
    run_bench(recipe, [out / "fp32.tflite", out / "int8.tflite"], out / "bench.json")
    record(recipe, out / "bench.json", "bench")
    return f"wrote {out / 'bench.json'} (edgecnn report {recipe.path} prints it)"


def tflm(recipe):
    """build/<r>/tflm.json: int8.tflite on TensorFlow Lite Micro's interpreter (arena, top-1 against LiteRT's)."""
    out = recipe.build_dir
    report = out / "tflm.json"
    _child(["-m", "edgecnn.bench", str(out / "int8.tflite"), "--runtime", "tflm", "--data", str(out / "testset.npz"),
            "--json", str(report)])
    record(recipe, report, "int8")


def report(recipe):
    """build/<r>/bench.json as a table, fp32 against int8 with ratios, under a line naming the recipe."""
    from edgecnn.bench.table import render

    path = recipe.build_dir / "bench.json"
    if not path.is_file():
        raise UserError(f"{path} does not exist; run 'make {path}' first.")
    rgb = " (the files take RGB: grey computed inside)" if recipe["convert"]["rgb_input"] else ""
    head = (f"{recipe.name}: {recipe['model']['name']} {recipe['model']['options']} on "
            f"{recipe['dataset']['name']} {'x'.join(map(str, recipe['dataset']['input_shape']))}{rgb}")
    return head + "\n" + render(read_json(path))


def _child(argv):
    status = subprocess.call([sys.executable, *argv])
    if status:
        raise ChildFailed(status)
