"""edgecnn: the pipeline's commands. Make calls one command per artifact; each can be run by hand too.

This module parses and calls: each command's work lives in the stage module it names (edgecnn/<stage>/), and
the Group below is the one place errors become messages and exit statuses."""

import os
import sys
from pathlib import Path

import click

from edgecnn import recipe as recipes
from edgecnn.errors import ChildFailed, Interrupted, UserError


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
        except ChildFailed as e:                        # the child said why
            sys.exit(e.status)
        except Interrupted as e:
            click.echo(str(e), err=True)
            sys.exit(130)
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
    from edgecnn.check import check as run

    recipe = recipes.load(recipe_path)
    changed = run(recipe)
    click.echo(f"{recipe.path}: valid; stages changed: {', '.join(changed) or 'none'}")


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
    from edgecnn.bench.progress import bar
    from edgecnn.train.stage import train as run

    said = run(recipes.load(recipe_path), recipe_path, strategy, workers, port, progress=bar)
    if said:
        click.echo(said)


@main.command()
@_recipe_arg
def testset(recipe_path):
    """Write the test split at the model's input size to build/NAME/testset.npz (for edgecnn-bench --data)."""
    from edgecnn.data.testset import write

    click.echo(write(recipes.load(recipe_path)))


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
    from edgecnn.compress.stage import compress as run

    for line in run(recipes.load(recipe_path), variant):
        click.echo(line)


@main.command()
@_recipe_arg
@click.option("--variant", required=True, metavar="VARIANT",
              help="FORMAT or SOURCE-FORMAT: int8, fp16, dynamic, int16x8, pruned-80-int8, qat-int8, ...")
def convert(recipe_path, variant):
    """Convert a Keras model under build/NAME/ to build/NAME/VARIANT.tflite (batch-1 signature).

    FORMAT is fp32, fp16, dynamic, int8 or int16x8; SOURCE (default: the trained model) is pruned-NN,
    clustered-K, qat or a chain of them (pruned-80-qat). Pruned fp32/fp16 files store their zeros sparse.
    """
    from edgecnn.convert.stage import convert as run

    click.echo(run(recipes.load(recipe_path), variant))


@main.command("quant-report")
@_recipe_arg
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="rows to print")
def quant_report(recipe_path, top):
    """Per-layer int8 quantization error of build/NAME/model.keras (writes build/NAME/quant_errors.csv).

    The error is RMSE / scale from TFLite's quantization debugger; about 0.3 is rounding alone. Put
    the worst layers in quantize.keep_float (or set quantize.keep_worst) to leave them float.
    """
    from edgecnn.convert.stage import quant_report as run

    for line in run(recipes.load(recipe_path), top):
        click.echo(line)


@main.command()
@_recipe_arg
def bench(recipe_path):
    """Benchmark build/NAME/fp32.tflite and int8.tflite interleaved, with accuracy on the test set.

    The benchmark runs in a process of its own that never imports TensorFlow, as it would on a device.
    """
    from edgecnn.measure import bench as run

    click.echo(run(recipes.load(recipe_path)))


@main.command()
@_recipe_arg
def tflm(recipe_path):
    """Run build/NAME/int8.tflite on TensorFlow Lite Micro's own interpreter: the tensor arena it needs and
    top-1 on the whole test set, next to LiteRT's on the same images (writes build/NAME/tflm.json).

    Like the benchmark, it runs in a process of its own that never imports TensorFlow.
    """
    from edgecnn.measure import tflm as run

    run(recipes.load(recipe_path))


@main.command()
@_recipe_arg
@click.option("--budget", type=click.FloatRange(min=0, max=100), help="points of top-1 allowed below fp32 "
              "(default: the recipe's optimize.budget)")
@click.option("--remote", metavar="[USER@]HOST[:PORT]", help="measure the candidates on this machine over ssh and "
              "choose by its latency (default: the recipe's bench.remote, else here)")
