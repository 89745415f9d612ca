"""`edgecnn compare`: a study's table, written as reports/<study>.md, .csv and .png from its rows.

A study is the recipes named <study>_<model> (compare_*: the full budget, quick_*: QUICK=1, long_*:
three epochs). Each recipe's `edgecnn optimize` has already measured its files' top-1 on the test set
(optimize.json). Each model's figures are kept as a row file, reports/<study>/<model>.json (study/rows.py), so
a study can be built over several runs (study/run.py). This command makes the rows of complete builds that have
none, in one interleaved latency benchmark (A B C ... A B C ...) with the files of every other row still in
build/, so the latencies compare across models on a noisy machine; parameters and MACs are counted on the zoo's
Keras model. The report says which rows' latencies came from other runs, each row's date, and which rows were
made by older code.
"""

import json
import platform
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError
from edgecnn.study import provenance, rows
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


def find_builds(root, study, partial=False):
    """The study's build folders, each with optimize.json; UserError saying which make target fills them.
    partial: the complete ones only, none is no error (the study's rows may come from earlier runs)."""
    folders = sorted(p.parent for p in Path(root).glob(f"{study}_*/recipe.json"))
    if not folders and not any(Path("recipes").glob(f"{study}_*.yaml")):
        raise UserError(f"there are no recipes/{study}_*.yaml: a study is the recipes named <study>_<model> "
                        f"(compare, or quick for QUICK=1).")
    if partial:
        folders = [f for f in folders if (f / "optimize.json").is_file()]
    elif not folders:
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
    first = builds[0].recipe.get(section)
    for b in builds[1:]:
        if b.recipe.get(section) != first:
            raise UserError(f"{b.folder.name} and {builds[0].folder.name} differ in their {section}: section; "
                            f"a study measures every model the same way (give them one base recipe).")
    return first


# edgecnn-bench run as `python -m edgecnn.bench`, and then the files of the modules it loaded written out: the
# code that measured the files, for the rows' record
_RECORDING = ("import json, runpy, sys\n"
              "out = sys.argv.pop(1)\n"
              "try:\n"
              "    runpy.run_module('edgecnn.bench', run_name='__main__', alter_sys=True)\n"
              "finally:\n"
              "    with open(out, 'w') as f:\n"
              "        json.dump([getattr(m, '__file__', None) for m in list(sys.modules.values())], f)\n")


REPEATS = 2        # interleaved runs: each file's latency is the lower of its medians (interference only adds time)


def bench_all(builds, json_path, repeats=REPEATS):
    """`repeats` edgecnn-bench runs over every build's files, each interleaved, in processes without TensorFlow;
    the first run's report with each file's median the lowest of its runs' ("medians" keeps them all), and
    "modules": {module: digest} of the edgecnn code that ran in them. On 2 cores, one file in a run of dozens of
    2-thread interpreters now and then keeps a median several times its own for the whole run; a second run
    does not repeat it on the same file."""
    from edgecnn.sources import digests

    cfg = builds[0].recipe["bench"]
    files = [str(b.file(v)) for b in builds for v in b.variants()]
    loaded = Path(json_path).with_suffix(".modules.json")
    runs = []
    for _ in range(repeats):
        argv = [sys.executable, "-c", _RECORDING, str(loaded), *files, "--threads", str(cfg["threads"]),
                "--runs", str(cfg["runs"]), "--warmup", str(cfg["warmup"]), "--json", str(json_path), "--quiet"]
        status = subprocess.call(argv)
        if status:
            raise UserError(f"the benchmark of the study's {len(files)} files failed (exit {status}); see above.")
        runs.append(read_json(json_path))
    report = runs[0]
    for i, model in enumerate(report["models"]):
        medians = [run["models"][i]["latency_ms"]["median"] for run in runs]
        model["medians"], model["latency_ms"]["median"] = medians, min(medians)
    return {**report, "repeats": repeats, "modules": digests(p for p in read_json(loaded) if p)}


def size_of(recipe, classes):
    """(parameters, MACs) of the model the app runs, built from the zoo as train built it (recipe: a build's
    recipe.json)."""
    from edgecnn.zoo.macs import count_macs
    from edgecnn.zoo.registry import build_model, inference_model

    model = inference_model(build_model(recipe["model"]["name"], recipe["dataset"]["input_shape"], classes,
                                        recipe["model"]["options"]))
    return model.count_params(), count_macs(model)


def measure(build, measured):
    """The build's rows: its files' sizes and medians from the benchmark report, top-1 from optimize."""
    from edgecnn.zoo.registry import entry

    fp32 = measured[str(build.file("fp32"))]
    params, macs = size_of(build.recipe, fp32["outputs"][0]["shape"][-1])
    return [Row(build.model, v, params, macs, measured[str(build.file(v))]["bytes"], build.top1[v],
                measured[str(build.file(v))]["latency_ms"]["median"], entry(build.model).role, v == build.best)
            for v in build.variants()]


def ordered(rows):
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


