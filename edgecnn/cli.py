"""edgecnn: the pipeline's commands. Make calls one command per artifact; each can be run by hand too."""

import json
import os
import sys
import warnings
from pathlib import Path

import click

from edgecnn import recipe as recipes
from edgecnn.artifacts import atomic_path, read_json
from edgecnn.errors import UserError


class Group(click.Group):
    """The one error boundary of every command: a UserError or an OSError (a path, a permission, a full
    disk) is one line on stderr and exit status 2; Ctrl-C one line and 130; anything else is a bug of
    edgecnn: one line saying so and where to report it, exit 1, the traceback only with --debug or
    EDGECNN_DEBUG=1."""

    def invoke(self, ctx):
        if ctx.params.get("debug"):
            os.environ["EDGECNN_DEBUG"] = "1"          # for the commands make and the bench run in children
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"edgecnn: error: {e}", err=True)
            sys.exit(2)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            click.echo("\nedgecnn: interrupted; files already written are whole (each is written atomically), "
                       "and make rebuilds only what is missing.", err=True)
            sys.exit(130)
        except OSError as e:
            if os.environ.get("EDGECNN_DEBUG") == "1":
                raise
            path = e.filename2 or e.filename           # a rename's target, else the one path
            where = f"{path}: " if path else ""
            click.echo(f"edgecnn: error: {where}{e.strerror or e}; check the path, its permissions and the free "
                       f"disk space.", err=True)
            sys.exit(2)
        except Exception as e:                          # noqa: BLE001 - the boundary: a bug, said as one
            if os.environ.get("EDGECNN_DEBUG") == "1":
                raise
            first = (str(e).strip().splitlines() or [""])[0][:200]
            click.echo(f"edgecnn: internal error: {type(e).__name__}: {first}. This is a bug of edgecnn: rerun "
                       f"with --debug (edgecnn --debug COMMAND ...) for the traceback and report it with the "
                       f"command.", err=True)
            sys.exit(1)


def _recipe_arg(fn):
    return click.argument("recipe_path", metavar="RECIPE", type=click.Path(dir_okay=False))(fn)


@click.group(cls=Group)
@click.version_option(package_name="edgecnn")
@click.option("--debug", is_flag=True, help="print the traceback of an internal error (also EDGECNN_DEBUG=1)")
def main(debug):
    """From a recipe (recipes/NAME.yaml) to .tflite files under build/NAME/, measured."""


@main.command()
@_recipe_arg
def check(recipe_path):
    """Validate RECIPE and write build/NAME/recipe.json and the per-stage configs Make depends on.

    Also checks the data (class folders, at least two classes, the same classes for train and test) and the
    calibration images, and writes build/NAME/deps.mk: the files the recipe reads, so that Make checks the
    recipe again when one is added, removed or changed (the stage configs hold their fingerprints)."""
    recipe = recipes.load(recipe_path)
    from edgecnn.artifacts import atomic_write

    inputs = recipe.input_paths()
    from edgecnn.data.calibration import for_recipe

    for_recipe(recipe)
    if recipe["model"]["file"]:
        from edgecnn.data.datasets import data_files, selected_classes
        from edgecnn.keras_file import load_own

        names = data_files(recipe["dataset"])[0]
        load_own(recipe["model"]["file"], recipe["dataset"]["input_shape"],
                 len(selected_classes(recipe["dataset"], names)))
    changed = recipes.write_stage_configs(recipe)
    atomic_write(recipe.build_dir / "deps.mk", _deps(recipe, inputs).encode())
    atomic_write(recipe.build_dir / "recipe.json", (json.dumps(recipe.data, indent=2) + "\n").encode())
    from edgecnn.artifacts import record

    for path in [recipe.build_dir / "recipe.json", recipe.build_dir / "deps.mk",
                 *sorted((recipe.build_dir / "stages").glob("*.json"))]:
        record(recipe, path, None)
    click.echo(f"{recipe.path}: valid; stages changed: {', '.join(changed) or 'none'}")


