"""The pipeline's measurements of a recipe's files: edgecnn-bench (fp32 against int8, with accuracy on the
test set) and TensorFlow Lite Micro, each in a process of its own that never imports TensorFlow, as on a
device; and the table of build/<r>/bench.json."""

import subprocess
import sys
from pathlib import Path

from edgecnn.artifacts import read_json, record
from edgecnn.errors import ChildFailed, UserError


def run_bench(recipe, files, json_path, remote=None):
    """edgecnn-bench over `files` interleaved, with accuracy on testset.npz, in a process without TensorFlow; on
    `remote` (else the recipe's bench.remote, else here) over ssh."""
    cfg = recipe["bench"]
    argv = [*map(str, files), *_data(recipe), "--threads", str(cfg["threads"]),
            "--runs", str(cfg["runs"]), "--warmup", str(cfg["warmup"]), "--json", str(json_path), "--quiet"]
    remote = remote or cfg["remote"]
    if remote:
        argv += ["--remote", remote] + (["--remote-python", cfg["remote_python"]] if cfg["remote_python"] else [])
    _child(["-m", "edgecnn.bench", *argv])


def _data(recipe):
    """The bench's test images: testset.npz, its first bench.test_samples when the recipe sets that."""
    samples = recipe["bench"]["test_samples"]
    return ["--data", str(recipe.build_dir / "testset.npz"), *(["--samples", str(samples)] if samples else [])]


def bench(recipe):
    """build/<r>/bench.json: fp32.tflite and int8.tflite interleaved; the line to print."""
    out = recipe.build_dir
    run_bench(recipe, [out / "fp32.tflite", out / "int8.tflite"], out / "bench.json")
    record(recipe, out / "bench.json", "bench")
    return f"wrote {out / 'bench.json'} (edgecnn report {recipe.path} prints it)"


def tflm(recipe):
    """build/<r>/tflm.json: int8.tflite on TensorFlow Lite Micro's interpreter (arena, top-1 against LiteRT's on
    the same images: bench.test_samples of them when the recipe sets it)."""
    out = recipe.build_dir
    report = out / "tflm.json"
    _child(["-m", "edgecnn.bench", str(out / "int8.tflite"), "--runtime", "tflm", *_data(recipe), "--json", str(report)])
    record(recipe, report, "int8")


def report(recipe):
    """build/<r>/bench.json as a table, fp32 against int8 with ratios, under a line naming the recipe; and the
    sentence saying which of the recipe's targets the int8 file misses (None when it meets them all)."""
    from edgecnn.bench.table import render

    path = recipe.build_dir / "bench.json"
    if not path.is_file():
        raise UserError(f"{path} does not exist; run 'make {path}' first.")
    rgb = " (the files take RGB: grey computed inside)" if recipe["convert"]["rgb_input"] else ""
    head = (f"{recipe.name}: {recipe['model']['name']} {recipe['model']['options']} on "
            f"{recipe['dataset']['name']} {'x'.join(map(str, recipe['dataset']['input_shape']))}{rgb}")
    bench = read_json(path)
    labels = recipe.build_dir / "labels.txt"
    names = labels.read_text(encoding="utf-8").splitlines() if labels.is_file() else None
    return head + "\n" + render(bench, names), missed(recipe, bench, path)


def missed(recipe, bench, path):
    """One sentence naming each target of the recipe's `targets:` that bench.json's int8 file misses, or None."""
    top1 = {Path(m["path"]).name: m["accuracy"]["top1"] for m in bench["models"] if m.get("accuracy")}
    goals = recipe["targets"]
    if not any(value is not None for value in goals.values()):
        return None
    if not {"fp32.tflite", "int8.tflite"} <= set(top1):
        raise UserError(f"{path} holds no top-1 of fp32.tflite and int8.tflite; the targets need both.")
    drop = 100 * (top1["fp32.tflite"] - top1["int8.tflite"])
    misses = []
    if goals["int8_top1"] is not None and top1["int8.tflite"] < goals["int8_top1"]:
        misses.append(f"int8 top-1 {100 * top1['int8.tflite']:.2f} % is below targets.int8_top1 "
                      f"{100 * goals['int8_top1']:.2f} %")
    if goals["int8_drop"] is not None and drop > goals["int8_drop"]:
        misses.append(f"int8 is {drop:.2f} points below fp32, more than targets.int8_drop {goals['int8_drop']:g}")
    if not misses:
        return None
    return (f"{recipe.path}: {'; '.join(misses)} (bench.json on {bench['models'][0]['accuracy']['samples']:,} test "
            f"images); train longer or change the recipe, or lower the target if it was set too high.")


def _child(argv):
    status = subprocess.call([sys.executable, *argv])
    if status:
        raise ChildFailed(status)
