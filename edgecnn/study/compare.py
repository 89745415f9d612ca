"""`make compare`: every model of a study measured together, written as reports/<study>.md, .csv and .png.

A study is the recipes named <study>_<model> (compare_*: the full budget, quick_*: QUICK=1, long_*:
three epochs). Each recipe's `edgecnn optimize` has already measured its files' top-1 on the test set
(optimize.json). This adds what only a run over all models can give: one interleaved latency benchmark of every model's files
(A B C ... A B C ...), so the latencies compare across models on a noisy machine; and parameters and
MACs, counted on the zoo's Keras model.
"""

import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError
from edgecnn.study.provenance import cpu_name
from edgecnn.study.table import Row, markdown, reference_row, to_csv

VARIANTS = ("fp32", "fp16", "int8")      # every model's rows; its best variant is added when it is another
WITHIN_POINTS, FASTER, SMALLER = 1.5, 20, 50      # the headline: against the best baseline / VGG16


def make_command(study):
    return {"compare": "make compare", "quick": "make compare QUICK=1"}.get(study, f"make compare STUDY={study}")


@dataclass
class Build:
    folder: Path
    recipe: dict             # build/<r>/recipe.json
    best: str                # optimize's choice
    top1: dict               # variant -> top-1 measured by optimize on the test set

    @property
    def model(self):
        return self.recipe["model"]["name"]

    def variants(self):
        return [*VARIANTS, *([self.best] if self.best not in VARIANTS else [])]

    def file(self, variant):
        return self.folder / f"{variant}.tflite"


def find_builds(root, study):
    """The study's build folders, each with optimize.json; UserError saying which make target fills them."""
    folders = sorted(p.parent for p in Path(root).glob(f"{study}_*/recipe.json"))
    if not folders and not any(Path("recipes").glob(f"{study}_*.yaml")):
        raise UserError(f"there are no recipes/{study}_*.yaml: a study is the recipes named <study>_<model> "
                        f"(compare, or quick for QUICK=1).")
    if not folders:
        raise UserError(f"{root}/ has no {study}_* builds to compare; run `{make_command(study)}`, which builds "
                        f"them from recipes/{study}_*.yaml.")
    builds = []
    for folder in folders:
        summary = folder / "optimize.json"
        if not summary.is_file():
            raise UserError(f"{summary} is missing: every model of the study needs its best.tflite; run "
                            f"`make {folder}/best.tflite` or `{make_command(study)}`.")
        chosen = read_json(summary)
        build = Build(folder, read_json(folder / "recipe.json"), chosen["best"],
                      {c["variant"]: c["top1"] for c in chosen["candidates"]})
        for variant in build.variants():
            if variant not in build.top1 or not build.file(variant).is_file():
                raise UserError(f"{folder}: {variant}.tflite has no measured accuracy; add {variant} to "
                                f"optimize.candidates in recipes/{folder.name}.yaml and run `{make_command(study)}`.")
        builds.append(build)
    return builds


def _shared(builds, section):
    """A recipe section that must be the same in every build of the study (a fair comparison)."""
    first = builds[0].recipe[section]
    for b in builds[1:]:
        if b.recipe[section] != first:
            raise UserError(f"{b.folder.name} and {builds[0].folder.name} differ in their {section}: section; "
                            f"a study measures every model the same way (give them one base recipe).")
    return first


def bench_all(builds, json_path):
    """One edgecnn-bench run over every build's files, interleaved, in a process without TensorFlow."""
    cfg = _shared(builds, "bench")
    files = [str(b.file(v)) for b in builds for v in b.variants()]
    argv = [sys.executable, "-m", "edgecnn.bench", *files, "--threads", str(cfg["threads"]),
            "--runs", str(cfg["runs"]), "--warmup", str(cfg["warmup"]), "--json", str(json_path), "--quiet"]
    status = subprocess.call(argv)
    if status:
        raise UserError(f"the benchmark of the study's {len(files)} files failed (exit {status}); see above.")
    return read_json(json_path)


def size_of(build, classes):
    """(parameters, MACs) of the model the app runs, built from the zoo as train built it."""
    from edgecnn.zoo.macs import count_macs
    from edgecnn.zoo.registry import build_model, inference_model

    model = inference_model(build_model(build.model, build.recipe["dataset"]["input_shape"], classes,
                                        build.recipe["model"]["options"]))
    return model.count_params(), count_macs(model)