def _deps(recipe, inputs):
    """Make rules: recipe.json depends on every file and folder the recipe reads (a folder's time changes when
    a file is added or removed); an empty rule for each, so a deleted one means 'check again', not an error.
    Starting weights and distillation teachers under build/ are Make targets themselves: model.keras
    depends on them."""
    def esc(path):
        return str(path).replace("$", "$$").replace(" ", "\\ ").replace("#", "\\#")

    build = [p for p in inputs["model"] if Path(p).parts[:1] == ("build",)]
    files = [p for section in inputs.values() for p in section if p not in build]
    folders = sorted({str(Path(p).parent) for p in files} | {str(Path(p).parent.parent) for p in files})
    from edgecnn.train_options import teachers

    for start in [recipe["model"]["weights"], *teachers(recipe["train"])]:     # starting weights, teachers
        if start and Path(start).parts[:1] == ("build",) and start not in build:
            build.append(start)
    target = recipe.build_dir / "recipe.json"
    lines = [f"# written by edgecnn check {recipe.path}: the files it reads"]
    lines += [f"{target}: {esc(p)}" for p in folders + files]
    # model.keras itself depends on the models it starts from or learns from: made first when missing
    # (through recipe.json a missing one, secondary like every target here, would not be), and a newer
    # one trains it again
    lines += [f"{recipe.build_dir / 'model.keras'}: {esc(p)}" for p in build]
    lines += [f"{esc(p)}:" for p in folders + files]
    return "\n".join(lines) + "\n"


@main.command()
@_recipe_arg
@click.option("--strategy", type=click.Choice(["auto", "mirrored", "multi-worker"]),
              help="override the recipe's train.strategy")
@click.option("--workers", type=click.IntRange(min=1), help="start N local workers on loopback (multi-worker)")
@click.option("--port", type=click.IntRange(min=1024, max=65535), default=23456, show_default=True,
              help="with --workers: the first of N consecutive ports")
def train(recipe_path, strategy, workers, port):
    """Train the recipe's model; writes build/NAME/model.keras and history.json. Resumes after a kill.
    One training a recipe at a time (build/NAME/.lock): a second run is refused."""
    from edgecnn.lock import held

    recipe = recipes.load(recipe_path)
    with held(recipe.build_dir, f"edgecnn train {recipe.path}"):
        _train(recipe, recipe_path, strategy, workers, port)


def _train(recipe, recipe_path, strategy, workers, port):
    if workers:
        from edgecnn.workers import launch

        restarts = launch(recipe_path, recipe.build_dir, workers, port)
        history = read_json(recipe.build_dir / "history.json")
        click.echo(f"{workers} workers trained {len(history)} epochs ({restarts} restart(s)): "
                   f"val accuracy {history[-1].get('val_accuracy', float('nan')):.4f}")
        return
    _make_weights(recipe)
    from edgecnn.bench.progress import bar
    from edgecnn.train import train as run

    try:
        _, history = run(recipe, strategy_name=strategy, progress=bar)
    except KeyboardInterrupt:
        history = recipe.build_dir / "checkpoints" / "history.json"
        epochs = len(read_json(history)) if history.is_file() else 0
        click.echo(f"\ninterrupted: {epochs} finished epoch(s) saved in {recipe.build_dir}/checkpoints; "
                   f"'edgecnn train {recipe.path}' (or make) resumes from there.", err=True)
        sys.exit(130)
    if not recipe["train"]["epochs"]:
        click.echo(f"wrote {recipe.build_dir / 'model.keras'}: the starting weights as they are (train.epochs: 0)")
        return
    if not history:             # a non-chief worker of a cluster: the chief reports
        return
    last = history[-1]
    accuracy = last.get("val_accuracy", last.get("val_predictions_accuracy", float("nan")))
    click.echo(f"trained {len(history)} epochs: val accuracy {accuracy:.4f}")


@main.command()
@_recipe_arg
def testset(recipe_path):
    """Write the test split at the model's input size to build/NAME/testset.npz (for edgecnn-bench --data)."""
    import io

    import numpy as np

    from edgecnn.artifacts import atomic_write, record
    from edgecnn.data.datasets import load_splits

    recipe = recipes.load(recipe_path)
    data = load_splits(recipe["dataset"], recipe["train"]["seed"])
    buf = io.BytesIO()
    from edgecnn.data.calibration import as_files_take

    x = as_files_take(recipe, data.x_test)
    np.savez_compressed(buf, x=x, y=data.y_test, class_names=np.array(data.class_names))
    out = recipe.build_dir / "testset.npz"
    atomic_write(out, buf.getvalue())
    record(recipe, out, "data")
    click.echo(f"wrote {out}: {len(data.y_test)} images of {x.shape[1:]}")


