"""`make cpu-precision`: top-1 at the study's budget when the CPU trains in float32 and in Keras' mixed_bfloat16
policy (bfloat16 compute, float32 weights): the accuracy half of docs/training.md's question, whose speed half
reports/cpu_training*.md (epoch_time.py) time on a quiet machine.

Each model trains as recipes/compare_<model>.yaml says, through edgecnn's own training (edgecnn/train/fit.py:
its data, augmentation, schedule and batch-norm re-estimation); only the global policy differs, and --seeds trains
each mode again from other seeds (train.seed) so the gap between modes can be read against the gap between seeds.
Top-1 of the trained model (float32 weights, as model.keras holds them) on all the test images; the epoch's
wall-clock seconds from its training log (this run's: beside other jobs they are not the machine's speed).
Each run lands in build/precision_<model>_<mode>_seed<N>/ with result.json, reused while the recipe and the code
its manifest recorded are unchanged (this module aside: editing how the table reads trains nothing again).

    python -m edgecnn.study.precision [MODEL ...] [--modes float32 mixed_bfloat16] [--seeds 0 1]
                                                                   -> reports/cpu_precision.md, .json
"""

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

from edgecnn.errors import UserError

MODELS = ("mobilenet_v2", "resnet50", "vgg16")
MODES = ("float32", "mixed_bfloat16")
REPORT = Path("reports/cpu_precision")
OURS = "edgecnn/study/precision.py"     # recorded with each run's code; a run is not made again when only it changes


def recipe_for(model, mode, seed):
    """recipes/compare_<model>.yaml with train.seed `seed`, building into build/precision_<model>_<mode>_seed<N>/."""
    from edgecnn.recipe import Recipe, load

    path = Path(f"recipes/compare_{model}.yaml")
    if not path.is_file():
        raise UserError(f"{model}: there is no {path}; the precision runs train the study's models at its budget "
                        f"(recipes/compare_<model>.yaml), e.g. {' '.join(MODELS)}.")
    study = load(path)
    data = copy.deepcopy(study.data)
    data["train"]["seed"] = seed
    return Recipe(name=f"precision_{model}_{mode}_seed{seed}", path=path, data=data)


def train_in(recipe, mode):
    """Train `recipe` under the global policy `mode`; the float32 model it leaves (model.keras) and its log."""
    from edgecnn.tf import keras
    from edgecnn.train.fit import train

    keras.mixed_precision.set_global_policy(mode)
    try:
        return train(recipe, verbose=2)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def top1(model, recipe):
    """(top-1 of a Keras model on the recipe's test images, their count, the training images' count); the pixels
    raw [0, 255], as the model scales them itself."""
    from edgecnn.data.datasets import load_splits

    data = load_splits(recipe["dataset"], recipe["train"]["seed"])
    scores = model.predict(data.x_test.astype(np.float32), batch_size=512, verbose=0)
    scores = scores[0] if isinstance(scores, list) else scores          # GoogLeNet's auxiliary heads
    return float(np.mean(scores.argmax(-1) == data.y_test)), len(data.y_test), len(data.x_train)


def current(recipe):
    """The result.json of an earlier run of this recipe, when its recipe and the code that trained it are today's."""
    from edgecnn.sources import changes
    from edgecnn.study.provenance import build_code

    path = recipe.build_dir / "result.json"
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except ValueError:
        return None
    code = build_code(recipe.build_dir, ["model.keras"])
    code = code and {name: digest for name, digest in code.items() if name != OURS}     # its table, not its training
    if result.get("train") != recipe.stage_config("train") or not code or any(changes(code)):
        return None
    return result


def run_one(model, mode, seed, say=print):
    from edgecnn.artifacts import atomic_write

    recipe = recipe_for(model, mode, seed)
    result = current(recipe)
    if result:
        say(f"{model} {mode} seed {seed}: top-1 {100 * result['top1']:.2f} % (made before: {recipe.build_dir})")
        return result
    trained, history = train_in(recipe, mode)
    accuracy, images, trained_on = top1(trained, recipe)
    result = {"model": model, "mode": mode, "seed": seed, "build": f"{recipe.build_dir.as_posix()}/",
              "top1": accuracy, "test_images": images, "train_images": trained_on, "epochs": len(history),
              "epoch_s": [row["seconds"] for row in history], "date": time.strftime("%Y-%m-%d"),
              "train": recipe.stage_config("train")}
    atomic_write(recipe.build_dir / "result.json", (json.dumps(result, indent=1) + "\n").encode())
    say(f"{model} {mode} seed {seed}: top-1 {100 * accuracy:.2f} % on {images:,} test images", flush=True)
    return result


