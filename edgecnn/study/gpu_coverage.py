"""`make gpu-coverage`: what LiteRT's GPU accelerator takes of every zoo model, and what it computes there.

Every zoo model at the study's input (32x32x1, 10 classes) and each edge model also at 224x224x3 (1,000
classes), untrained with batch-norm statistics measured on the images used (edgecnn.study.int8_speed) and the
classifier's weights scaled so its scores are not flat (sharpened), as
fp32, fp16 and int8 (uint8 I/O) files. Each file is compiled for the GPU alone (edgecnn.bench.gpu_check):
whether the whole graph runs there, else the ops LiteRT's log leaves to the CPU; then the GPU's scores against
the CPU path's (XNNPACK) on the same images. With no hardware GPU it runs on SwiftShader, a software GPU: which
ops run on the GPU path and what they compute, never GPU speed. The demo's trained files, top-1 on its test
images on the GPU against the CPU path, come from `make gpu-check-delegate` (build/<demo>/gpu_check.json).

    python -m edgecnn.study.gpu_coverage [MODEL ...]            -> reports/gpu_coverage.md, .json
    python -m edgecnn.study.gpu_coverage --check MODEL ...      the 32x32 rows of MODEL made again and held
                                                                equal to the committed report (exit 1 if not)
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from edgecnn.artifacts import atomic_write

FORMATS = ("fp32", "fp16", "int8")
STUDY, REFERENCE = ("32x32x1", (32, 32, 1), 10), ("224x224x3", (224, 224, 3), 1000)
IMAGES = 4                # images per file compared on the GPU and the CPU path
OUT = Path("build/gpu_coverage")
REPORT = Path("reports/gpu_coverage")
DEMO = Path("build/fashion_mnist_mobilenet_v2/gpu_check.json")


def sizes(name):
    from edgecnn.zoo.registry import entry

    return [STUDY, REFERENCE] if entry(name).role == "edge" else [STUDY]


SPREAD = 3.0              # the logits' standard deviation the classifier is scaled to


def sharpened(model, images):
    """The model with its last Dense or Conv2D layer's weights scaled so its logits spread with a standard
    deviation of SPREAD: an untrained model's softmax is nearly flat (scores within 0.0005 of each other at
    1,000 classes), which would compare nothing. The layers after it (ReLU, pooling, softmax's input) scale
    with it, so only how sharp the scores are changes."""
    scores = model.predict(images.astype(np.float32), verbose=0)
    sigma = float(np.mean(np.std(np.log(np.clip(scores, 1e-30, 1.0)), axis=1)))
    last = [layer for layer in model.layers if type(layer).__name__ in ("Dense", "Conv2D")][-1]
    last.set_weights([w * (SPREAD / max(sigma, 1e-6)) for w in last.get_weights()])
    return model


def files(name, label, shape, classes):
    """The model's fp32, fp16 and int8 files under build/gpu_coverage/<input>/, and the images used."""
    from edgecnn.convert import converter as convert
    from edgecnn.study.int8_speed import recalibrated
    from edgecnn.zoo.registry import build_model

    images = np.random.default_rng(0).integers(0, 256, (16, *shape)).astype(np.uint8)
    built = sharpened(recalibrated(build_model(name, shape, classes, {}), images), images)
    folder = OUT / label
    folder.mkdir(parents=True, exist_ok=True)
    paths, notes = {}, []
    for fmt in FORMATS:                   # prepared as `edgecnn convert` prepares each (the fp16 file for the GPU)
        model, _ = convert.prepare(built, gpu=fmt == "fp16")
        paths[fmt] = folder / f"{name}-{fmt}.tflite"
        atomic_write(paths[fmt], convert.convert(model, fmt, images if fmt == "int8" else None, said=notes))
    return paths, images[:IMAGES], notes


def compare(path, images, runtime):
    """One file's row: the GPU's verdict (compiled for the GPU alone, as gpu_check does) and its scores against
    the CPU path's on `images`."""
    from edgecnn.bench.measure import Loaded

    gpu = Loaded(str(path), runtime, 2, accelerator="gpu")
    cpu = Loaded(str(path), runtime, 2)
    on_gpu = np.concatenate([gpu.predict(x[None].astype(np.float32)) for x in images])
    on_cpu = np.concatenate([cpu.predict(x[None].astype(np.float32)) for x in images])
    return {"whole": bool(gpu.fully_accelerated), "left": gpu.gpu_left, "adapter": gpu.adapter,
            "software": gpu.software, "max_diff": float(np.abs(on_gpu - on_cpu).max()),
            "gpu_scores": on_gpu, "cpu_scores": on_cpu, "caveat": gpu.gpu_caveat,
            "score_range": float(on_cpu.max() - on_cpu.min()),
            "same_top": int((on_gpu.argmax(1) == on_cpu.argmax(1)).sum()), "images": len(images)}


def rows(names, only_study=False):
    from edgecnn.bench.gpu_check import use_software_gpu
    from edgecnn.bench.runtime import pick_runtime

    use_software_gpu()
    runtime, out = pick_runtime("litert"), []
    for name in names:
        for label, shape, classes in sizes(name)[:1 if only_study else None]:
            started = time.monotonic()
            paths, images, notes = files(name, label, shape, classes)
            found = {fmt: compare(paths[fmt], images, runtime) for fmt in FORMATS}
            for fmt in FORMATS:        # how far the format itself moves the scores, on the CPU path
                row = found[fmt]
                row["cpu_vs_fp32"] = float(np.abs(row["cpu_scores"] - found["fp32"]["cpu_scores"]).max())
                out.append({"model": name, "input": label, "format": fmt, **row})
            for row in out[-3:]:
                del row["gpu_scores"], row["cpu_scores"]
            print(f"{name} {label}: " + ", ".join(f"{r['format']} {'whole' if r['whole'] else 'split'}"
                                                  for r in out[-3:]) + f" ({time.monotonic() - started:.0f} s)",
                  flush=True)
    return out, runtime


def report(names):
    from edgecnn.study.provenance import cpu_name

    found, runtime = rows(names)
    demo = json.loads(DEMO.read_text()) if DEMO.is_file() else None
    manifest = DEMO.with_name("manifest.json")
    built = (json.loads(manifest.read_text()).get("artifacts", {}).get("int8.tflite", {})
             if demo is not None and manifest.is_file() else {})
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "runtime": f"{runtime.name} {runtime.version}", "adapter": next((r["adapter"] for r in found), None),
            "software": any(r["software"] for r in found), "images": IMAGES, "rows": found,
            "demo": None if demo is None else {"software": demo.get("software", False),
                                               "int8_sha256": built.get("sha256"), "written": built.get("written"),
                                               "rows": [
                {k: r.get(k) for k in ("path", "fully_on_gpu", "gpu_top1", "cpu_top1", "diff_points", "passed")}
                | {"samples": r.get("gpu", {}).get("accuracy", {}).get("samples")} for r in demo["rows"]]}}


