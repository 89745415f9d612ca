"""Minutes one epoch of the study's budget would cost each model on this machine, measured before a
model is put in the study: a few training steps at the study's input and batch, timed after the first
(which traces the graph), times the epoch's steps.

    python -m edgecnn.study.epoch_time [MODEL ...] [--steps 3] [--option MODEL.KEY=VALUE ...]
                                                                    -> reports/epoch_time.md, .json
    python -m edgecnn.study.epoch_time MODEL ... --modes float32 mixed_bfloat16 xla --report reports/cpu_training

--modes times each model in each numeric mode: float32 (the default), mixed_bfloat16 (Keras' mixed precision
policy: bfloat16 compute, float32 weights; AVX512_BF16 CPUs have bfloat16 instructions), xla (float32, the
training step compiled by XLA: jit_compile).

The budget is recipes/_compare.yaml's: its input shape, batch size, training images and validation split,
the images counted as edgecnn/data/datasets.py load_splits keeps them (Fashion-MNIST's 60,000 training
images less the validation split, then at most train_samples). --option sets a model's builder option
(the model is timed as so built; the table names the options).
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

from edgecnn.errors import UserError
from edgecnn.study.provenance import cpu_name
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked

BUDGET = Path("recipes/_compare.yaml")
REPORT = Path("reports/epoch_time")
FASHION_MNIST_TRAIN = 60_000      # Fashion-MNIST's training images (edgecnn/data/fashion_mnist.py)


def budget():
    """(input shape, batch size, training images of one epoch) of the BUDGET file."""
    base = yaml.safe_load(BUDGET.read_text())
    return tuple(base["dataset"]["input_shape"]), base["train"]["batch_size"], epoch_images(base["dataset"])


def epoch_images(dataset, available=FASHION_MNIST_TRAIN):
    """The training images load_splits keeps: the validation split is taken from the data set's `available`
    training images first, then the first train_samples of the rest (all of them when it is not set)."""
    if dataset.get("name", "fashion_mnist") != "fashion_mnist" or dataset.get("classes") \
            or dataset.get("samples_per_class"):
        raise UserError(f"{BUDGET}: the epoch's images are counted for all of Fashion-MNIST only; its dataset "
                        f"section names another data set, classes or samples_per_class.")
    left = available - int(round(available * dataset["validation_split"]))
    return min(left, dataset["train_samples"]) if dataset.get("train_samples") else left


def parse_options(items):
    """{model: {key: value}} from MODEL.KEY=VALUE items (VALUE read as YAML: 8, 0.5, [8, 16], true)."""
    out = {}
    for item in items:
        name, dot, rest = item.partition(".")
        key, equals, value = rest.partition("=")
        if not (dot and key and equals and value):
            raise UserError(f"--option takes MODEL.KEY=VALUE, such as resnext50_32x4d.width=8; got {item!r}.")
        out.setdefault(name, {})[key] = yaml.safe_load(value)
    return out


MODES = ("float32", "mixed_bfloat16", "xla")


def step_seconds(name, shape, batch, steps, split=False, limit=120.0, options=None, mode="float32"):
    """Median seconds of one training step (Adam, batch `batch`) after one untimed step; no more steps
    once `limit` seconds have been timed. split: grouped convolutions split per group (zoo/layers.py grouped_form);
    options: the model's builder options; mode: one of MODES."""
    from edgecnn.zoo.layers import grouped_form
    from edgecnn.tf import keras
    from edgecnn.zoo import build_model, inference_model

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mode == "mixed_bfloat16" else "float32")
    try:
        model = inference_model(build_model(name, shape, 10, options))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if split:
        model = grouped_form(model, "split")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  jit_compile=mode == "xla")
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