def _span(values, fmt):
    return fmt.format(min(values)) if min(values) == max(values) else f"{fmt.format(min(values))}-{fmt.format(max(values))}"


def verdicts(rows):
    """What the table shows of int8 and fp16 against fp32, model by model, as sentences computed from it."""
    by = {(r.model, r.variant): r for r in rows}
    models = sorted({r.model for r in rows if (r.model, "fp32") in by})
    lines = []
    int8 = [(m, by[m, "int8"], by[m, "fp32"]) for m in models if (m, "int8") in by]
    if int8:
        drops = {m: 100 * (q.top1 - f.top1) for m, q, f in int8}
        far = [f"{m} ({d:+.2f})" for m, d in sorted(drops.items(), key=lambda kv: kv[1]) if d < -0.5]
        lines.append(f"- int8 against fp32, top-1: {min(drops.values()):+.2f} to {max(drops.values()):+.2f} points; "
                     f"{len(int8) - len(far)} of {len(int8)} models within 0.5 points"
                     + (f", not {', '.join(far)}." if far else "."))
        ratio = {m: q.median_ms / f.median_ms for m, q, f in int8}
        for word, test in (("faster (under 0.9x fp32's median)", lambda x: x < 0.9),
                           ("about as fast (0.9-1.1x)", lambda x: 0.9 <= x <= 1.1),
                           ("slower (over 1.1x)", lambda x: x > 1.1)):
            named = [f"{m} {x:.2f}x" for m, x in sorted(ratio.items(), key=lambda kv: kv[1]) if test(x)]
            if named:
                lines.append(f"- int8 {word} for {len(named)} of {len(int8)}: {', '.join(named)}.")
    fp16 = [(by[m, "fp16"], by[m, "fp32"]) for m in models if (m, "fp16") in by]
    if fp16:
        lines.append(f"- fp16 files: {_span([h.bytes / f.bytes for h, f in fp16], '{:.2f}')}x fp32's size at "
                     f"{_span([h.median_ms / f.median_ms for h, f in fp16], '{:.2f}')}x its median latency on this "
                     f"CPU (they are for the GPU delegate).")
    return "\n".join(lines) + "\n" if lines else ""


def measure_builds(study, root, out, warn, skip=()):
    """Rows for the study's complete builds that have none, one measured on other files, or a stale one while
    the build's files are as today's code and recipe make them (what measured it changed): one interleaved
    benchmark of those builds' files and of every current row's files still in build/ (so their latencies
    compare); returns (row files by model, {model: Row list from this run})."""
    builds = [b for b in find_builds(root, study, partial=True) if b.model not in skip]
    have = rows.load(study, out, warn)
    fresh = [b for b in builds if b.model not in have or not rows.up_to_date(have[b.model], b)
             or have[b.model]["stale"] and rows.build_current(b)]      # stale only in what measured it
    again = [b for b in builds if b not in fresh and rows.up_to_date(have[b.model], b)]
    for section in rows.SHARED if fresh else ():
        _shared(fresh, section)              # the builds made for this report agree, or the study is refused
    shown = ({s: fresh[0].recipe.get(s) for s in rows.SHARED} if fresh
             else settings(have.values()) if have else None)
    again = [b for b in again if have[b.model]["shared"] == shown]
    if not fresh and not again:
        return have, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        report = bench_all(fresh + again, Path(tmp) / "bench.json")
    measured = {m["path"]: m for m in report["models"]}
    now = {}
    for b in fresh:
        now[b.model] = measure(b, measured)
        written = rows.write(study, b, now[b.model], report["modules"], out)
        have[b.model] = {**written, "stale": provenance.changed_since(written)}
        have[b.model]["rows"] = now[b.model]
    for b in again:
        now[b.model] = [Row(**{**asdict(r), "median_ms": measured[str(b.file(r.variant))]["latency_ms"]["median"]})
                        for r in have[b.model]["rows"]]
    return have, now, [report]


