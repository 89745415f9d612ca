"""`make peer`: the zoo's files against the ones a user makes by hand from Keras' own applications.

For each model Keras has, both built untrained (weights=None) at 224x224x3 with 1,000 classes: ours
converted by edgecnn (input scaling folded into the stem, frozen batch-1 graph), the peer's by the plain
TFLite converter (`from_keras_model` at batch 1), each as fp32 and full-int8 with uint8 I/O, calibrated
on the same random images (latency does not depend on what calibration saw). Then one interleaved
benchmark per model (ours and the peer's, fp32 and int8: A B C D A B C D ...) at 1 thread, repeated;
the ratio is the median over the repeats of ours / the peer's median latency. --input builds both at
another size (the report says which); ours keeps the ImageNet stem at stride 2 there too, as Keras' has.

    python -m edgecnn.study.peer [MODEL ...] [--repeats 5] [--input 224x224x3]
                                                            (make peer [PEER="mobilenet_v2 resnet50"])
"""

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgecnn.artifacts import atomic_write
from edgecnn.study.provenance import cpu_name
from edgecnn.study.provenance import invoked

SIZE, CLASSES = (224, 224, 3), 1000
PEERS = {                     # our zoo name -> Keras application
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v3_small": "MobileNetV3Small",
    "mobilenet_v3_large": "MobileNetV3Large",
    "efficientnet_b0": "EfficientNetB0",
    "resnet50": "ResNet50",
    "vgg16": "VGG16",
}
OUT = Path("build/peer")
REPORT = Path("reports/peer")


def input_shape(text):
    """argparse type: HxWx3 (Keras' applications take RGB images), such as 96x96x3."""
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1 or dims[2] != 3:
        raise argparse.ArgumentTypeError(f"expected HxWx3 (Keras' applications take RGB), such as 96x96x3, "
                                         f"got '{text}'")
    return dims


def calibration(count=16, seed=0, shape=SIZE):
    return np.random.default_rng(seed).integers(0, 256, (count, *shape)).astype(np.uint8)


def ours(name, images):
    """Our model at the images' size, with the ImageNet stem (stride 2: the zoo's own choice from 96x96 up)."""
    from edgecnn.convert import converter as convert
    from edgecnn.zoo.registry import build_model, builder_options

    stem = {"stem_stride": 2} if "stem_stride" in builder_options(name) else {}
    built = build_model(name, images.shape[1:], CLASSES, stem)
    model, unfolded = convert.prepare(built)
    return built, {"fp32": convert.convert(model, "fp32"), "int8": convert.convert(model, "int8", images)}, unfolded


def peer(name, images):
    """The file a user makes by hand: Keras' application, the converter's documented int8 recipe."""
    from edgecnn.bench.quiet import quiet_stderr
    from edgecnn.tf import keras, tf

    model = getattr(keras.applications, PEERS[name])(weights=None, classes=CLASSES,
                                                     input_tensor=keras.Input(images.shape[1:], batch_size=1))
    files = {}
    for fmt in ("fp32", "int8"):
        with quiet_stderr():                 # the SavedModel round trip's and MLIR's log lines
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            if fmt == "int8":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = lambda: ([image[None].astype(np.float32)] for image in images)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = converter.inference_output_type = tf.uint8
            files[fmt] = converter.convert()
    return model, files


def first_ops(path, count=4):
    from ai_edge_litert.interpreter import Interpreter

    return [op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()][:count]


def measure(paths, repeats, threads=1, seconds=2.0):
    """Median latency of each file per repeat, interleaved; runs sized to about `seconds` a file."""
    from edgecnn.bench.measure import Loaded, benchmark
    from edgecnn.bench.runtime import pick_runtime

    runtime = pick_runtime()
    probe = Loaded(paths[0], runtime, threads)
    runs = int(min(200, max(5, seconds * 1e3 / max(probe.first_ms, 0.01))))
    medians = []
    for _ in range(repeats):
        results, _ = benchmark(paths, runtime, threads, runs, warmup=2)
        medians.append([r["latency_ms"]["median"] for r in results])
    return medians, runtime