def run(models, modes, seeds):
    from edgecnn.study.provenance import cpu_name
    import platform

    rows = [run_one(m, mode, s) for m in models for mode in modes for s in seeds]
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "models": list(models), "modes": list(modes), "seeds": list(seeds), "rows": rows}


def markdown(report):
    rows = report["rows"]
    lines = [f"Top-1 on all {rows[0]['test_images']:,} test images after the study's budget (recipes/compare_<model>.yaml: "
             f"{rows[0]['epochs']} epoch(s) of {rows[0]['train_images']:,} images) trained on {report['cpu']} in each policy, from seed(s) "
             f"{', '.join(map(str, report['seeds']))}; the weights float32 either way. Epoch seconds are this run's, "
             f"timed beside whatever else ran (reports/cpu_training*.md time the modes on a quiet machine).", "",
             "| model | mode | seed | top-1 | epoch s | vs float32, same seed (points) |", "|---|---|---:|---:|---:|---:|"]
    base = {(r["model"], r["seed"]): r["top1"] for r in rows if r["mode"] == "float32"}
    for r in rows:
        gap = base.get((r["model"], r["seed"]))
        gap = "" if gap is None or r["mode"] == "float32" else f"{100 * (r['top1'] - gap):+.2f}"
        lines.append(f"| {r['model']} | {r['mode']} | {r['seed']} | {100 * r['top1']:.2f} % | "
                     f"{sum(r['epoch_s']):,.0f} | {gap} |")
    verdicts = [verdict(model, rows) for model in report["models"]]
    if any(verdicts):
        lines += [""] + [f"- {line}" for line in verdicts if line]
    return "\n".join(lines)


def verdict(model, rows):
    """The sentence on one model: mixed_bfloat16's mean gap to float32 over the seeds both trained from, against the
    larger spread between seeds of either mode (run-to-run noise); None without two seeds in both modes."""
    top = {(r["mode"], r["seed"]): r["top1"] for r in rows if r["model"] == model}
    seeds = sorted({s for m, s in top if m == "float32"} & {s for m, s in top if m == "mixed_bfloat16"})
    if len(seeds) < 2:
        return None
    by = {mode: [100 * top[(mode, s)] for s in seeds] for mode in MODES}
    gap = float(np.mean(by["mixed_bfloat16"]) - np.mean(by["float32"]))
    noise = max(max(v) - min(v) for v in by.values())
    return (f"{model}: mixed_bfloat16 {gap:+.2f} points against float32 on average over seeds "
            f"{', '.join(map(str, seeds))}; the seeds themselves differ by up to {noise:.2f} points, so the gap is "
            + ("within run-to-run noise." if abs(gap) <= noise else "larger than run-to-run noise."))


def write(report, command):
    """reports/cpu_precision.json, .md ending with what made it: the compare recipes and the code the builds' manifests
    recorded, this module's digest at training time aside as in current() (study/peer.py's write, with the recipes
    the builds were made from, which their folders do not name)."""
    from edgecnn.artifacts import atomic_write
    from edgecnn.study import provenance
    from edgecnn.study.include import refresh

    REPORT.parent.mkdir(exist_ok=True)
    atomic_write(REPORT.with_suffix(".json"), (json.dumps(report, indent=1) + "\n").encode())
    trained = {r["build"]: provenance.build_code(Path(r["build"]), ["model.keras"]) for r in report["rows"]}
    made = provenance.record(REPORT.with_suffix(".md"), command,
                             recipes=[Path(f"recipes/compare_{m}.yaml") for m in report["models"]],
                             code=provenance.merge([{k: v for k, v in code.items() if k != OURS}
                                                    for code in trained.values() if code]),
                             unrecorded=[build for build, code in trained.items() if code is None])
    atomic_write(REPORT.with_suffix(".md"), (markdown(report) + "\n\n" + provenance.footer(made)).encode())
    refresh(REPORT.with_suffix(".md"))
    print(markdown(report))


def main(argv=None):
    from edgecnn.study.provenance import invoked

    parser = argparse.ArgumentParser(prog="python -m edgecnn.study.precision", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS))
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args(argv)
    try:
        bad = [m for m in args.modes if m not in MODES]
        if bad:
            raise UserError(f"--modes: {bad[0]} is not a training policy measured here; give {' or '.join(MODES)} "
                            f"(XLA is off on the CPU for its speed alone: reports/cpu_training*.md).")
        write(run(args.models, args.modes, args.seeds), invoked("edgecnn.study.precision", argv))
    except UserError as e:
        print(f"cpu-precision: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