def compare(study, root="build", out="reports", warn=None, skip=()):
    """Write reports/<study>.md, .csv, .png from the study's rows (reports/<study>/<model>.json), making the
    rows of builds that have none first (skip: models whose build folders are not to be read: a build that was
    stopped). Returns the markdown text."""
    from edgecnn.artifacts import atomic_write
    from edgecnn.study.include import refresh
    from edgecnn.study.plot import plot

    warn = warn or (lambda line: print(line, file=sys.stderr))
    have, now, runs = measure_builds(study, root, out, warn, skip)
    if not have:
        find_builds(root, study)                         # says which make target fills an empty build
    text, table = report_text(study, have, now, runs[0] if runs else None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    made = provenance.record(out / f"{study}.md", make_command(study), [], (),
                             code=provenance.merge(row["modules"] for row in have.values()),
                             unrecorded=[u for row in have.values() for u in row.get("unrecorded", [])],
                             recipe_digests={r: d for row in have.values() for r, d in row["recipes"].items()})
    text += "\n" + provenance.footer(made)
    reference = _reference(table)
    atomic_write(out / f"{study}.md", text.encode())
    atomic_write(out / f"{study}.csv", to_csv(table, reference or table[0]).encode())
    refresh(out / f"{study}.md")
    threads = next(iter(have.values()))["shared"]["bench"]["threads"]
    plot(table, out / f"{study}.png", f"{study}: top-1 against latency (LiteRT, {threads} threads, "
                                      f"{cpu_name() or platform.machine()})")
    return text


def _reference(table):
    try:
        return reference_row(table)
    except UserError:
        return None


def settings(rows):
    """The shared sections a report shows: those of most current rows (of most rows when none is current)."""
    rows = list(rows)
    pool = [r for r in rows if not r["stale"]] or rows
    counts = Counter(json.dumps(r["shared"], sort_keys=True) for r in pool)
    return json.loads(counts.most_common(1)[0][0])


def report_text(study, have, now, run):
    """The report's markdown and its table rows (latencies from this run where the files were in it). Rows made
    with other shared sections (an edit of the study's base since) are left out of the table and named."""
    shown = settings(have.values())
    apart = sorted(m for m, row in have.items() if row["shared"] != shown)
    have = {m: row for m, row in have.items() if m not in apart}
    first = next(iter(have.values()))
    table = ordered([r for model, row in have.items() for r in now.get(model, row["rows"])])
    train, data, bench = (first["shared"][s] for s in ("train", "dataset", "bench"))
    reference = _reference(table)
    stale = {m: row["stale"] for m, row in have.items() if row["stale"]}
    study_models = sorted(p.stem[len(study) + 1:] for p in Path("recipes").glob(f"{study}_*.yaml"))
    missing = [m for m in study_models if m not in have and m not in apart]
    if run and len(now) == len(have):
        latency = (f"{run.get('repeats', 1)} interleaved edgecnn-bench runs over all {len(run['models'])} files, "
                   f"{run['runtime']['name']} {run['runtime']['version']}, threads: {run['threads']}, each file's "
                   f"median of {bench['runs']} runs after {bench['warmup']} warm-up, the lower of its runs', on "
                   f"{cpu_name() or platform.processor()}, {run['machine']['cpus']} CPUs")
    else:
        latency = (f"each model's own interleaved edgecnn-bench run, threads: {bench['threads']}, median of "
                   f"{bench['runs']} runs after {bench['warmup']} warm-up"
                   + (f"; {', '.join(sorted(now))} in one run today" if now else "")
                   + " (the machine and date of each model's run are listed under the table; latencies of "
                     "different runs compare less well than within one)")
        cpus = Counter(row["cpu"] for row in have.values())
        if len(cpus) > 1:
            latency += ("; the rows come from " + " and ".join(f"{c} ({n} model{'s' * (n > 1)})"
                                                               for c, n in cpus.most_common())
                        + ", so a latency ratio between models measured on different CPUs (the vs vgg16 column) "
                          "compares the machines as well")
    text = (f"# Study `{study}`: {len(have)} of {len(study_models) or len(have)} models on {data['name']}\n\n"
            f"Made by `{make_command(study)}`. Training: {train['epochs']} epoch(s) on "
            f"{data['train_samples'] or 'all'} training images, batch {train['batch_size']}, {train['optimizer']} "
            f"at {train['learning_rate']:g} ({train['schedule']}), augmentation {train['augmentation'] or 'none'}. "
            f"Top-1 on {bench['test_samples'] or 'all'} test images (edgecnn optimize). Latency: {latency}. "
            f"Params and MACs: the Keras model, counted by edgecnn.zoo. (best) marks the variant `edgecnn optimize` "
            f"chose (the fastest file within {first['shared']['optimize']['budget']:g} point(s) of fp32's top-1).\n\n")
    if reference:
        text += markdown(table, reference) + "\n" + headline(table, reference)[0]
    else:
        text += (markdown(table, table[0]).replace("latency vs vgg16", f"latency vs {table[0].model}")
                 .replace("vgg16 / size", f"{table[0].model} / size")
                 + f"\nNo vgg16 fp32 row yet: the headline (against VGG16) is computed once its row is made.\n")
    said = verdicts(table)
    text += ("\nWhat the table shows, computed from it:\n\n" + said) if said else ""
    text += "\nEach model's row (reports/" + study + "/<model>.json: its figures, its files' digests and what made them):\n\n"
    for model, row in sorted(have.items()):
        mark = f"made by older code or recipe ({'; '.join(stale[model])})" if model in stale else "current"
        text += f"- {model}: {row['date']}, {row['cpu']} ({row['cores']} cores), fingerprint {row['fingerprint']}: {mark}\n"
    if apart:
        text += (f"\nLeft out of the table: {', '.join(apart)}, measured with other settings of the study's shared "
                 f"sections than the rows above (stale; the next `{make_command(study)}` makes them again).\n")
    if missing:
        text += (f"\nNot measured yet: {', '.join(missing)}. `{make_command(study)}` builds the models whose rows are "
                 f"missing or stale (BUDGET_MIN=N: as many as fit in N minutes).\n")
    return text + f"\n![accuracy against latency]({study}.png)\n", table