def optimize(recipe_path, budget, remote):
    """Measure every candidate variant and write the fastest within the budget as build/NAME/best.tflite.

    Candidates (optimize.candidates) are built through make first, so only missing or stale files are
    made; then all run interleaved in one edgecnn-bench process, on the whole test set. Writes
    best.tflite, optimize.json and optimize.md (the table of all candidates).
    """
    from edgecnn.compress.optimize import optimize as run

    click.echo(run(recipes.load(recipe_path), budget, remote))


@main.command()
@click.option("--study", default="compare", show_default=True,
              help="recipes/<STUDY>_<model>.yaml: compare (the full budget), quick (QUICK=1) or long (3 epochs)")
@click.option("--build", "build_root", default="build", show_default=True, type=click.Path(file_okay=False))
@click.option("--out", default="reports", show_default=True, type=click.Path(file_okay=False))
def compare(study, build_root, out):
    """The study's table and plot from its rows, reports/STUDY/<model>.json (made first for complete builds
    without one): reports/STUDY.md, .csv, .png. make compare builds what the rows lack."""
    from edgecnn.study.compare import compare as run

    click.echo(run(study, build_root, out))


@main.command()
@click.argument("model_path", metavar="FILE.tflite", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["c", "android", "ios", "web"]), required=True,
              help="c: model_data.h/.cc; android: assets/ with labels and a JSON description; ios: bundle resources; "
                   "web: a static page running the file through LiteRT.js")
@click.option("--out", required=True, type=click.Path(), help="the app's folder (created when missing)")
@click.option("--name", help="array name (c, default g_model), file name (android/ios, default model) or the page's "
              "title (web, default the file's name)")
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
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="web: classes the page shows")
def export(model_path, fmt, out, name, force, max_bytes, labels_path, mean, std, no_metadata, max_arena,
           arena_margin, recipe_path, top):
    """Embed FILE.tflite in an app: a C/C++ array for microcontrollers, or Android/iOS resources.

    c writes model_data.h/.cc and model_runtime.h: kTensorArenaSize and a MicroMutableOpResolver with exactly
    the model's operators, both measured on TensorFlow Lite Micro's own interpreter (a file it cannot run
    is refused)."""
    from edgecnn.export.stage import export as run

    written, note = run(model_path, fmt, out, name, force, max_bytes, labels_path, mean, std, not no_metadata,
                        max_arena, arena_margin, recipe_path, top)
    for path in written:
        click.echo(f"wrote {path}")
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
@click.option("--mediapipe-python", default=".mediapipe-venv/bin/python", show_default=True,
              help="the Python of MediaPipe Tasks' env (make app-check builds it)")
@click.option("--runtime", "runtimes", type=click.Choice(["task-library", "mediapipe"]), multiple=True,
              help="check on this runtime only (repeatable; default both)")
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="the first N images of each file's testset.npz")
@click.option("--report", metavar="BASE", help="also write BASE.md and BASE.json with what made them "
              "(reports/app_check: docs/apps.md includes it)")
def app_check(paths, python, mediapipe_python, runtimes, samples, report):
    """Classify as an app would, through the TFLite Task Library's and MediaPipe Tasks' ImageClassifier: every
    built best.tflite/int8.tflite (default: under build/) exported to an Android and an iOS bundle, top-1 against
    edgecnn-bench's on the same images. 1-channel files are skipped in folders and refused when named."""
    from edgecnn.study.app_report import check

    pythons = {"task-library": python, "mediapipe": mediapipe_python}
    pythons = {r: p for r, p in pythons.items() if r in (runtimes or pythons)}
    status = check(list(paths) or ["build"], pythons, samples, report, echo=click.echo)
    sys.exit(status)


@main.command()
@_recipe_arg
@click.option("--out", type=click.Path(file_okay=False), help="the folder for the PNG files (default: the build folder)")
def confusion(recipe_path, out):
    """A confusion matrix as a PNG for each file build/NAME/bench.json measured: confusion_<variant>.png, rows the
    true class, columns the predicted one (make writes them with bench.json)."""
    from edgecnn.study.confusion import for_bench

    click.echo("\n".join(f"wrote {path}" for path in for_bench(recipes.load(recipe_path), out and Path(out))))