def run(names, steps, split=(), options=None, modes=("float32",)):
    """options: {model: builder options} for the models built otherwise than by default; modes: of MODES."""
    from edgecnn.zoo.macs import count_macs
    from edgecnn.zoo import build_model

    shape, batch, images = budget()
    per_epoch = math.ceil(images / batch)
    rows = []
    for name in names:
        chosen = (options or {}).get(name, {})
        model = build_model(name, shape, 10, chosen)
        macs, grouped = count_macs(model), any(getattr(layer, "groups", 1) > 1 for layer in model.layers)
        for form in ("native", "split") if name in split else ("native",):
            for mode in modes:
                seconds, timed, params = step_seconds(name, shape, batch, steps, form == "split", options=chosen,
                                                      mode=mode)
                rows.append({"model": name, "options": chosen, "grouped_conv": form if grouped else None,
                             "params": params, "macs": macs, "step_s": seconds, "steps": timed,
                             "epoch_min": seconds * per_epoch / 60, **({"mode": mode} if modes != ("float32",) else {})})
                print(f"{name} ({form}, {mode}): {seconds:.2f} s a step, {rows[-1]['epoch_min']:.1f} min an epoch",
                      flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "cores": len(os.sched_getaffinity(0)), "input": "x".join(map(str, shape)),
            "batch": batch, "images": images, "steps": steps, "rows": rows}


def markdown(report):
    moded = any("mode" in r for r in report["rows"])
    lines = [f"One epoch of the study's budget ({report['images']:,} images of {report['input']} at batch "
             f"{report['batch']}, Adam) on {report['cpu']}, {report['cores']} cores, {report['date']}: the median "
             f"of up to {report['steps']} timed training steps (fewer past 2 minutes) after one untimed step, "
             f"times the epoch's steps. `python -m edgecnn.study.epoch_time` wrote it.", "",
             "| model | grouped convs |" + (" mode |" if moded else "") + " params | MACs per image | timed steps "
             "| s per step | min per epoch |" + (" vs float32 |" if moded else ""),
             "|---|---|" + ("---|" if moded else "") + "---:|---:|---:|---:|---:|" + ("---:|" if moded else "")]
    base = {(r["model"], r["grouped_conv"]): r["step_s"] for r in report["rows"] if r.get("mode") == "float32"}
    for r in report["rows"]:
        ratio = base.get((r["model"], r["grouped_conv"]))
        lines.append(f"| {named(r)} | {r['grouped_conv'] or ''} |" + (f" {r['mode']} |" if moded else "")
                     + f" {r['params'] / 1e6:.2f} M | {r['macs'] / 1e6:,.0f} M | {r['steps']} | {r['step_s']:.2f} "
                     f"| {r['epoch_min']:,.1f} |" + ((f" {r['step_s'] / ratio:.2f}x |" if ratio else " |") if moded else ""))
    return "\n".join(lines) + "\n"


def named(row):
    """The row's model, with the builder options it was timed at when any."""
    options = ", ".join(f"{k} {v}" for k, v in (row.get("options") or {}).items())
    return f"{row['model']} ({options})" if options else row["model"]


def main(argv=None):
    from edgecnn.zoo import list_models

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.epoch_time", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every model of the zoo")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per model (default 3)")
    p.add_argument("--split", nargs="*", default=[], metavar="MODEL",
                   help="models also timed with their grouped convolutions split per group")
    p.add_argument("--option", action="append", default=[], metavar="MODEL.KEY=VALUE",
                   help="a builder option of one model, such as resnext50_32x4d.width=8 (repeatable)")
    p.add_argument("--modes", nargs="+", default=["float32"], choices=MODES,
                   help="numeric modes to time each model in (default float32)")
    p.add_argument("--report", default=str(REPORT), help="the report's path without suffix (default %(default)s)")
    args = p.parse_args(argv)
    try:
        options = parse_options(args.option)
        check(args, options)
        report = run(args.models or list_models(), args.steps, args.split, options, tuple(args.modes))
    except UserError as e:
        print(f"epoch-time: {e}", file=sys.stderr)
        return 2
    write(report, Path(args.report), markdown, invoked("edgecnn.study.epoch_time", argv))
    return 0


def check(args, options):
    """UserError for an unknown model, a step count under 1, or an option no timed model takes."""
    from edgecnn.zoo import list_models
    from edgecnn.zoo.registry import check_options

    unknown = [m for m in args.models + args.split + list(options) if m not in list_models()]
    if unknown:
        raise UserError(f"{', '.join(unknown)} is not a zoo model; they are {', '.join(list_models())}.")
    if args.steps < 1:
        raise UserError(f"--steps must be at least 1, got {args.steps}.")
    untimed = [m for m in options if args.models and m not in args.models]
    if untimed:
        raise UserError(f"--option names {', '.join(untimed)}, which this run does not time; name it as a MODEL too.")
    for name, chosen in options.items():
        check_options(name, chosen)


if __name__ == "__main__":
    sys.exit(main())
