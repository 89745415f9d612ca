import json

import numpy as np
import pytest

from conftest import ROOT, last_line, rewrite, run_cli
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
    assert fp32["accuracy"]["samples"] == 60
    # the bench's top-1 is the interpreter's own, image by image
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime

    with np.load(labelled) as data:
        x, y = data["x"], data["y"]
    for row, path in ((fp32, paths["fp32"]), (int8, paths["int8"])):
        loaded = Loaded(path, pick_runtime(), 1)
        right = sum(int(loaded.predict(image[None].astype(np.float32))[0].argmax() == label) for image, label in zip(x, y))
        assert row["accuracy"]["top1"] == right / len(y), (row["accuracy"], right)
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
        assert "is truncated" in msg or ("is damaged at byte" in msg and "lies outside the file" in msg), msg
    corrupt = bytearray(blob)
    corrupt[8:24] = b"\xff" * 16
    (tmp_path / "c.tflite").write_bytes(bytes(corrupt))
    msg = bench_error(tmp_path / "c.tflite")
    assert f"{tmp_path / 'c.tflite'} is damaged at byte " in msg and msg.endswith("copy or convert it again."), msg


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


def test_reference_kernels_thread_sweep_and_csv(tiny_models, tmp_path, capsys):
    _, paths = tiny_models
    out, table = tmp_path / "b.json", tmp_path / "b.csv"
    assert bench_main([str(paths["fp32"]), str(paths["int8"]), "--runs", "3", "--warmup", "1", "--threads", "1,2",
                       "--no-xnnpack", "--overhead", "--json", str(out), "--csv", str(table)]) == 0
    report = json.loads(out.read_text())
    assert report["runtime"]["xnnpack"] is False and report["threads"] == 1
    assert [row["threads"] for row in report["thread_sweep"]] == [1, 2]
    assert all(len(row["median_ms"]) == 2 and min(row["median_ms"]) > 0 for row in report["thread_sweep"])
    assert "rss_growth_mb" in report and report["models"][0]["warmup_ms"] > 0
    assert [row["path"] for row in report["overhead"]] == [str(paths["fp32"]), str(paths["int8"])]
    printed = capsys.readouterr().out
    for row in report["overhead"]:
        # two loops measured in one process, alternating: the bench's timed runs and a bare invoke() loop; the
        # printed difference is theirs. How close they are is a benchmark figure (docs/benchmark.md), not a test.
        assert row["bench_median_ms"] > 0 and row["bare_loop_ms"] > 0
        assert f"({row['bench_median_ms'] / row['bare_loop_ms'] - 1:+.1%})" in printed
    import csv
    rows = list(csv.DictReader(table.open()))
    assert [r["path"] for r in rows] == [str(paths["fp32"]), str(paths["int8"])]
    assert float(rows[1]["median_ms"]) == report["models"][1]["latency_ms"]["median"]
    assert "reference kernels, no XNNPACK" in printed and "median latency by thread count" in printed
    assert "against a bare invoke() loop" in printed


def test_xnnpack_is_on_by_default_and_off_on_request(tiny_models):
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime

    _, paths = tiny_models
    runtime = pick_runtime()
    ops = {xnnpack: {d["op_name"] for d in Loaded(paths["fp32"], runtime, 1, xnnpack).interp._get_ops_details()}
           for xnnpack in (True, False)}
    assert "DELEGATE" in ops[True] and "DELEGATE" not in ops[False] and "CONV_2D" in ops[False]


def test_ops_the_runtime_lacks_are_named(tiny_models, tmp_path):
    _, paths = tiny_models
    blob = paths["fp32"].read_bytes()

    def newer(model):
        model.operatorCodes[0].version = 99

    def custom(model):
        code = model.operatorCodes[0]
        code.builtinCode = code.deprecatedBuiltinCode = 32      # CUSTOM
        code.customCode = b"MyFancyOp"

    (tmp_path / "new.tflite").write_bytes(rewrite(blob, newer))
    (tmp_path / "custom.tflite").write_bytes(rewrite(blob, custom))
    msg = bench_error(tmp_path / "new.tflite")
    assert "version 99, which litert" in msg and "does not have" in msg, msg
    assert "uses the custom op MyFancyOp, which litert" in bench_error(tmp_path / "custom.tflite")


