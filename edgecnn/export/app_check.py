"""`edgecnn app-check`: the Android and iOS bundles of every built best.tflite / int8.tflite, classified by the
app runtimes' image classifiers against edgecnn-bench on the same test images: the TFLite Task Library
(tflite-support's ImageClassifier) and MediaPipe Tasks' ImageClassifier, its successor, each in a virtual env of
its own. The bundles are made by `edgecnn export --format android|ios`, metadata and labels embedded (both hold
the same .tflite), and each runtime reads its category names from that metadata."""

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
# run as a script in each runtime's env, from a folder of its own: a script's folder comes first on sys.path, and
# export/inspect.py there would stand in for the standard library's inspect
RUNNER = Path(__file__).resolve().parent / "app_runtime" / "app_classify.py"
# runtime (app_classify.py's name) -> (what it is called, the make target of its env)
RUNTIMES = {"task-library": ("the Task Library", ".app-venv: numpy<2, protobuf<4, tflite-support"),
            "mediapipe": ("MediaPipe Tasks", ".mediapipe-venv: mediapipe")}


@dataclass
class Result:
    status: str      # ok, FAIL or skip
    text: str
    figures: dict = None


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
        return (f"{path} takes a {'x'.join(map(str, shape))} input; the image classifiers of the Task Library and "
                f"MediaPipe Tasks need 1 x height x width x 3: set convert.rgb_input: true in its recipe (grey computed inside the "
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


def check(path, pythons, samples):
    """Results for one file: each runtime's top-1 on its Android and its iOS bundle within TOLERANCE_PT of
    edgecnn-bench's on the same images, every category name a class name. `pythons`: runtime -> its env's Python."""
    import numpy as np

    from edgecnn.export.formats import export

    with np.load(path.parent / "testset.npz", allow_pickle=False) as f:
        x, y = f["x"][:samples], f["y"][:samples]
        names = [str(n) for n in f["class_names"]] if "class_names" in f else None
    if names is None:
        return [Result("FAIL", f"{path}: its testset.npz has no class_names to compare label names with; rebuild it.")]
    with tempfile.TemporaryDirectory(prefix="app-check-") as tmp:
        tmp = Path(tmp)
        subset = tmp / "images.npz"
        np.savez(subset, x=x, y=y, class_names=np.array(names))
        export(path, "android", tmp / "android")
        export(path, "ios", tmp / "ios")
        bundles = {"Android": tmp / "android" / "assets" / "model.tflite", "iOS": tmp / "ios" / "model.tflite"}
        if bundles["Android"].read_bytes() != bundles["iOS"].read_bytes():
            return [Result("FAIL", f"{path}: the iOS bundle's model.tflite differs from the Android bundle's.")]
        bench = tmp / "bench.json"
        subprocess.run([sys.executable, "-m", "edgecnn.bench", str(bundles["Android"]), "--data", str(subset),
                        "--runs", "1", "--warmup", "0", "--threads", "1", "--json", str(bench), "--quiet"],
                       check=True, capture_output=True)
        ours = read_json(bench)["models"][0]["accuracy"]["top1"]
        return [_verdict(path, bundle, runtime, ours, names,
                         _json([str(python), str(RUNNER), runtime, str(model), str(subset)],
                               f"{RUNTIMES[runtime][0]} on {path}"))
                for runtime, python in pythons.items() for bundle, model in bundles.items()]


def _verdict(path, bundle, runtime, ours, names, got):
    what, label = f"{path} ({bundle})", RUNTIMES[runtime][0]
    if "error" in got:
        return Result("FAIL", f"{what}: {label} refused the bundle: {got['error']}")
    # the same scores may break a tie at the top another way (app_classify.py): compared with ties broken as
    # edgecnn-bench's argmax breaks them, the runtime's own order shown beside
    top1, reported, ties = got["top1_argmax_ties"], got["top1"], got["ties"]
    diff = round(100 * (top1 - ours), 6)                # 2 images in 1,000 are 0.2 points, not 0.2000000001
    unknown = sorted(set(got["categories"]) - set(names))
    ok = abs(diff) <= TOLERANCE_PT and not unknown
    own = (f" ({100 * reported:.2f} % in its own order: {ties:,} images share their top score)" if reported != top1
           else "")
    text = (f"{what}: {label} top-1 {100 * top1:.2f} %{' with ties broken as argmax breaks them' if own else ''}{own}, "
            f"edgecnn-bench {100 * ours:.2f} % ({diff:+.2f} pt, within {TOLERANCE_PT} required) on "
            f"{got['samples']:,} images; category names from the metadata: "
            + (f"all {len(got['categories'])} are class names" if not unknown
               else f"{', '.join(unknown)} are not class names"))
    figures = {"file": str(path), "bundle": bundle, "runtime": f"{label.removeprefix('the ')} {got.get('version', '?')}",
               "top1": top1, "top1_own_order": reported, "top_ties": ties, "bench_top1": ours, "diff_pt": diff,
               "images": got["samples"], "categories": len(got["categories"]), "unknown_categories": unknown,
               "passed": ok}
    return Result("ok" if ok else "FAIL", text, figures)


def run(paths, pythons, samples, echo=print):
    """Check every file on each runtime of `pythons` (runtime -> its env's Python); returns the exit status (0 all
    ok, 1 a failure) and the checks' figures (a UserError when nothing is checkable)."""
    named, found = find(paths)
    for path in named:
        sentence = refusal(path)
        if sentence:
            raise UserError(sentence)
    for runtime, python in pythons.items():
        python = Path(python)
        if not (python.is_file() and os.access(python, os.X_OK)):
            name, env = RUNTIMES[runtime]
            raise UserError(f"{python} is not a Python with {name}; 'make app-check' builds its env ({env}), or "
                            f"pass that env's Python.")
    results = []
    for path in named + found:
        sentence = refusal(path) if path in found else None
        for result in [Result("skip", sentence)] if sentence else check(path, pythons, samples):
            echo(f"{result.status:<5} {result.text}")
            results.append(result)
    checked = [r for r in results if r.status != "skip"]
    if not checked:
        raise UserError(f"no 3-channel best.tflite or int8.tflite under {', '.join(map(str, paths))}; run "
                        f"'make demo' first (its recipe sets convert.rgb_input).")
    failed = sum(r.status == "FAIL" for r in checked)
    runtimes = " and ".join(RUNTIMES[r][0] for r in pythons)
    echo(f"{len(checked) - failed} of {len(checked)} bundle checks classify on {runtimes} as on edgecnn-bench "
         f"(within {TOLERANCE_PT} pt); {len(results) - len(checked)} files skipped")
    return (1 if failed else 0), [r.figures for r in checked if r.figures]
