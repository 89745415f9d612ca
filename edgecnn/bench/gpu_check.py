"""make gpu-check, the delegate half: each .tflite file on LiteRT's GPU accelerator against LiteRT's CPU
path (XNNPACK) on the same labelled images.

Needs numpy and ai-edge-litert only, so it runs where the bench alone was copied onto a GPU machine:
    python -m edgecnn.bench.gpu_check fp32.tflite fp16.tflite int8.tflite --data testset.npz

A file passes when LiteRT compiles it for the GPU alone and reports it fully accelerated (no op left
to the CPU), and its top-1 is within 0.2 points of the CPU path's. Latencies are timed to the
output's read-back, so an asynchronous GPU run counts whole inferences.

A hardware GPU is used when there is one. Without one, SwiftShader (a software Vulkan GPU that Debian's
chromium-common ships) runs the same GPU accelerator on the CPU: it shows which ops run on the GPU path and
what they compute, never GPU speed, so no GPU latency is printed for it. The adapter's type comes from
LiteRT's own log ("adapterType=CPU / Software").
Exit status: 0 every file passed, 1 one did not (the ops left to the CPU named), 2 no usable GPU, hardware
or software (one sentence says what is missing).
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

from edgecnn.bench.atomic import write_atomically
from edgecnn.bench.compiled import SWIFTSHADER, SWIFTSHADER_HOW, GpuUnavailable, vulkan_loader
from edgecnn.bench.labelled import DataError, load_labelled
from edgecnn.bench.measure import benchmark
from edgecnn.bench.model_file import ModelFileError
from edgecnn.bench.runtime import RuntimeMissing, pick_runtime

TOLERANCE = 0.2          # points of top-1 between the GPU and the CPU path
NO_GPU = 2


def find_gpu():
    """What names this machine's GPU (nvidia-smi's first line, else a device node), or None."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError):
            pass
    nodes = sorted(glob.glob("/dev/nvidia[0-9]*")) + sorted(glob.glob("/dev/dri/renderD*"))
    return f"a GPU device node ({nodes[0]})" if nodes else None


SOFTWARE = "software GPU (SwiftShader)"
SOFTWARE_SAYS = (f"{SOFTWARE}: which ops run on the GPU path and what they compute, not GPU speed")


def software_gpu():
    """The SwiftShader Vulkan driver's ICD file when it and the Vulkan loader are installed, else None."""
    return SWIFTSHADER if os.path.isfile(SWIFTSHADER) and vulkan_loader() else None


def no_gpu_sentence(what, software=False):
    """No GPU; with `software`, the check could have used SwiftShader and says how to install it."""
    return (f"{what}: this machine has no GPU (no nvidia-smi answer, no /dev/nvidia* or /dev/dri render node)"
            + (f" and no software one; {SWIFTSHADER_HOW} (make setup does, as root), or run it on a machine with "
               f"a GPU." if software else "; run it on a machine with one."))


def use_software_gpu():
    """Point the Vulkan loader at SwiftShader when there is no hardware GPU and SwiftShader is installed (a
    VK_DRIVER_FILES the user set stays). True when the software GPU is the one in use."""
    if find_gpu() is None and software_gpu():
        os.environ.setdefault("VK_DRIVER_FILES", software_gpu())
        return True
    return False


def compile_verdict(path, runtime):
    """What LiteRT's GPU accelerator makes of a file, compiled for the GPU alone (GPU with CPU fallback where
    it cannot take it whole): {"whole", "left" {op: reason}, "adapter", "software"}. GpuUnavailable when no
    GPU, hardware or software, can be used; ModelFileError when the file cannot be compiled at all."""
    from edgecnn.bench.compiled import Compiled

    use_software_gpu()
    interp = runtime.interpreter(path, 1, True)
    engine = Compiled(path, runtime, 1, "gpu", interp)
    return {"whole": bool(engine.fully_accelerated), "left": engine.left,
            "adapter": engine.adapter, "software": engine.software}


def dynamic_inputs(path, runtime):
    """The sentence for a file with a dynamic input shape, which the GPU accelerator cannot compile, or None."""
    from edgecnn.bench.model_file import check_tflite

    check_tflite(path)
    try:
        interp = runtime.interpreter(path, 1, True)
    except (ValueError, RuntimeError):
        return None                        # the bench's own load says why, in its sentence
    dynamic = [d for d in interp.get_input_details() if -1 in list(d.get("shape_signature", d["shape"]))]
    if not dynamic:
        return None
    shapes = ", ".join(f"{d['name']} {list(map(int, d['shape_signature']))}" for d in dynamic)
    return (f"{path} has a dynamic input shape ({shapes}); LiteRT's GPU accelerator compiles fixed shapes only: "
            f"convert the model with a fixed batch-1 signature (edgecnn convert does) and check that file.")


def check(path, runtime, data, threads, runs, warmup):
    """One row: the file on the GPU and on the CPU, timed interleaved per path, top-1 on `data`."""
    dynamic = dynamic_inputs(path, runtime)
    if dynamic:
        raise ModelFileError(dynamic)
    gpu, _ = benchmark([path], runtime, threads, runs, warmup, data, accelerator="gpu")
    cpu, _ = benchmark([path], runtime, threads, runs, warmup, data)
    gpu, cpu = gpu[0], cpu[0]
    row = {"path": path, "fully_on_gpu": gpu["fully_accelerated"], "gpu_adapter": gpu.get("gpu_adapter"),
           "software": bool(gpu.get("gpu_software")), "left_to_cpu": gpu.get("gpu_left", {}),
           "caveat": gpu.get("gpu_caveat"),
           "gpu_median_ms": gpu["latency_ms"]["median"], "cpu_median_ms": cpu["latency_ms"]["median"],
           "gpu_init_ms": gpu["init_ms"], "gpu_first_ms": gpu["first_inference_ms"], "gpu": gpu, "cpu": cpu}
    if data is not None:
        row["gpu_top1"], row["cpu_top1"] = gpu["accuracy"]["top1"], cpu["accuracy"]["top1"]
        row["diff_points"] = 100 * (row["gpu_top1"] - row["cpu_top1"])
    row["passed"] = bool(row["fully_on_gpu"]) and abs(row.get("diff_points", 0.0)) <= TOLERANCE
    return row