FLOAT_AGREE = 1e-3       # a float file's GPU scores within this of the CPU path's (fp16 arithmetic: ~1e-5 here)


def _left(r):
    return ", ".join(r["left"]) or ("-" if r["whole"] else "not named")


def _float_verdict(rows):
    """The sentence on the fp32 and fp16 files: all within FLOAT_AGREE of the CPU path, or which are not and why."""
    floats = [r for r in rows if r["format"] != "int8"]
    off = [r for r in floats if r["max_diff"] > FLOAT_AGREE]
    if not off:
        return (f"**Every fp32 and fp16 file's GPU scores are within {FLOAT_AGREE:g} of the CPU path's** "
                f"(largest {max(r['max_diff'] for r in floats):.1g}).")
    why = sorted({r["caveat"] for r in off if r.get("caveat")})
    return (f"**{len(floats) - len(off)} of {len(floats)} fp32 and fp16 files' GPU scores are within {FLOAT_AGREE:g} "
            f"of the CPU path's.** Not: " + ", ".join(f"{r['model']} {r['input']} {r['format']} "
                                                     f"({r['max_diff']:.2g})" for r in off)
            + (f". Each of these files: {'; '.join(why)}." if why else "."))


def markdown(rep):
    where = (f"{rep['adapter']}, a software GPU on the CPU: which ops run on the GPU path and what they compute, "
             f"not GPU speed" if rep["software"] else rep["adapter"])
    models = sorted({r["model"] for r in rep["rows"]})
    split = [r for r in rep["rows"] if not r["whole"]]
    lines = [f"LiteRT's GPU accelerator compiled every file for the GPU alone: {len(models)} zoo models, untrained, "
             f"at 32x32x1 and (edge models) 224x224x3, as fp32, fp16 and int8. GPU: {where}. {rep['runtime']} on "
             f"{rep['cpu']}, {rep['date']}. `make gpu-coverage` wrote it. Scores: the GPU's against the CPU path's "
             f"(XNNPACK) on the same {rep['images']} random images; the scores are softmax outputs, the classifier's weights "
             f"scaled so they spread (logits' standard deviation {SPREAD:g}: an untrained model's are nearly flat); "
             f"the spread column is the CPU's highest score minus its lowest.", "",
             f"**{len(rep['rows']) - len(split)} of {len(rep['rows'])} files run whole on the GPU.**" +
             ("" if not split else " Split: " + "; ".join(f"{r['model']} {r['input']} {r['format']} ({_left(r)})"
                                                        for r in split) + "."), "", _float_verdict(rep["rows"]), "",
             "int8 files: the GPU computes them in float from the dequantized weights, the CPU path in integers, so "
             "on these untrained models, whose sharpened scores magnify quantization error, the two differ by about "
             "as much as the int8 file differs from the fp32 file on the CPU (the next column); those rows show that "
             "the int8 file runs whole on the GPU, not how close it is. The trained demo's files below are that "
             "check.", "",
             "| model | input | format | whole graph on GPU | ops left to the CPU | max \\|GPU - CPU\\| score "
             "| max \\|CPU - fp32 file on CPU\\| | CPU scores' spread | same top class |",
             "|---|---|---|---|---|---:|---:|---:|---:|"]
    for r in rep["rows"]:
        lines.append(f"| {r['model']} | {r['input']} | {r['format']} | {'yes' if r['whole'] else 'NO'} | {_left(r)} "
                     f"| {r['max_diff']:.2g} | {r['cpu_vs_fp32']:.2g} | {r['score_range']:.2f} "
                     f"| {r['same_top']} of {r['images']} |")
    if rep.get("demo"):
        demo = rep["demo"]
        build = (f": the build whose int8.tflite was written {demo['written']} (sha256 {demo['int8_sha256'][:12]}), "
                 f"not necessarily the one reports/demo.md measured" if demo.get("int8_sha256") else "")
        lines += ["", f"The demo's trained files (`make gpu-check-delegate`, build/fashion_mnist_mobilenet_v2/{build}), "
                  "top-1 on the GPU against the CPU path:", "",
                  "| file | whole graph on GPU | top-1 GPU | top-1 CPU | difference | test images |",
                  "|---|---|---:|---:|---:|---:|"]
        for r in rep["demo"]["rows"]:
            lines.append(f"| {Path(r['path']).name} | {'yes' if r['fully_on_gpu'] else 'NO'} | "
                         f"{100 * r['gpu_top1']:.2f} % | {100 * r['cpu_top1']:.2f} % | {r['diff_points']:+.2f} pts | "
                         f"{r['samples']:,} |")
    return "\n".join(lines) + "\n"