def rows_of(builds, report):
    from edgecnn.zoo.registry import entry

    measured = {m["path"]: m for m in report["models"]}
    rows = []
    for b in builds:
        fp32 = measured[str(b.file("fp32"))]
        params, macs = size_of(b, fp32["outputs"][0]["shape"][-1])
        for variant in b.variants():
            m = measured[str(b.file(variant))]
            rows.append(Row(b.model, variant, params, macs, m["bytes"], b.top1[variant], m["latency_ms"]["median"],
                            entry(b.model).role, variant == b.best))
    order = [*VARIANTS, "dynamic"]
    return sorted(rows, key=lambda r: (r.role != "baseline", r.model, order.index(r.variant) if r.variant in order
                                       else len(order)))


def headline(rows, reference):
    """The study's claim, computed: edge int8 or best files within WITHIN_POINTS of the most accurate baseline
    row while FASTER times faster and SMALLER times smaller than the reference (VGG16 fp32)."""
    baselines = [r for r in rows if r.role == "baseline"]
    if not baselines:
        raise UserError("the study has no baseline model to measure the edge models against.")
    top = max(baselines, key=lambda r: r.top1)
    lines = [f"Most accurate baseline file: {top.model} {top.variant}, {100 * top.top1:.2f} % top-1. "
             f"Edge int8/best files within {WITHIN_POINTS:g} points of it, at least {FASTER}x faster and "
             f"{SMALLER}x smaller than {reference.model} {reference.variant}:"]
    edge = [r for r in rows if r.role == "edge" and (r.variant == "int8" or r.best)]
    passing = 0
    for r in sorted(edge, key=lambda r: -r.top1):
        points = 100 * (top.top1 - r.top1)
        faster, smaller = reference.median_ms / r.median_ms, reference.bytes / r.bytes
        ok = points <= WITHIN_POINTS + 1e-9 and faster >= FASTER and smaller >= SMALLER
        passing += ok
        lines.append(f"- {'yes' if ok else 'no '} {r.model} {r.variant}: {-points:+.2f} points, {faster:.1f}x faster, "
                     f"{smaller:.1f}x smaller")
    lines.append(f"{passing} of {len(edge)} edge files meet all three.")
    return "\n".join(lines) + "\n", passing


def compare(study, root="build", out="reports"):
    """Measure the study and write reports/<study>.md, .csv, .png. Returns the markdown text."""
    from edgecnn.artifacts import atomic_write
    from edgecnn.study import provenance
    from edgecnn.study.include import refresh
    from edgecnn.study.plot import plot

    builds = find_builds(root, study)
    for section in ("dataset", "train", "calibration", "convert"):
        _shared(builds, section)
    with tempfile.TemporaryDirectory() as tmp:
        report = bench_all(builds, Path(tmp) / "bench.json")
    rows = rows_of(builds, report)
    reference = reference_row(rows)
    claim, _ = headline(rows, reference)
    train, data, bench = builds[0].recipe["train"], builds[0].recipe["dataset"], builds[0].recipe["bench"]
    runtime = report["runtime"]
    machine = (f"{cpu_name() or platform.processor()}, {report['machine']['cpus']} CPUs, "
               f"{report['machine']['platform']}")
    text = (f"# Study `{study}`: {len(builds)} models on {data['name']}\n\n"
            f"Made by `{make_command(study)}`. Training: {train['epochs']} epoch(s) on "
            f"{data['train_samples'] or 'all'} training images, batch {train['batch_size']}, {train['optimizer']} "
            f"at {train['learning_rate']:g} ({train['schedule']}), augmentation {train['augmentation'] or 'none'}. "
            f"Top-1 on {bench['test_samples'] or 'all'} test images (edgecnn optimize). Latency: one interleaved "
            f"edgecnn-bench run over all {len(report['models'])} files, {runtime['name']} {runtime['version']}, "
            f"threads: {report['threads']}, median of {bench['runs']} runs after {bench['warmup']} warm-up, on "
            f"{machine}. Params and MACs: the Keras model, counted by edgecnn.zoo. (best) marks the variant "
            f"`edgecnn optimize` chose (the fastest file within {builds[0].recipe['optimize']['budget']:g} point(s) of fp32's top-1).\n\n"
            + markdown(rows, reference) + "\n" + claim + f"\n![accuracy against latency]({study}.png)\n")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recipes = [Path("recipes") / f"{b.folder.name}.yaml" for b in builds]
    made = provenance.record(out / f"{study}.md", make_command(study), [r for r in recipes if r.is_file()],
                             provenance.PIPELINE)
    text += "\n" + provenance.footer(made)
    atomic_write(out / f"{study}.md", text.encode())
    atomic_write(out / f"{study}.csv", to_csv(rows, reference).encode())
    refresh(out / f"{study}.md")
    plot(rows, out / f"{study}.png", f"{study}: top-1 against latency ({runtime['name']}, "
                                      f"{report['threads']} threads, {cpu_name() or platform.machine()})")
    return text