def table(rows, threads):
    """The rows as Markdown; on a software GPU without latencies (SwiftShader's time is the CPU's)."""
    timed = not any(r["software"] for r in rows)
    head = ("| file | whole graph on GPU | ops left to the CPU |"
            + (f" GPU median ms | CPU median ms ({threads} threads) | GPU/CPU |" if timed else "")
            + " top-1 GPU | top-1 CPU | difference | passed |")
    lines = [head, "|---|---|---|" + ("---:|---:|---:|" if timed else "") + "---:|---:|---:|---|"]
    for r in rows:
        top = (f"{100 * r['gpu_top1']:.2f} % | {100 * r['cpu_top1']:.2f} % | {r['diff_points']:+.2f} pts"
               if "gpu_top1" in r else "- | - | -")
        left = ", ".join(r["left_to_cpu"]) or ("none" if r["fully_on_gpu"] else "not named by LiteRT")
        speed = (f" {r['gpu_median_ms']:.3f} | {r['cpu_median_ms']:.3f} | {r['gpu_median_ms'] / r['cpu_median_ms']:.2f} |"
                 if timed else "")
        lines.append(f"| {r['path']} | {'yes' if r['fully_on_gpu'] else 'no'} | {left} |{speed} {top} "
                     f"| {'yes' if r['passed'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.bench.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL.tflite")
    p.add_argument("--probe", action="store_true", help="only say whether this machine has a GPU (exit 0 or 2)")
    p.add_argument("--data", help="labelled set for top-1: an .npz with arrays x, y (e.g. build/<r>/testset.npz)")
    p.add_argument("--samples", type=int, help="use only the first N labelled images")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--runs", type=int, help="timed runs per path (default 200; 3 on a software GPU)")
    p.add_argument("--warmup", type=int, help="untimed runs first (default 20; 1 on a software GPU)")
    p.add_argument("--json", metavar="OUT", help="also write the rows, with LiteRT's GPU log, as JSON")
    args = p.parse_args(argv)
    if not args.models and not args.probe:
        p.error("give the .tflite files to check, or --probe")

    gpu = find_gpu()
    if use_software_gpu():
        gpu = f"none in hardware; {SOFTWARE_SAYS}"
    if gpu is None:
        print(no_gpu_sentence("gpu-check", software=True), file=sys.stderr)
        return NO_GPU
    software = gpu.startswith("none in hardware")
    args.runs = args.runs if args.runs is not None else 3 if software else 200
    args.warmup = args.warmup if args.warmup is not None else 1 if software else 20
    if args.probe:
        print(f"GPU: {gpu}")
        return 0
    try:
        runtime = pick_runtime("litert")
    except (RuntimeMissing, ImportError):
        print("gpu-check: LiteRT's GPU accelerator needs ai-edge-litert, which is not installed here; "
              "'pip install ai-edge-litert' and run it again.", file=sys.stderr)
        return NO_GPU
    print(f"GPU: {gpu}\nruntime: {runtime.name} {runtime.version}; Vulkan loader: {vulkan_loader() or 'missing'}",
          flush=True)
    try:
        data = load_labelled(args.data)[:2] if args.data else None
    except DataError as e:
        print(f"gpu-check: {e}", file=sys.stderr)
        return 1
    if data is not None and args.samples:
        data = (data[0][:args.samples], data[1][:args.samples])
    rows = []
    for path in args.models:
        try:
            rows.append(check(path, runtime, data, args.threads, args.runs, args.warmup))
        except GpuUnavailable as e:
            print(f"gpu-check: {e}", file=sys.stderr)
            return NO_GPU
        except (ModelFileError, DataError) as e:
            print(f"gpu-check: {e} (skipped)", file=sys.stderr)
            rows.append({"path": path, "error": str(e), "passed": False})
    measured = [r for r in rows if "error" not in r]
    adapters = sorted({r["gpu_adapter"] for r in measured if r["gpu_adapter"]})
    print(f"LiteRT's GPU adapter: {'; '.join(adapters) or 'not named in its log'}")
    if any(r["software"] for r in measured):
        print(f"{SOFTWARE_SAYS}; LiteRT names the adapter's type CPU / Software, so no GPU latency is shown")
    if measured:
        print(table(measured, args.threads))
    for r in measured:
        if r["caveat"]:
            print(f"{r['path']}: {r['caveat']}")
        if not r["fully_on_gpu"]:
            print(f"{r['path']}: the GPU does not take the whole graph; it leaves " + ("; ".join(
                f"{op} ({why})" for op, why in r["left_to_cpu"].items()) or "ops LiteRT's log does not name")
                + " to the CPU")
    if args.json:
        write_atomically(args.json, json.dumps({"gpu": gpu, "software": software,
                                                "runtime": f"{runtime.name} {runtime.version}",
                                                "threads": args.threads, "rows": rows}, indent=1))
    passed = all(r["passed"] for r in rows)
    print(f"gpu-check (delegate): {'passed' if passed else 'FAILED'}: {sum(r['passed'] for r in rows)} of "
          f"{len(rows)} files ran whole on the {SOFTWARE if software else 'GPU'} with top-1 within {TOLERANCE} "
          f"points of the CPU path.")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