def _make_weights(recipe):
    """Starting weights that an earlier recipe makes (build/<r>/model.keras) are built first when missing."""
    weights = recipe["model"]["weights"]
    if weights and weights != "imagenet" and not Path(weights).exists() and Path(weights).parts[:1] == ("build",):
        _make([weights])
        recipe.forget_inputs()
        recipes.write_stage_configs(recipe)     # their fingerprint now: Make will not train this twice


def _load_source(recipe, source):
    """The Keras model behind a variant, or UserError saying which make target builds it."""
    path = recipe.build_dir / source.file
    if not path.is_file():
        raise UserError(f"{path} does not exist; run 'make {path}' first.")
    if source.kind == "qat":
        from edgecnn.compress.qat import load_qat

        return load_qat(path)
    from edgecnn.keras_file import load_trained

    return load_trained(path)


@main.command()
@_recipe_arg
@click.option("--variant", required=True, metavar="VARIANT",
              help="pruned-NN (NN % sparsity), clustered-K (K clusters), qat, or steps in that order: pruned-80-qat")
def compress(recipe_path, variant):
    """Prune, cluster or quantization-aware train a model under build/NAME/; writes VARIANT.keras/.h5 + .json.

    The last step of VARIANT is applied to the variant before it (model.keras for a single step):
    pruned-80-clustered-8 clusters pruned-80.keras keeping its zeros.

    The .json holds the fine-tuning history and what the step left: per-layer sparsity, distinct
    values, layers that stayed float, and whether XNNPACK's sparse path can run the graph.
    """
    from edgecnn.variants import parse_source

    recipe = recipes.load(recipe_path)
    source = parse_source(variant)
    if source.kind == "model":
        raise UserError("the trained model is built by 'edgecnn train'; compress makes pruned-NN, "
                        "clustered-K, qat or a chain of them such as pruned-80-qat.")
    model = _load_source(recipe, parse_source(source.parent))
    from edgecnn.artifacts import atomic_path, atomic_write, record
    from edgecnn.compress import prune as pruning

    info = {"variant": variant, "parent": source.parent}
    if source.kind == "pruned":
        result, info["history"] = pruning.prune(recipe, model, source.sparsity)
    elif source.kind == "clustered":
        from edgecnn.compress.cluster import cluster

        result, info["history"] = cluster(recipe, model, source.clusters, keep_zeros=source.percent > 0)
    else:
        from edgecnn.compress.qat import qat

        result, info["history"], info["stays_float"] = qat(recipe, model, keep_zeros=source.percent > 0)
        if info["stays_float"]:
            click.echo(f"{variant}: {len(info['stays_float'])} layer(s) tfmot cannot quantize stay float: "
                       f"{', '.join(info['stays_float'])}")
    rows = pruning.sparsity_report(result)
    info["layers"] = rows
    info["sparse_path"], info["sparse_path_reason"] = pruning.sparse_path(result)
    out = recipe.build_dir / source.file
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # HDF5 is "legacy", but QAT models need it
        result.save(tmp)
    report = recipe.build_dir / f"{variant}.json"
    atomic_write(report, (json.dumps(info, indent=1) + "\n").encode())
    for path in (out, report):
        record(recipe, path, source.stage)
    val = info["history"][-1].get("val_accuracy", float("nan"))
    click.echo(f"wrote {out}: val accuracy {val:.4f}, {pruning.overall_sparsity(rows):.1%} of kernel weights zero")


@main.command()
@_recipe_arg
@click.option("--variant", required=True, metavar="VARIANT",
              help="FORMAT or SOURCE-FORMAT: int8, fp16, dynamic, int16x8, pruned-80-int8, qat-int8, ...")
def convert(recipe_path, variant):
    """Convert a Keras model under build/NAME/ to build/NAME/VARIANT.tflite (batch-1 signature).

    FORMAT is fp32, fp16, dynamic, int8 or int16x8; SOURCE (default: the trained model) is pruned-NN,
    clustered-K, qat or a chain of them (pruned-80-qat). Pruned fp32/fp16 files store their zeros sparse.
    """
    from edgecnn.variants import parse_tflite

    recipe = recipes.load(recipe_path)
    source, fmt = parse_tflite(variant)
    model = _load_source(recipe, source)
    from edgecnn import convert as conv

    model, unfolded = conv.prepare(model, recipe["convert"]["rgb_input"], recipe["convert"]["fold_input"],
                                   grouped=recipe["convert"]["grouped_conv"])
    from edgecnn.artifacts import atomic_write, record

    from edgecnn.data.calibration import for_recipe

    calibration = for_recipe(recipe) if fmt in conv.CALIBRATED else None
    keep = _keep_float(recipe, model, calibration) if fmt == "int8" and source.kind != "qat" else []
    import time

    started = time.monotonic()
    blob = conv.convert(model, fmt, calibration, recipe["convert"]["int8_io"], sparse=source.stored_sparse(fmt), keep_float=keep)
    out = recipe.build_dir / f"{variant}.tflite"
    atomic_write(out, blob)
    record(recipe, out, fmt)
    click.echo(f"wrote {out}: {len(blob):,} bytes in {time.monotonic() - started:.1f} s"
               + (f" ({len(keep)} tensors kept float)" if keep else "")
               + (f"; input scaling left unfolded: {unfolded}" if unfolded else ""))