def check(names):
    """The 32x32 rows of `names` made again against the committed report: same files whole, same ops left."""
    committed = json.loads(REPORT.with_suffix(".json").read_text())
    want = {(r["model"], r["input"], r["format"]): (r["whole"], sorted(r["left"])) for r in committed["rows"]}
    found, _ = rows(names, only_study=True)
    wrong = [f"{r['model']} {r['input']} {r['format']}: {'whole' if r['whole'] else 'split'} "
             f"{sorted(r['left'])}, the report says {want.get((r['model'], r['input'], r['format']))}"
             for r in found if want.get((r["model"], r["input"], r["format"])) != (r["whole"], sorted(r["left"]))]
    for line in wrong:
        print(f"gpu-coverage: {line}; run 'make gpu-coverage' and commit the report.", file=sys.stderr)
    print(f"gpu-coverage check: {len(found) - len(wrong)} of {len(found)} files as reports/gpu_coverage.md says")
    return 1 if wrong else 0


def main(argv=None):
    from edgecnn.bench.gpu_check import find_gpu, no_gpu_sentence, software_gpu
    from edgecnn.study.peer import write
    from edgecnn.study.provenance import invoked
    from edgecnn.zoo.registry import list_models, not_in_zoo

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.gpu_coverage", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every zoo model")
    p.add_argument("--check", action="store_true", help="make the 32x32 rows of MODEL again and compare them with "
                                                        "the committed report")
    args = p.parse_args(argv)
    unknown = not_in_zoo(args.models)
    if unknown:
        print(f"gpu-coverage: {unknown}", file=sys.stderr)
        return 2
    if find_gpu() is None and software_gpu() is None:
        print(no_gpu_sentence("gpu-coverage", software=True), file=sys.stderr)
        return 2
    if args.check:
        return check(args.models or list_models())
    write(report(args.models or list_models()), REPORT, markdown, invoked("edgecnn.study.gpu_coverage", argv),
          ("edgecnn.bench",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
