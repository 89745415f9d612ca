"""Minutes one epoch of the study's budget would cost each model on this machine, measured before a
model is put in the study: a few training steps at the study's input and batch, timed after the first
(which traces the graph), times the epoch's steps.

    python -m edgecnn.study.epoch_time [MODEL ...] [--steps 3]     -> reports/epoch_time.md, .json

The budget is recipes/_compare.yaml's: its input shape, batch size, training images and validation split.
"""

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from edgecnn.study.compare import cpu_name
from edgecnn.study.peer import write

BUDGET = Path("recipes/_compare.yaml")
REPORT = Path("reports/epoch_time")


def budget():
    base = yaml.safe_load(BUDGET.read_text())
    images = int(base["dataset"]["train_samples"] * (1 - base["dataset"]["validation_split"]))
    return tuple(base["dataset"]["input_shape"]), base["train"]["batch_size"], images


def step_seconds(name, shape, batch, steps, split=False, limit=120.0):
    """Median seconds of one training step (Adam, batch `batch`) after one untimed step; no more steps
    once `limit` seconds have been timed. split: grouped convolutions split per group (zoo/layers.py grouped_form)."""
    from edgecnn.zoo.layers import grouped_form
    from edgecnn.tf import keras
    from edgecnn.zoo import build_model, inference_model

    keras.utils.set_random_seed(0)
    model = inference_model(build_model(name, shape, 10))
    if split:
        model = grouped_form(model, "split")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
        if sum(times) > limit:
            break
    return float(np.median(times)), len(times), model.count_params()


def run(names, steps, split=()):
    from edgecnn.zoo.macs import count_macs
    from edgecnn.zoo import build_model

    shape, batch, images = budget()
    per_epoch = math.ceil(images / batch)
    rows = []
    for name in names:
        model = build_model(name, shape, 10)
        macs, grouped = count_macs(model), any(getattr(layer, "groups", 1) > 1 for layer in model.layers)
        for form in ("native", "split") if name in split else ("native",):
            seconds, timed, params = step_seconds(name, shape, batch, steps, form == "split")
            rows.append({"model": name, "grouped_conv": form if grouped else None, "params": params, "macs": macs,
                         "step_s": seconds, "steps": timed, "epoch_min": seconds * per_epoch / 60})
            print(f"{name} ({form}): {seconds:.2f} s a step, {rows[-1]['epoch_min']:.1f} min an epoch", flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "cores": len(os.sched_getaffinity(0)), "input": "x".join(map(str, shape)),
            "batch": batch, "images": images, "steps": steps, "rows": rows}


def markdown(report):
    lines = [f"One epoch of the study's budget ({report['images']:,} images of {report['input']} at batch "
             f"{report['batch']}, Adam) on {report['cpu']}, {report['cores']} cores, {report['date']}: the median "
             f"of up to {report['steps']} timed training steps (fewer past 2 minutes) after one untimed step, "
             f"times the epoch's steps. `python -m edgecnn.study.epoch_time` wrote it.", "",
             "| model | grouped convs | params | MACs per image | timed steps | s per step | min per epoch |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        lines.append(f"| {r['model']} | {r['grouped_conv'] or ''} | {r['params'] / 1e6:.2f} M "
                     f"| {r['macs'] / 1e6:,.0f} M | {r['steps']} | {r['step_s']:.2f} | {r['epoch_min']:,.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    from edgecnn.zoo import list_models

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.epoch_time", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every model of the zoo")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per model (default 3)")
    p.add_argument("--split", nargs="*", default=[], metavar="MODEL",
                   help="models also timed with their grouped convolutions split per group")
    args = p.parse_args(argv)
    unknown = [m for m in args.models + args.split if m not in list_models()]
    if unknown:
        print(f"epoch-time: {', '.join(unknown)} is not a zoo model; they are {', '.join(list_models())}.",
              file=sys.stderr)
        return 2
    if args.steps < 1:
        print(f"epoch-time: --steps must be at least 1, got {args.steps}.", file=sys.stderr)
        return 2
    write(run(args.models or list_models(), args.steps, args.split), REPORT, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