def _keep_float(recipe, model, calibration):
    """Debugger tensor names to leave float: the recipe's named layers and its N worst."""
    cfg = recipe["quantize"]
    if not cfg["keep_float"] and not cfg["keep_worst"]:
        return []
    from edgecnn.compress.debug import layer_errors, tensors_for
    from edgecnn.convert import configure

    rows = layer_errors(configure(model, "int8", calibration), calibration)
    named = tensors_for(rows, cfg["keep_float"]) if cfg["keep_float"] else []
    return sorted(set(named) | {row["tensor_name"] for row in rows[:cfg["keep_worst"]]})


@main.command("quant-report")
@_recipe_arg
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="rows to print")
def quant_report(recipe_path, top):
    """Per-layer int8 quantization error of build/NAME/model.keras (writes build/NAME/quant_errors.csv).

    The error is RMSE / scale from TFLite's quantization debugger; about 0.3 is rounding alone. Put
    the worst layers in quantize.keep_float (or set quantize.keep_worst) to leave them float.
    """
    from edgecnn.compress.debug import layer_errors, layer_of, write_report
    from edgecnn.convert import configure
    from edgecnn.variants import parse_source

    recipe = recipes.load(recipe_path)
    model = _load_source(recipe, parse_source("model"))
    from edgecnn.convert import prepare

    model, _ = prepare(model, recipe["convert"]["rgb_input"], recipe["convert"]["fold_input"],
                       grouped=recipe["convert"]["grouped_conv"])
    from edgecnn.data.calibration import for_recipe

    calibration = for_recipe(recipe)
    rows = layer_errors(configure(model, "int8", calibration), calibration)
    out = recipe.build_dir / "quant_errors.csv"
    write_report(rows, out)
    from edgecnn.artifacts import record

    record(recipe, out, "int8")
    click.echo(f"wrote {out}; worst {min(top, len(rows))} of {len(rows)} quantized tensors (RMSE/scale):")
    for row in rows[:top]:
        click.echo(f"  {row['rmse/scale']:8.3f}  {row['op_name']:<18} {', '.join(sorted(layer_of(row['tensor_name'])))}")


@main.command()
@_recipe_arg
def bench(recipe_path):
    """Benchmark build/NAME/fp32.tflite and int8.tflite interleaved, with accuracy on the test set.

    The benchmark runs in a process of its own that never imports TensorFlow, as it would on a device.
    """
    from edgecnn.artifacts import record

    recipe = recipes.load(recipe_path)
    out = recipe.build_dir
    _run_bench(recipe, [out / "fp32.tflite", out / "int8.tflite"], out / "bench.json")
    record(recipe, out / "bench.json", "bench")
    click.echo(f"wrote {out / 'bench.json'} (edgecnn report {recipe.path} prints it)")


@main.command()
@_recipe_arg
def tflm(recipe_path):
    """Run build/NAME/int8.tflite on TensorFlow Lite Micro's own interpreter: the tensor arena it needs and
    top-1 on the whole test set, next to LiteRT's on the same images (writes build/NAME/tflm.json).

    Like the benchmark, it runs in a process of its own that never imports TensorFlow.
    """
    import subprocess

    from edgecnn.artifacts import record

    recipe = recipes.load(recipe_path)
    out = recipe.build_dir
    path, report = out / "int8.tflite", out / "tflm.json"
    status = subprocess.call([sys.executable, "-m", "edgecnn.bench", str(path), "--runtime", "tflm",
                              "--data", str(out / "testset.npz"), "--json", str(report)])
    if status:
        sys.exit(status)
    record(recipe, report, "int8")


@main.command()
@_recipe_arg
@click.option("--budget", type=click.FloatRange(min=0, max=100), help="points of top-1 allowed below fp32 "
              "(default: the recipe's optimize.budget)")
