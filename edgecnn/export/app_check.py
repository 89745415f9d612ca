"""`edgecnn app-check`: the Android bundle of every built best.tflite / int8.tflite, classified by the TFLite
Task Library (tflite-support's ImageClassifier, in a virtual env of its own) against edgecnn-bench on the same
test images. The bundle is made by `edgecnn export --format android`, metadata and labels embedded, and the
Task Library reads its category names from that metadata."""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError

TARGETS = ("best.tflite", "int8.tflite")
TOLERANCE_PT = 0.2
RUNNER = Path(__file__).resolve().parents[1] / "bench" / "task_library.py"


@dataclass
class Result:
    status: str      # ok, FAIL or skip
    text: str


def find(paths):
    """(explicitly named files, files found under the named folders)."""
    named, found = [], []
    for p in map(Path, paths):
        if p.is_file():
            named.append(p)
        elif p.is_dir():
            found += sorted(f for f in p.rglob("*.tflite") if f.name in TARGETS and "android" not in f.parts)
        else:
            raise UserError(f"{p} does not exist; give .tflite files or folders (default: build).")
    return named, found


def refusal(path):
    """The one sentence for a file the Task Library's ImageClassifier cannot take, or None."""
    from edgecnn.export.contents import read

    shape = read(path).inputs[0]["shape"]
    if len(shape) != 4 or shape[-1] != 3:
        return (f"{path} takes a {'x'.join(map(str, shape))} input; the Task Library's ImageClassifier needs "
                f"1 x height x width x 3: set convert.rgb_input: true in its recipe (grey computed inside the "
                f"model) and rebuild.")
    if not (path.parent / "testset.npz").is_file():
        return f"{path} has no testset.npz beside it; run 'make {path.parent / 'testset.npz'}' first."
    return None


def _json(argv, what):
    proc = subprocess.run(argv, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 and not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{what} failed (exit {proc.returncode}): {last}")
    return json.loads(lines[-1]) if lines else {}


def check(path, python, samples):
    """Result for one file: Task Library top-1 within TOLERANCE_PT of edgecnn-bench's on the same images."""
    import numpy as np

    from edgecnn.export.formats import export

    with np.load(path.parent / "testset.npz", allow_pickle=False) as f:
        x, y = f["x"][:samples], f["y"][:samples]
        names = [str(n) for n in f["class_names"]] if "class_names" in f else None
    if names is None:
        return Result("FAIL", f"{path}: its testset.npz has no class_names to compare label names with; rebuild it.")
    with tempfile.TemporaryDirectory(prefix="app-check-") as tmp:
        tmp = Path(tmp)
        subset = tmp / "images.npz"
        np.savez(subset, x=x, y=y, class_names=np.array(names))
        export(path, "android", tmp)
        model = tmp / "assets" / "model.tflite"
        bench = tmp / "bench.json"
        subprocess.run([sys.executable, "-m", "edgecnn.bench", str(model), "--data", str(subset), "--runs", "1",
                        "--warmup", "0", "--threads", "1", "--json", str(bench), "--quiet"],
                       check=True, capture_output=True)
        ours = read_json(bench)["models"][0]["accuracy"]["top1"]
        task = _json([str(python), str(RUNNER), str(model), str(subset)], f"the Task Library on {path}")
    if "error" in task:
        return Result("FAIL", f"{path}: the Task Library refused the bundle: {task['error']}")
    diff = round(100 * (task["top1"] - ours), 6)         # 2 images in 1,000 are 0.2 points, not 0.2000000001
    unknown = sorted(set(task["categories"]) - set(names))
    ok = abs(diff) <= TOLERANCE_PT and not unknown
    text = (f"{path}: Task Library top-1 {100 * task['top1']:.2f} %, edgecnn-bench {100 * ours:.2f} % "
            f"({diff:+.2f} pt, within {TOLERANCE_PT} required) on {task['samples']:,} images; category names from "
            f"the metadata: " + (f"all {len(task['categories'])} are class names" if not unknown
                                 else f"{', '.join(unknown)} are not class names"))
    return Result("ok" if ok else "FAIL", text)


def run(paths, python, samples, echo=print):
    """Check every file; returns the exit status (0 all ok, 1 a failure, 2 nothing checkable)."""
    named, found = find(paths)
    for path in named:
        sentence = refusal(path)
        if sentence:
            raise UserError(sentence)
    python = Path(python)
    if not (python.is_file() and os.access(python, os.X_OK)):
        raise UserError(f"{python} is not the Task Library's Python; 'make app-check' builds that env "
                        f"(.app-venv: numpy<2, protobuf<4, tflite-support), or pass --python.")
    results = []
    for path in named + found:
        sentence = refusal(path) if path in found else None
        result = Result("skip", sentence) if sentence else check(path, python, samples)
        echo(f"{result.status:<5} {result.text}")
        results.append(result)
    checked = [r for r in results if r.status != "skip"]
    if not checked:
        raise UserError(f"no 3-channel best.tflite or int8.tflite under {', '.join(map(str, paths))}; run "
                        f"'make demo' first (its recipe sets convert.rgb_input).")
    failed = sum(r.status == "FAIL" for r in checked)
    echo(f"{len(checked) - failed} of {len(checked)} files classify on the Task Library as on edgecnn-bench "
         f"(within {TOLERANCE_PT} pt); {len(results) - len(checked)} skipped")
    return 1 if failed else 0