@main.command("compare-files")
@click.argument("file_a", metavar="A.tflite", type=click.Path(dir_okay=False))
@click.argument("file_b", metavar="B.tflite", type=click.Path(dir_okay=False))
@click.option("--data", required=True, type=click.Path(), help="labelled set: .npz (x, y, class_names) or a folder "
              "of class folders, at the files' input size (build/<r>/testset.npz)")
@click.option("--samples", type=click.IntRange(min=1), help="the first N images only")
@click.option("--show", type=click.IntRange(min=0), default=20, show_default=True, help="changed images listed")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="every changed image, the counts per pair of "
              "classes and both confusion matrices")
@click.option("--png", type=click.Path(dir_okay=False), help="both files' confusion matrices, side by side")
def compare_files(file_a, file_b, data, samples, show, json_out, png):
    """The images A and B classify differently (int8 against fp32, say), with counts per pair of classes: the
    benchmark's own predictions, so the net count is the difference of edgecnn-bench's top-1 figures."""
    from edgecnn.study.confusion import compare_files as run

    click.echo(run(file_a, file_b, data, samples, show, json_out, png))


@main.command("web-check")
@click.argument("paths", nargs=-1, required=True, metavar="FILE.tflite...")
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="the first N images of each file's testset.npz")
@click.option("--port", type=click.IntRange(1024, 65435), default=8000, show_default=True,
              help="where the page is served on 127.0.0.1 (the next free port when it is busy)")
@click.option("--report", type=click.Path(dir_okay=False),
              help="also write REPORT.md/.json (with what made them) and REPORT.png, the page classifying a test image")
def web_check(paths, samples, port, report):
    """Each file's web page (edgecnn export --format web) in the system Chromium, headless, on WebAssembly and on
    WebGPU (SwiftShader where there is no GPU): top-1 within 0.2 points of edgecnn-bench on the same images."""
    from edgecnn.study.web_report import check

    sys.exit(check(paths, samples, port, report, echo=click.echo))


@main.command()
@click.argument("model_path", metavar="FILE.tflite", type=click.Path(dir_okay=False))
@click.option("--gpu", is_flag=True, help="also compile it for LiteRT's GPU accelerator: a GPU, else SwiftShader (which ops "
              "run there, not speed), else TensorFlow's analyzer, marked weak")
@click.option("--mcu", is_flag=True, help="also run it on TensorFlow Lite Micro: the operators it lacks, the arena "
              "it recorded and the smallest arena that runs (child-process probes)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
def inspect(model_path, gpu, mcu, as_json):
    """What is inside FILE.tflite: inputs, outputs, ops, flash against RAM (tensor arena), metadata."""
    from edgecnn.export.inspect import inspect as run

    text, refusal = run(model_path, gpu, mcu, as_json)
    click.echo(text, nl=False)
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
    from edgecnn.data.fashion_mnist import write_samples

    write_samples(per_class, out)
    click.echo(f"wrote {per_class} images per class under {out}")


@main.command()
@_recipe_arg
@click.option("--out", type=click.Path(dir_okay=False), help="also write the table as a report (such as "
              "reports/demo.md), with the record of what made it, and refresh the docs blocks that include it")
def report(recipe_path, out):
    """Print build/NAME/bench.json as a table: fp32 against int8, with ratios; exit 2 when the int8 file misses
    the recipe's targets (targets.int8_top1, targets.int8_drop)."""
    from edgecnn.study.bench_report import report as run

    table, missed = run(recipes.load(recipe_path), out and Path(out))
    click.echo(table)
    if missed:
        raise UserError(missed)


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
@click.option("--gpu", is_flag=True, help="convert each to fp16 and compile it for LiteRT's GPU accelerator (a GPU, "
              "else SwiftShader, else TensorFlow's analyzer, marked weak; slow)")
def models(pattern, input_shape, classes, gpu):
    """Table of the registered models (matching a wildcard PATTERN): params, MACs, input, GPU delegate."""
    from edgecnn.study.catalog import table

    click.echo(table(pattern, input_shape, classes, gpu))