def optimize(recipe_path, budget):
    """Measure every candidate variant and write the fastest within the budget as build/NAME/best.tflite.

    Candidates (optimize.candidates) are built through make first, so only missing or stale files are
    made; then all run interleaved in one edgecnn-bench process, on the whole test set. Writes
    best.tflite, optimize.json and optimize.md (the table of all candidates).
    """
    from edgecnn.artifacts import atomic_write, record
    from edgecnn.compress import choose as chooser
    from edgecnn.variants import parse_tflite

    recipe = recipes.load(recipe_path)
    cfg, out = recipe["optimize"], recipe.build_dir
    budget = cfg["budget"] if budget is None else budget
    variants = ["fp32"] + [v for v in cfg["candidates"] if v != "fp32"]
    _make([str(out / "fp32.tflite"), str(out / "testset.npz")])
    failed = _make_each([str(out / f"{v}.tflite") for v in variants[1:]])
    variants = [v for v in variants if str(out / f"{v}.tflite") not in failed]
    files = [out / f"{v}.tflite" for v in variants]
    report_path = out / "optimize_bench.json"
    _run_bench(recipe, files, report_path)
    blobs = {v: f.read_bytes() for v, f in zip(variants, files)}
    candidates = chooser.candidates_from(read_json(report_path), variants, blobs)
    reference = candidates[0]
    best = chooser.choose(candidates, reference, budget, eligible=set(cfg["candidates"]))
    sparse_ok, why = chooser.sparse_kernels_on_this_cpu()
    notes = [f"XNNPACK sparse kernels: {'available' if sparse_ok else 'not used'} ({why})."]
    for variant in variants:
        source, fmt = parse_tflite(variant)
        info_path = out / f"{source.name}.json"
        if fmt == "fp32" and source.kind != "model" and info_path.is_file():
            info = read_json(info_path)
            notes.append(f"{variant}: the graph " + ("fits XNNPACK's sparse path" if info["sparse_path"] else
                         f"does not fit XNNPACK's sparse path (tfmot's check: {info['sparse_path_reason']})") + ".")
    unmade = {Path(path).stem: why for path, why in failed.items()}
    text = (f"{recipe.name}: budget {budget:g} points of top-1 against fp32 "
            f"({100 * reference.top1:.2f} %); best: {best.variant}\n\n"
            + chooser.table(candidates, reference, budget, best, unmade) + "\n\n" + "\n".join(notes) + "\n")
    atomic_write(out / "best.tflite", blobs[best.variant])
    summary = {"budget": budget, "best": best.variant, "reference": "fp32", "notes": notes,
               "candidates": [vars(c) for c in candidates], "not_made": unmade}
    atomic_write(out / "optimize.json", (json.dumps(summary, indent=1) + "\n").encode())
    atomic_write(out / "optimize.md", text.encode())
    for name in ("best.tflite", "optimize.json", "optimize.md", "optimize_bench.json"):
        record(recipe, out / name, "optimize")
    click.echo(text)


def _run_bench(recipe, files, json_path):
    """edgecnn-bench over `files` interleaved, with accuracy on testset.npz, in a process without TensorFlow."""
    import subprocess

    cfg = recipe["bench"]
    argv = [*map(str, files), "--data", str(recipe.build_dir / "testset.npz"), "--threads", str(cfg["threads"]),
            "--runs", str(cfg["runs"]), "--warmup", str(cfg["warmup"]), "--json", str(json_path), "--quiet"]
    if cfg["test_samples"]:
        argv += ["--samples", str(cfg["test_samples"])]
    status = subprocess.call([sys.executable, "-m", "edgecnn.bench", *argv])
    if status:
        sys.exit(status)


