import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _one_thread_per_worker():
    """`make test` runs three pytest-xdist workers on two cores (the Makefile's TEST_WORKERS): TensorFlow in each
    takes one thread for its ops (measured with two workers: 8 % less wall time than two threads each), and so do
    the commands the tests start (TensorFlow reads TF_NUM_INTRAOP_THREADS; measured on the whole suite: 4 % less
    wall time and 60 CPU-seconds less than TensorFlow's default of one thread a core). Their inter-op threads keep
    TensorFlow's default: a distributed training's collectives need two ops running at once."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    from edgecnn.tf import tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


if os.environ.get("PYTEST_XDIST_WORKER"):
    _one_thread_per_worker()
DEMO_RECIPE = ROOT / "recipes" / "fashion_mnist_mobilenet_v2.yaml"


def run_cli(*args, cwd=ROOT, module="edgecnn", check=False, env=None, timeout=900):
    """Run `python -m MODULE ARGS` as a user would; returns the CompletedProcess (text)."""
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def installed(target, what):
    """Make `target` in the checkout: an environment installed from a package registry (.device-venv, the ARM root).
    When it cannot be made here (offline, not root, a tool missing), the test is skipped with the sentence make
    printed; under CI=true, where every such test must run, it fails instead."""
    with open(ROOT / "Makefile") as makefile:          # one install at a time across pytest-xdist's workers
        fcntl.flock(makefile, fcntl.LOCK_EX)
        proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", target], cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        def ours(text):                                  # the recipe's sentence, not make's "*** Error 1"
            return last_line("\n".join(ln for ln in text.splitlines() if not ln.startswith(("make: ***", "make["))))

        said = f"{what} is not installed and cannot be installed here: {ours(proc.stderr) or ours(proc.stdout)}"
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(said)


def rewrite(blob, change):
    """The flatbuffer with `change(ModelT)` applied (the schema module ships with LiteRT)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(blob, 0))
    change(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# The deep and wide zoo models as smaller instances of the same graph, for the tests of what their operators and
# layer types go through (conversion, the input fold, QAT, pruning): fewer blocks, narrower layers, the same
# operators. Their default configurations are built in test_zoo (parameters, multiply-adds against the
# references) and trained, converted and measured by `make compare QUICK=1` (CI runs it on three models only).
SMALL = {"alexnet": {"fc_width": 256}, "zfnet": {"fc_width": 256}, "vgg16": {"fc_width": 256},
         "resnet50": {"blocks": [2, 1, 1, 1]}, "se_resnet50": {"blocks": [2, 1, 1, 1]},
         "wide_resnet50_2": {"width_factor": 1, "blocks": [2, 1, 1, 1]},
         "wide_resnet28_10": {"depth": 10, "width_factor": 2},
         "resnext50_32x4d": {"cardinality": 8, "width": 32, "blocks": [2, 1, 1, 1]},
         "densenet121": {"growth_rate": 8, "blocks": [2, 2, 2, 2]}, "xception": {"middle_blocks": 1}}


def new_workspace(folder, own_calibration=False):
    """A project folder: the Makefile, recipes/ and calib_data/ of the repo (a copy of its own when a test
    touches it), an empty build/."""
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    shutil.copytree(ROOT / "recipes", folder / "recipes")
    if own_calibration:
        shutil.copytree(ROOT / "calib_data", folder / "calib_data")
    else:
        (folder / "calib_data").symlink_to(ROOT / "calib_data")
    (folder / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")
    (folder / "constraints.txt").symlink_to(ROOT / "constraints.txt")
    (folder / ".venv").symlink_to(Path(sys.prefix))   # the environment running the tests is the set-up
    return folder


@pytest.fixture
def workspace(tmp_path):
    return new_workspace(tmp_path)


def shared(tmp_path_factory, name, build):
    """A folder built once per test session, whichever pytest-xdist worker asks first (the others wait on its
    lock and then read it): `build(folder)` fills it. Tests that change what is in it work on a copy."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base   # the workers' common folder
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


def copy_of(folder, destination):
    """A copy of a built project folder with every file's time kept, so Make sees what it saw there."""
    shutil.copytree(folder, destination, symlinks=True, dirs_exist_ok=True)
    return destination


def make(workspace, *targets, check=True, env=None):
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", *targets], cwd=workspace, capture_output=True,
                          text=True, timeout=900, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"make {targets} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _untrained(tmp_path_factory, name, options, formats):
    """An untrained zoo model (32x32x1, 10 classes) and its .tflite files, built once per session: (the Keras
    model, {format: path}); int8 files take uint8 and are calibrated on 50 real images."""
    from edgecnn.tf import keras

    def build(folder):
        from edgecnn.convert import converter as convert
        from edgecnn.data.calibration import load_calibration
        from edgecnn.zoo import build_model

        keras.utils.set_random_seed(0)
        model = build_model(name, (32, 32, 1), 10, options)
        calib = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 50)
        for fmt in formats:
            (folder / f"{fmt}.tflite").write_bytes(convert.to_int8(model, calib, "uint8") if fmt == "int8"
                                                   else convert.convert(model, fmt))
        model.save(folder / "model.keras")

    folder = shared(tmp_path_factory, f"untrained_{name}", build)
    import edgecnn.zoo.layers  # noqa: F401  (the zoo's own layers registered with Keras)
    from edgecnn.zoo.keras_file import load_trained

    model = load_trained(folder / "model.keras")
    return model, {fmt: folder / f"{fmt}.tflite" for fmt in formats}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """An untrained MobileNetV2 (alpha 0.35, 32x32x1, 10 classes) as fp32 and uint8-I/O int8 .tflite files."""
    return _untrained(tmp_path_factory, "mobilenet_v2", {"alpha": 0.35}, ("fp32", "int8"))


@pytest.fixture(scope="session")
def micro_models(tmp_path_factory):
    """An untrained micro_cnn (widths 8, 16; 32x32x1, 10 classes) as the files TFLite Micro runs or refuses:
    uint8-I/O int8 (runs), fp32 (runs, float kernels), fp16 and dynamic range (refused)."""
    return _untrained(tmp_path_factory, "micro_cnn", {"widths": [8, 16]}, ("int8", "fp32", "fp16", "dynamic"))


# The pipeline's tiny recipe: MobileNetV2 (alpha 0.35) trained 3 epochs on 6,000 real Fashion-MNIST images, its
# compression steps fine-tuned enough to hold docs/compression.md's targets (prune: 3 epochs at 4e-3; at 2e-3,
# pruned-80-int8 ended 2.9 points below fp32 on 2026-12-04, at 4e-3 0.55 above)
TINY = {
    "model": {"name": "mobilenet_v2", "options": {"alpha": 0.35, "bn_momentum": 0.9}},  # few steps: fast BN stats
    "dataset": {"name": "fashion_mnist", "input_shape": [32, 32, 1], "train_samples": 6000, "validation_split": 0.02},
    "train": {"epochs": 3, "batch_size": 64, "learning_rate": 0.003, "seed": 1},
    "calibration": {"path": "calib_data/fashion_mnist", "samples": 100},
    "bench": {"threads": 1, "runs": 10, "warmup": 2, "test_samples": 2000},   # 1: three workers share 2 cores
    "prune": {"epochs": 3, "learning_rate": 0.004},
    "qat": {"epochs": 1},
    "cluster": {"epochs": 1},
}


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory):
    """A project folder where `make build/tiny/bench.json` ran once for the session (the plan `make -n` printed
    before it is in plan.txt); tests that change it work on copy_of() it."""
    import yaml

    def build(folder):
        new_workspace(folder, own_calibration=True)
        (folder / "recipes" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
        (folder / "plan.txt").write_text(make(folder, "-n", "build/tiny/int8.tflite").stdout)
        make(folder, "build/tiny/bench.json")

    return shared(tmp_path_factory, "tiny_build", build)


def pytest_collection_modifyitems(items):
    """The slow end-to-end tests first: `make test` runs on several pytest-xdist workers, and a long test that
    starts last leaves the others idle at the end (longest first is the classic greedy schedule). The tests of
    the shared tiny build come first of all: pytest-xdist's work stealing hands each worker a contiguous share
    of this order, so one worker builds it and runs them while the others start elsewhere."""
    items.sort(key=lambda item: ("tiny_build" not in getattr(item, "fixturenames", ()),
                                 item.get_closest_marker("slow") is None))