def test_dynamic_inputs_take_the_given_shape(tmp_path):
    from edgecnn.tf import keras, tf

    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    fn = tf.function(model).get_concrete_function(tf.TensorSpec([1, None, None, 3], tf.float32))
    path = tmp_path / "dyn.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions([fn], model).convert())
    msg = bench_error(path)
    assert "has a dynamic shape [1, -1, -1, 3]; give it one with --input-shape" in msg, msg
    out = tmp_path / "d.json"
    assert bench_main([str(path), "--input-shape", "1,40,30,3", "--runs", "2", "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["models"][0]["inputs"][0]["shape"] == [1, 40, 30, 3]
    assert "does not fit input" in bench_error(path, "--input-shape", "1,40,30,1")
    assert "names nope, but the inputs of" in bench_error(path, "--input-shape", "nope=1,4,4,3")


def test_compiled_model_accelerators(tiny_models, labelled, tmp_path):
    """--accelerator runs LiteRT's CompiledModel: on cpu it gives the interpreter's accuracy; gpu needs a GPU."""
    _, paths = tiny_models
    runs = {}
    for accelerator in (None, "cpu"):
        out = tmp_path / f"{accelerator}.json"
        argv = [str(paths["fp32"]), str(paths["int8"]), "--data", str(labelled), "--runs", "3", "--json", str(out), "--quiet"]
        assert bench_main(argv + (["--accelerator", accelerator] if accelerator else [])) == 0
        runs[accelerator] = json.loads(out.read_text())
    assert runs["cpu"]["runtime"]["accelerator"] == "cpu"
    assert [m["fully_accelerated"] for m in runs["cpu"]["models"]] == [None, None]    # no GPU claim from the CPU
    for plain, compiled in zip(runs[None]["models"], runs["cpu"]["models"]):
        assert abs(plain["accuracy"]["top1"] - compiled["accuracy"]["top1"]) <= 1 / 60, (plain, compiled)


def test_gpu_accelerator_runs_the_whole_file_with_the_interpreters_top1(tiny_models, labelled, tmp_path):
    """With a GPU: the file whole on LiteRT's GPU accelerator, the interpreter's top-1 within one image.
    Without one (CI, this machine): the one sentence, and the test says it was skipped."""
    from edgecnn.bench.gpu_check import find_gpu

    _, paths = tiny_models
    out = tmp_path / "gpu.json"
    proc = run_cli(paths["fp32"], "--accelerator", "gpu", "--data", labelled, "--runs", "3", "--json", out,
                   module="edgecnn.bench")
    if find_gpu() is None:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("edgecnn-bench: error:")]
        assert proc.returncode == 2 and len(errors) == 1 and "GPU accelerator" in errors[0], proc.stderr
        assert proc.stderr.startswith("edgecnn-bench: error:"), proc.stderr      # no runtime log lines before it
        pytest.skip("no GPU on this machine: the refusal was checked; make gpu-check-delegate runs the GPU half")
    assert proc.returncode == 0, proc.stderr
    (gpu,) = json.loads(out.read_text())["models"]
    assert gpu["fully_accelerated"] is True, gpu.get("accelerator_log")
    plain = tmp_path / "cpu.json"
    assert bench_main([str(paths["fp32"]), "--data", str(labelled), "--runs", "3", "--json", str(plain), "--quiet"]) == 0
    (cpu,) = json.loads(plain.read_text())["models"]
    assert abs(gpu["accuracy"]["top1"] - cpu["accuracy"]["top1"]) <= 1 / 60, (gpu["accuracy"], cpu["accuracy"])