def _make_each(targets):
    """Make every target that can be made (make -k, its output passed on); {target: the line that says why}
    for each that could not be."""
    import re
    import subprocess

    if not Path("Makefile").is_file():
        return {t: "it does not exist and there is no Makefile here to build it" for t in targets
                if not Path(t).is_file()}
    venv = Path(sys.prefix)   # this interpreter's environment is set up: make must not redo it
    proc = subprocess.Popen(["make", "--no-print-directory", "-k", f"VENV={venv}", "-o", f"{venv}/.installed", *targets],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        click.echo(line, nl=False)
        lines.append(line.rstrip())
    proc.wait()
    failed, said, last = {}, "", ""
    for line in lines:
        broke = re.match(r"make(\[\d+\])?: \*\*\* \[[^\]]*?:\d+: (.+?)\] Error", line)
        skipped = re.match(r"make(\[\d+\])?: Target '(.+?)' not remade because of errors", line)
        if broke:
            last = failed[broke.group(2)] = said or f"make could not build {broke.group(2)}"
            said = ""
        elif skipped:
            failed.setdefault(skipped.group(2), last or f"make could not build {skipped.group(2)}")
        elif line.strip() and not line.startswith(("make", "INFO:", "WARNING:", "W0000", "I0000", "E0000")):
            if "error" in line.lower() or not said:
                said = line.strip()[:300]
    return {t: failed.get(t, last or "make could not build it") for t in targets
            if t in failed or not Path(t).is_file()}


def _make(targets):
    """Build `targets` with the project's Makefile (exactly the missing or stale work); UserError naming the
    first that could not be built and why."""
    failed = _make_each(targets)
    if failed:
        target, why = next(iter(failed.items()))
        raise UserError(f"{target} could not be built ({why.rstrip('.')}); see the output above, or run edgecnn "
                        f"in the project folder.")


@main.command()
@click.option("--study", default="compare", show_default=True,
              help="recipes/<STUDY>_<model>.yaml: compare (the full budget), quick (QUICK=1) or long (3 epochs)")
@click.option("--build", "build_root", default="build", show_default=True, type=click.Path(file_okay=False))
@click.option("--out", default="reports", show_default=True, type=click.Path(file_okay=False))
def compare(study, build_root, out):
    """Every model of the study in one table and plot: reports/STUDY.md, .csv, .png (make compare)."""
    from edgecnn.study.compare import compare as run

    click.echo(run(study, build_root, out))


@main.command()
@click.argument("model_path", metavar="FILE.tflite", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["c", "android", "ios"]), required=True,
              help="c: model_data.h/.cc; android: assets/ with labels and a JSON description; ios: bundle resources")
@click.option("--out", required=True, type=click.Path(), help="an existing folder of the app")
@click.option("--name", help="array name (c, default g_model) or file name (android/ios, default model)")
@click.option("--force", is_flag=True, help="overwrite files that exist")
@click.option("--max-bytes", type=click.IntRange(min=1), help="fail when the model is larger (a flash budget)")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False),
              help="one label a line (default: the recipe's, for files under build/)")
@click.option("--mean", type=float, default=0.0, show_default=True, help="input normalization written to the JSON")
@click.option("--std", type=float, default=1.0, show_default=True, help="input normalization written to the JSON")
@click.option("--no-metadata", is_flag=True, help="android/ios: ship the file's bytes as they are, without "
              "embedding name, labels and normalization as TFLite metadata")
@click.option("--max-arena", type=click.IntRange(min=1), help="c: fail when kTensorArenaSize is larger (a RAM budget)")
@click.option("--arena-margin", type=click.FloatRange(min=0, max=10), help="c: fraction added to the smallest "
              "arena TFLite Micro ran the file in (default 0.1)")
@click.option("--recipe", "recipe_path", type=click.Path(dir_okay=False),
              help="the recipe the file belongs to: its manifest lists what is written under its build "
                   "folder, and c takes --max-bytes, --max-arena and --arena-margin from its export section")
def export(model_path, fmt, out, name, force, max_bytes, labels_path, mean, std, no_metadata, max_arena,
           arena_margin, recipe_path):
    """Embed FILE.tflite in an app: a C/C++ array for microcontrollers, or Android/iOS resources.

    c writes model_data.h/.cc and model_runtime.h: kTensorArenaSize and a MicroMutableOpResolver with exactly
    the model's operators, both measured on TensorFlow Lite Micro's own interpreter (a file it cannot run
    is refused)."""
    from edgecnn.export.formats import export as run

    budgets_from = recipe = None
    if recipe_path:
        recipe = recipes.load(recipe_path)
    if recipe and fmt == "c":                   # a microcontroller's budgets; an app's files are the app's
        budgets = recipe["export"]
        budgets_from = f"export section of {recipe_path}"
        max_bytes = budgets["max_flash"] if max_bytes is None else max_bytes
        max_arena = budgets["max_arena"] if max_arena is None else max_arena
        arena_margin = budgets["arena_margin"] if arena_margin is None else arena_margin
    written, note = run(model_path, fmt, out, name, force, max_bytes, labels_path, mean, std, not no_metadata,
                        max_arena, arena_margin, budgets_from)
    for path in written:
        click.echo(f"wrote {path}")
    if recipe:
        from edgecnn.artifacts import record

        inside = [p for p in map(Path, written) if recipe.build_dir.resolve() in p.resolve().parents]
        for path in inside:
            record(recipe, path, "export")
    click.echo(note)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("model_path", metavar="FILE.tflite", type=click.Path(dir_okay=False))
