"""edgecnn: the pipeline's commands. Make calls one command per artifact; each can be run by hand too."""

import json
import sys

import click

from edgecnn import recipe as recipes
from edgecnn.errors import UserError


class Group(click.Group):
    """Turns a UserError anywhere below into one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"edgecnn: error: {e}", err=True)
            sys.exit(2)


def _recipe_arg(fn):
    return click.argument("recipe_path", metavar="RECIPE", type=click.Path(dir_okay=False))(fn)


@click.group(cls=Group)
@click.version_option(package_name="edgecnn")
def main():
    """From a recipe (recipes/NAME.yaml) to .tflite files under build/NAME/, measured."""


@main.command()
@_recipe_arg
def check(recipe_path):
    """Validate RECIPE and write build/NAME/recipe.json and the per-stage configs Make depends on."""
    recipe = recipes.load(recipe_path)
    from edgecnn.artifacts import atomic_write

    changed = recipes.write_stage_configs(recipe)
    atomic_write(recipe.build_dir / "recipe.json", (json.dumps(recipe.data, indent=2) + "\n").encode())
    click.echo(f"{recipe.path}: valid; stages changed: {', '.join(changed) or 'none'}")


@main.command()
@_recipe_arg
def train(recipe_path):
    """Train the recipe's model; writes build/NAME/model.keras and history.json. Resumes after a kill."""
    from edgecnn.train import train as run

    _, history = run(recipes.load(recipe_path))
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
    np.savez_compressed(buf, x=data.x_test, y=data.y_test, class_names=np.array(data.class_names))
    out = recipe.build_dir / "testset.npz"
    atomic_write(out, buf.getvalue())
    record(recipe, out, "data")
    click.echo(f"wrote {out}: {len(data.y_test)} images of {data.x_test.shape[1:]}")


@main.command()
@_recipe_arg
@click.option("--variant", type=click.Choice(["fp32", "fp16", "int8"]), required=True)
def convert(recipe_path, variant):
    """Convert build/NAME/model.keras to build/NAME/VARIANT.tflite (batch-1 signature)."""
    recipe = recipes.load(recipe_path)
    model_path = recipe.build_dir / "model.keras"
    if not model_path.is_file():
        raise UserError(f"{model_path} does not exist; run 'make {model_path}' first.")
    from edgecnn import convert as conv
    from edgecnn.artifacts import atomic_write, record
    from edgecnn.train import load_trained

    model = load_trained(model_path)
    if variant == "int8":
        from edgecnn.data.calibration import load_calibration

        cal = recipe["calibration"]
        images = load_calibration(cal["path"], recipe["dataset"]["input_shape"], cal["samples"],
                                  recipe["dataset"]["fit"])
        blob = conv.to_int8(model, images, recipe["convert"]["int8_io"])
    else:
        blob = {"fp32": conv.to_fp32, "fp16": conv.to_fp16}[variant](model)
    out = recipe.build_dir / f"{variant}.tflite"
    atomic_write(out, blob)
    record(recipe, out, variant)
    click.echo(f"wrote {out}: {len(blob):,} bytes")


@main.command()
@_recipe_arg
def bench(recipe_path):
    """Benchmark build/NAME/fp32.tflite and int8.tflite interleaved, with accuracy on the test set.

    The benchmark runs in a process of its own that never imports TensorFlow, as it would on a device.
    """
    import subprocess

    from edgecnn.artifacts import record

    recipe = recipes.load(recipe_path)
    out, cfg = recipe.build_dir, recipe["bench"]
    argv = [str(out / "fp32.tflite"), str(out / "int8.tflite"), "--data", str(out / "testset.npz"),
            "--threads", str(cfg["threads"]), "--runs", str(cfg["runs"]), "--warmup", str(cfg["warmup"]),
            "--json", str(out / "bench.json"), "--quiet"]
    if cfg["test_samples"]:
        argv += ["--samples", str(cfg["test_samples"])]
    status = subprocess.call([sys.executable, "-m", "edgecnn.bench", *argv])
    if status:
        sys.exit(status)
    record(recipe, out / "bench.json", "bench")
    click.echo(f"wrote {out / 'bench.json'} (edgecnn report {recipe.path} prints it)")


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
            Image.fromarray(x[index, :, :, 0], mode="L").save(folder / f"train_{index:05d}.png", optimize=True)
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
    click.echo(f"{recipe.name}: {recipe['model']['name']} {recipe['model']['options']} on "
               f"{recipe['dataset']['name']} {'x'.join(map(str, recipe['dataset']['input_shape']))}")
    click.echo(render(json.loads(path.read_text())))


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
            from edgecnn.gpu_check import gpu_compatibility

            ok, reasons = gpu_compatibility(to_fp16(model))
            row += ("yes" if ok else "no: " + "; ".join(reasons),)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.rjust(w) if c[:1].isdigit() else c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _si(value):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return str(value)
