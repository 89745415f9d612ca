import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_RECIPE = ROOT / "recipes" / "fashion_mnist_mobilenet_v2.yaml"


def run_cli(*args, cwd=ROOT, module="edgecnn", check=False, env=None, timeout=900):
    """Run `python -m MODULE ARGS` as a user would; returns the CompletedProcess (text)."""
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


@pytest.fixture
def workspace(tmp_path):
    """A project folder of its own: the Makefile, recipes/ and calib_data/ of the repo, an empty build/."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    (tmp_path / "calib_data").symlink_to(ROOT / "calib_data")
    (tmp_path / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")
    (tmp_path / "constraints.txt").symlink_to(ROOT / "constraints.txt")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))   # the environment running the tests is the set-up
    return tmp_path


def make(workspace, *targets, check=True):
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", *targets], cwd=workspace, capture_output=True,
                          text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"make {targets} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """An untrained MobileNetV2 (alpha 0.35, 32x32x1, 10 classes) as fp32 and uint8-I/O int8 .tflite files."""
    from edgecnn.convert import converter as convert
    from edgecnn.data.calibration import load_calibration
    from edgecnn.tf import keras
    from edgecnn.zoo import build_model

    keras.utils.set_random_seed(0)
    model = build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0.35})
    folder = tmp_path_factory.mktemp("tiny")
    calib = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 50)
    paths = {"fp32": folder / "fp32.tflite", "int8": folder / "int8.tflite"}
    paths["fp32"].write_bytes(convert.to_fp32(model))
    paths["int8"].write_bytes(convert.to_int8(model, calib, "uint8"))
    return model, paths


@pytest.fixture(scope="session")
def micro_models(tmp_path_factory):
    """An untrained micro_cnn (widths 8, 16; 32x32x1, 10 classes) as the files TFLite Micro runs or refuses:
    uint8-I/O int8 (runs), fp32 (runs, float kernels), fp16 and dynamic range (refused)."""
    from edgecnn.convert import converter as convert
    from edgecnn.data.calibration import load_calibration
    from edgecnn.tf import keras
    from edgecnn.zoo import build_model

    keras.utils.set_random_seed(0)
    model = build_model("micro_cnn", (32, 32, 1), 10, {"widths": [8, 16]})
    folder = tmp_path_factory.mktemp("micro")
    calib = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 50)
    paths = {fmt: folder / f"{fmt}.tflite" for fmt in ("int8", "fp32", "fp16", "dynamic")}
    paths["int8"].write_bytes(convert.to_int8(model, calib, "uint8"))
    for fmt in ("fp32", "fp16", "dynamic"):
        paths[fmt].write_bytes(convert.convert(model, fmt))
    return model, paths


def pytest_collection_modifyitems(items):
    """The slow end-to-end tests first: `make test` runs on two pytest-xdist workers, and a long test that
    starts last leaves the other worker idle at the end (longest first is the classic greedy schedule)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