@click.argument("images", nargs=-1, required=True, metavar="IMAGE_OR_FOLDER...")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="classes shown per image")
@click.option("--fit", type=click.Choice(["auto", "pad", "resize"]),
              help="how images meet the input (default: the recipe's dataset.fit for files under build/, else auto: "
                   "pad what fits, resize what does not)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def predict(model_path, images, top, fit, as_json):
    """The top classes of each image under FILE.tflite, with label names (from the file's metadata, else
    labels.txt beside it). TensorFlow-free, like edgecnn-bench: python -m edgecnn.bench.predict on a device."""
    from edgecnn.bench.labelled import DataError
    from edgecnn.bench.model_file import ModelFileError
    from edgecnn.bench.predict import run
    from edgecnn.bench.runtime import RuntimeMissing

    argv = [model_path, *images, "--top", str(top)] + (["--fit", fit] if fit else []) + (["--json"] if as_json else [])
    try:
        run(argv)
    except (DataError, ModelFileError, RuntimeMissing) as e:
        raise UserError(str(e)) from None


@main.command("app-check")
@click.argument("paths", nargs=-1, metavar="[FILE.tflite | FOLDER]...")
@click.option("--python", "python", default=".app-venv/bin/python", show_default=True,
              help="the Python of the Task Library's env (make app-check builds it)")
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="the first N images of each file's testset.npz")
def app_check(paths, python, samples):
    """Classify through the TFLite Task Library (ImageClassifier) as an Android app would: every built
    best.tflite/int8.tflite (default: under build/) exported to a bundle, top-1 against edgecnn-bench's on the
    same images. 1-channel files are skipped in folders and refused when named."""
    from edgecnn.export.app_check import run

    status = run(list(paths) or ["build"], python, samples, echo=click.echo)
    sys.exit(status)


@main.command()
@click.argument("model_path", metavar="FILE.tflite", type=click.Path(dir_okay=False))
@click.option("--gpu", is_flag=True, help="also run TensorFlow's GPU-delegate compatibility analyzer (slow)")
@click.option("--mcu", is_flag=True, help="also run it on TensorFlow Lite Micro: the operators it lacks, the arena "
              "it recorded and the smallest arena that runs (child-process probes)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
def inspect(model_path, gpu, mcu, as_json):
    """What is inside FILE.tflite: inputs, outputs, ops, flash against RAM (tensor arena), metadata."""
    from dataclasses import asdict

    from edgecnn.export.contents import read, render

    contents = read(model_path)
    verdict = micro = refusal = None
    if gpu:
        from edgecnn.gpu_compat import gpu_compatibility

        verdict = gpu_compatibility(Path(model_path).read_bytes())
    if mcu:
        from edgecnn.export.micro import measure

        try:
            micro = measure(model_path)
        except UserError as e:
            refusal = e
    if as_json:
        out = {**asdict(contents), "operators": dict(contents.operators.most_common())}
        if verdict is not None:
            out["gpu"] = {"compatible": verdict[0], "reasons": verdict[1]}
        if micro is not None:
            out["tflm"] = {**asdict(micro.arena), "arena_constant": micro.arena_constant,
                           "margin": micro.margin, "version": micro.tflm_version, "resolver": micro.methods}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(render(contents, verdict, micro), nl=False)
    if refusal is not None:
        raise refusal


@main.command()
@click.argument("model_path", metavar="FILE.tflite", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="the file to write (not FILE itself)")
@click.option("--name", help="default: the stem of --out")
@click.option("--version", "model_version", default="", help="the model's version")
@click.option("--description", default="")
@click.option("--author", default="")
@click.option("--license", "license_", default="")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False),
              help="one label a line (default: labels.txt beside FILE, when there is one)")
@click.option("--mean", type=float, default=0.0, show_default=True, help="input normalization")
@click.option("--std", type=float, default=1.0, show_default=True, help="input normalization")
@click.option("--force", is_flag=True, help="overwrite --out if it exists")
def metadata(model_path, out, name, model_version, description, author, license_, labels_path, mean, std, force):
    """Write FILE.tflite with TFLite metadata (name, version, labels, normalization) to --out."""
    from edgecnn.export.formats import with_metadata

    written = with_metadata(model_path, out, name, model_version, description, author, license_, labels_path,
                            mean, std, force)
    click.echo(f"wrote {written}: graph and weights as in {model_path}, metadata added (edgecnn inspect shows it)")