def run(names, repeats, shape=SIZE):
    images = calibration(shape=shape)
    rows = []
    for name in names:
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        our_model, our_files, unfolded = ours(name, images)
        ours_s = time.monotonic() - started
        started = time.monotonic()
        peer_model, peer_files = peer(name, images)
        peer_s = time.monotonic() - started
        paths = []
        for who, files in (("ours", our_files), ("peer", peer_files)):
            for fmt, blob in files.items():
                path = folder / f"{who}-{fmt}.tflite"
                atomic_write(path, blob)
                paths.append(str(path))
        medians, runtime = measure(paths, repeats)
        per_file = {path: statistics.median(m[i] for m in medians) for i, path in enumerate(paths)}
        ratios = {fmt: statistics.median(m[paths.index(str(folder / f"ours-{fmt}.tflite"))] /
                                         m[paths.index(str(folder / f"peer-{fmt}.tflite"))] for m in medians)
                  for fmt in ("fp32", "int8")}
        rows.append({
            "model": name, "keras": PEERS[name],
            "params": {"ours": int(our_model.count_params()), "peer": int(peer_model.count_params())},
            "bytes": {Path(p).stem: Path(p).stat().st_size for p in paths},
            "median_ms": {Path(p).stem: ms for p, ms in per_file.items()},
            "ratio": ratios,
            "int8_over_fp32": {"ours": per_file[str(folder / "ours-int8.tflite")] / per_file[str(folder / "ours-fp32.tflite")],
                               "peer": per_file[str(folder / "peer-int8.tflite")] / per_file[str(folder / "peer-fp32.tflite")]},
            "first_ops": {Path(p).stem: first_ops(p) for p in paths},
            "convert_s": {"ours": ours_s, "peer": peer_s}, "input_scaling_unfolded": unfolded,
        })
        print(f"{name}: ours / peer fp32 {ratios['fp32']:.3f}, int8 {ratios['int8']:.3f}", flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?", "machine": platform.machine(),
            "runtime": f"{runtime.name} {runtime.version}", "threads": 1, "repeats": repeats,
            "input": "x".join(map(str, shape)), "rows": rows}


def markdown(report):
    lines = [f"Ours (edgecnn) against Keras' applications converted the plain way, untrained, {report['input']}, 1,000 "
             f"classes; median of {report['repeats']} interleaved 1-thread runs; {report['runtime']} on "
             f"{report['cpu']} ({report['machine']}), {report['date']}. `make peer` wrote it.", "",
             "| model | params ours / Keras | fp32 ms ours / peer | **fp32 ratio** | int8 ms ours / peer | **int8 ratio** "
             "| int8/fp32 ours | int8/fp32 peer | conversion s ours / peer | first ops, ours int8 | first ops, peer int8 |",
             "|---|---|---|---:|---|---:|---:|---:|---|---|---|"]
    for r in report["rows"]:
        ms = r["median_ms"]
        lines.append(
            f"| {r['model']} | {r['params']['ours']:,} / {r['params']['peer']:,} "
            f"| {ms['ours-fp32']:.2f} / {ms['peer-fp32']:.2f} | **{r['ratio']['fp32']:.3f}** "
            f"| {ms['ours-int8']:.2f} / {ms['peer-int8']:.2f} | **{r['ratio']['int8']:.3f}** "
            f"| {r['int8_over_fp32']['ours']:.2f} | {r['int8_over_fp32']['peer']:.2f} "
            f"| {r['convert_s']['ours']:.1f} / {r['convert_s']['peer']:.1f} "
            f"| {' '.join(r['first_ops']['ours-int8'])} | {' '.join(r['first_ops']['peer-int8'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.peer", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help=f"default: all of {', '.join(PEERS)}")
    p.add_argument("--repeats", type=int, default=5, help="interleaved runs per model (default 5)")
    p.add_argument("--input", type=input_shape, default=SIZE, metavar="HxWxC",
                   help="the models' input (default 224x224x3)")
    args = p.parse_args(argv)
    unknown = [m for m in args.models if m not in PEERS]
    if unknown:
        print(f"peer: Keras has no application for {', '.join(unknown)}; the models with a peer are "
              f"{', '.join(PEERS)}.", file=sys.stderr)
        return 2
    write(run(args.models or list(PEERS), args.repeats, args.input), REPORT, markdown, invoked("edgecnn.study.peer", argv),
          ("edgecnn.bench",))
    return 0


def write(report, base, render, command, packages=()):
    """reports/<name>.json with every figure, .md with the table ending with what made it, and the record of
    what made it (edgecnn/study/provenance.py: `command`, the modules it ran and those of `packages` it ran in
    child processes, the recipes whose builds it read and the code their manifests recorded); printed too, and rewritten where docs/ includes it."""
    from edgecnn.artifacts import atomic_write
    from edgecnn.study import provenance
    from edgecnn.study.include import refresh

    base.parent.mkdir(exist_ok=True)
    atomic_write(base.with_suffix(".json"), (json.dumps(report, indent=1) + "\n").encode())
    recipes = provenance.recipes_in(report, Path.cwd())          # the project the command ran in
    made = provenance.record(base.with_suffix(".md"), command, recipes, packages,
                             builds=[Path("build") / r.stem for r in recipes])
    text = render(report)
    atomic_write(base.with_suffix(".md"), (text + ("" if text.endswith("\n") else "\n") + "\n"
                                           + provenance.footer(made)).encode())
    refresh(base.with_suffix(".md"))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
