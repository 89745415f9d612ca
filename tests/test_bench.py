import json

import numpy as np
import pytest

from conftest import ROOT, last_line, run_cli
from edgecnn.bench.cli import main as bench_main
from edgecnn.data.calibration import load_calibration


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """60 real Fashion-MNIST images at 32x32x1 with labels taken from their class folder names."""
    folder = ROOT / "calib_data" / "fashion_mnist"
    x = load_calibration(folder, (32, 32, 1), 300)[::5]
    y = np.repeat(np.arange(10), 30)[::5]
    path = tmp_path_factory.mktemp("data") / "set.npz"
    np.savez(path, x=x, y=y)
    return path


def test_bench_two_models_interleaved_with_accuracy(tiny_models, labelled, tmp_path, capsys):
    _, paths = tiny_models
    out = tmp_path / "b.json"
    assert bench_main([str(paths["fp32"]), str(paths["int8"]), "--data", str(labelled), "--runs", "5",
                       "--warmup", "1", "--threads", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    fp32, int8 = report["models"]
    assert fp32["bytes"] == paths["fp32"].stat().st_size
    assert fp32["latency_ms"]["runs"] == 5 and fp32["latency_ms"]["median"] > 0
    assert fp32["accuracy"]["samples"] == 60 and 0 <= int8["accuracy"]["top1"] <= 1
    assert int8["inputs"][0]["dtype"] == "uint8" and report["peak_rss_mb"] > 0
    table = capsys.readouterr().out
    assert "latency p99" in table and "int8.tflite / fp32.tflite" in table


def test_bench_runs_without_tensorflow(tiny_models, labelled):
    """The on-device benchmark must never import TensorFlow: here importing it raises ImportError."""
    _, paths = tiny_models
    code = ("import sys; sys.modules['tensorflow'] = None; sys.modules['tf_keras'] = None; "
            "sys.modules['tensorflow_model_optimization'] = None; sys.modules['click'] = None; "
            "from edgecnn.bench.cli import main; rc = main(sys.argv[1:]); "
            "assert not [m for m in sys.modules if m.startswith(('tensorflow', 'tf_keras', 'keras'))"
            " and sys.modules[m] is not None]; sys.exit(rc)")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code, str(paths["int8"]), "--data", str(labelled),
                           "--runs", "3"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "top-1 accuracy" in proc.stdout


def bench_error(*args):
    proc = run_cli(*args, module="edgecnn.bench")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return last_line(proc.stderr)


def test_bad_model_files(tmp_path, tiny_models):
    _, paths = tiny_models
    assert "is not a file" in bench_error(tmp_path)
    (tmp_path / "x.tflite").write_text("hello, this is not a model")
    assert "is not a TFLite file" in bench_error(tmp_path / "x.tflite")
    blob = paths["fp32"].read_bytes()
    for cut in (12, len(blob) // 2):
        (tmp_path / "t.tflite").write_bytes(blob[:cut])
        msg = bench_error(tmp_path / "t.tflite")
        assert "truncated" in msg or "could not be loaded" in msg, msg
    corrupt = bytearray(blob)
    corrupt[8:24] = b"\xff" * 16
    (tmp_path / "c.tflite").write_bytes(bytes(corrupt))
    msg = bench_error(tmp_path / "c.tflite")
    assert "could not be loaded" in msg or "truncated" in msg, msg


def test_bad_data_and_flags(tmp_path, tiny_models):
    _, paths = tiny_models
    np.savez(tmp_path / "labels.npz", x=np.zeros((4, 32, 32, 1), np.uint8), y=np.array([0, 3, 11, 12]))
    msg = bench_error(paths["int8"], "--data", tmp_path / "labels.npz")
    assert "labels run from 0 to 12 but" in msg and "has 10 output classes" in msg
    np.savez(tmp_path / "small.npz", x=np.zeros((4, 28, 28, 1), np.uint8), y=np.array([0, 1, 2, 3]))
    assert "images are 28x28x1 but" in bench_error(paths["int8"], "--data", tmp_path / "small.npz")
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((4, 32, 32, 1), np.uint8))
    assert "must hold arrays 'x'" in bench_error(paths["int8"], "--data", tmp_path / "nolabels.npz")
    assert "expected an integer >= 1, got 0" in bench_error(paths["int8"], "--threads", "0")
    assert "runtime 'tflite-runtime' is not installed" in bench_error(paths["int8"], "--runtime", "tflite-runtime")