@main.command("sample-images")
@click.option("--per-class", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), required=True)
def sample_images(per_class, out):
    """Write the first PER_CLASS Fashion-MNIST training images of each class as PNGs (calibration sets)."""
    from pathlib import Path

    from PIL import Image

    from edgecnn.data import fashion_mnist

    (x, y), _ = fashion_mnist.load()
    for label, name in enumerate(fashion_mnist.CLASS_NAMES):
        folder = Path(out) / f"{label}_{name.replace('/', '-').replace(' ', '_').lower()}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in [int(i) for i in (y == label).nonzero()[0][:per_class]]:
            with atomic_path(folder / f"train_{index:05d}.png") as tmp:
                Image.fromarray(x[index, :, :, 0], mode="L").save(tmp, format="PNG", optimize=True)
    click.echo(f"wrote {per_class} images per class under {out}")


@main.command()
@_recipe_arg
def report(recipe_path):
    """Print build/NAME/bench.json as a table: fp32 against int8, with ratios."""
    from edgecnn.bench.table import render

    recipe = recipes.load(recipe_path)
    path = recipe.build_dir / "bench.json"
    if not path.is_file():
        raise UserError(f"{path} does not exist; run 'make {path}' first.")
    rgb = " (the files take RGB: grey computed inside)" if recipe["convert"]["rgb_input"] else ""
    click.echo(f"{recipe.name}: {recipe['model']['name']} {recipe['model']['options']} on "
               f"{recipe['dataset']['name']} {'x'.join(map(str, recipe['dataset']['input_shape']))}{rgb}")
    click.echo(render(read_json(path)))


def _shape(text):
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1 or dims[2] not in (1, 3):
        raise click.BadParameter(f"expected HxWxC with 1 or 3 channels, such as 32x32x1, got '{text}'")
    return dims


@main.command()
@click.argument("pattern", default="*")
@click.option("--input", "input_shape", callback=lambda c, p, v: v and _shape(v),
              help="build at HxWxC (default: each model's reference input)")
@click.option("--classes", type=click.IntRange(min=2), help="class count (default: the reference's)")
@click.option("--gpu", is_flag=True, help="convert each to fp16 and check GPU-delegate compatibility (slow)")
def models(pattern, input_shape, classes, gpu):
    """Table of the registered models (matching a wildcard PATTERN): params, MACs, input, GPU delegate."""
    from edgecnn.zoo import build_model, entry, list_models
    from edgecnn.zoo.macs import count_macs

    names = list_models(pattern)
    if not names:
        raise UserError(f"no model matches '{pattern}'; known: {', '.join(list_models())}.")
    rows = [("model", "family", "role", "params", "MACs", "input", "classes") + (("GPU delegate",) if gpu else ())]
    for name in names:
        e = entry(name)
        shape, n = input_shape or e.reference_input, classes or e.reference_classes
        model = build_model(name, shape, n)
        row = (name, e.family, e.role, f"{model.count_params():,}", _si(count_macs(model)), "x".join(map(str, shape)),
               str(n))
        if gpu:
            from edgecnn.convert import to_fp16
            from edgecnn.gpu_compat import gpu_compatibility

            ok, reasons = gpu_compatibility(to_fp16(model))
            row += ("yes" if ok else "no: " + "; ".join(reasons),)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.rjust(w) if c[:1].isdigit() else c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if len(names) == 1:
        click.echo(_model_options(names[0]))


def _model_options(name):
    """A model's options for recipes (model.options), with defaults, and whether ImageNet weights exist."""
    import inspect

    from edgecnn.zoo import builder_options, get_builder
    from edgecnn.zoo.pretrained import supports_imagenet

    doc = inspect.getdoc(get_builder(name)) or ""
    lines = ["", doc, "", "model.options (default):"]
    lines += [f"  {key}: {'null' if value is None else json.dumps(value)}" for key, value in builder_options(name).items()]
    lines.append("model.weights: " + ("imagenet (Keras' ImageNet weights) or the path of a .keras/.h5 file"
                                      if supports_imagenet(name) else "the path of a .keras/.h5 file (Keras publishes "
                                                                       "no ImageNet weights for this model)"))
    return "\n".join(lines)


def _si(value):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return str(value)
