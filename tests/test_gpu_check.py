"""make gpu-check and the bench's GPU path on a machine without a GPU (CI's): what they say, their exit status,
LiteRT's GPU accelerator run for real on SwiftShader (a software Vulkan GPU: which ops run there and what they
compute), and the rule behind "whole graph on the GPU" for the answers only a partial GPU gives. The runs on
a real GPU are in docs/gpu.md."""

import subprocess

import numpy as np
import pytest

from conftest import ROOT
from edgecnn.bench import compiled, gpu_check
from edgecnn.bench.measure import Loaded
from edgecnn.bench.runtime import pick_runtime

H100_LOG = ("INFO: [delegate_webgpu.cc:342] Create WebGPU environment (use_low_power=0, enable_host_mapped_pointer=1)\n"
            "I0000 00:00:1795711671.551788     739 environment.cc:532] Selected adapter: NVIDIA H100 80GB HBM3, "
            "arch=, vendor=nvidia, backend=Vulkan, adapterType=Discrete GPU\n")


def test_delegate_half_without_a_gpu_hardware_or_software_says_so_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(gpu_check, "find_gpu", lambda: None)
    monkeypatch.setattr(gpu_check, "software_gpu", lambda: None)
    assert gpu_check.main(["model.tflite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "this machine has no GPU" in err[0] and "and no software one" in err[0], err
    assert "apt-get install chromium-common libvulkan1" in err[0]
    monkeypatch.setattr(gpu_check, "find_gpu", lambda: "GPU 0: Some GPU")
    assert gpu_check.main(["--probe"]) == 0
    assert "Some GPU" in capsys.readouterr().out


def test_no_usable_gpu_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(compiled, "vulkan_loader", lambda: None)
    no_loader = compiled.gpu_missing("m.tflite")
    assert "no Vulkan loader (libvulkan.so.1)" in no_loader and compiled.SWIFTSHADER_HOW in no_loader
    monkeypatch.setattr(compiled, "vulkan_loader", lambda: "libvulkan.so.1")
    said = compiled.gpu_missing("m.tflite", "ERROR: [delegate_webgpu.cc:359] Failed: INTERNAL: No adapters found")
    assert "no GPU driver registers with it" in said and "m.tflite" in said and compiled.SWIFTSHADER_HOW in said
    assert "(LiteRT: ERROR: boom)" in compiled.gpu_missing("m.tflite", "INFO: fine\nERROR: boom\n")


def test_the_adapter_comes_from_litert_s_own_log():
    assert compiled.adapter(H100_LOG) == "NVIDIA H100 80GB HBM3, backend=Vulkan"
    assert compiled.adapter("INFO: nothing chosen\n") is None


SWIFTSHADER = "/usr/lib/chromium/vk_swiftshader_icd.json"      # the Makefile's SWIFTSHADER


def test_the_gpu_accelerator_on_a_software_gpu_takes_the_whole_graph_and_computes_what_the_cpu_does(
        tiny_models, monkeypatch):
    """LiteRT's own GPU accelerator (WebGPU over Vulkan) on SwiftShader: the fp32 file compiles for the GPU
    alone, whole, and its scores are the CPU path's to float16 precision on real images."""
    from conftest import installed

    installed("software-gpu", "SwiftShader (a software Vulkan GPU)")
    monkeypatch.setenv("VK_DRIVER_FILES", SWIFTSHADER)
    path = str(tiny_models[1]["fp32"])
    gpu = Loaded(path, pick_runtime("litert"), 1, accelerator="gpu")
    cpu = Loaded(path, pick_runtime("litert"), 1)
    assert gpu.fully_accelerated is True
    from edgecnn.data.calibration import load_calibration

    images = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 8).astype(np.float32)
    on_gpu = np.concatenate([gpu.predict(x[None]) for x in images])
    on_cpu = np.concatenate([cpu.predict(x[None]) for x in images])
    assert np.abs(on_gpu - on_cpu).max() < 0.01 and (on_gpu.argmax(1) == on_cpu.argmax(1)).mean() >= 0.75


class _Answer:
    """A CPU-compiled model that answers is_fully_accelerated() as a GPU compile would."""

    def __init__(self, model, full):
        self.model, self.full = model, full

    def is_fully_accelerated(self):
        return self.full

    def __getattr__(self, name):
        return getattr(self.model, name)


@pytest.mark.parametrize("gpu_alone, with_cpu, expected", [
    ("full", None, True),            # the GPU alone took every op
    ("partial", True, False),        # the GPU alone left ops over: GPU + CPU, not claimed
    ("refused", True, False),        # the GPU alone refused; GPU + CPU (which counts itself) still no claim
    ("refused", "refused", None),    # nothing compiles: no usable GPU
])
def test_whole_graph_on_gpu_only_when_the_gpu_alone_takes_it(tiny_models, monkeypatch, gpu_alone, with_cpu, expected):
    """The claim's rule for the answers a software GPU does not give here (it took every op tried, even TOPK_V2
    and ATAN2): a partial or refused GPU compile, with is_fully_accelerated() answered as LiteRT would."""
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator as HA

    real = CompiledModel.from_file
    asked = []

    def from_file(path, options):
        wanted = options.hardware_accelerators
        asked.append(wanted)
        answer = gpu_alone if wanted == HA.GPU else with_cpu
        if answer == "refused":
            raise RuntimeError("stub: refused")
        cpu = real(path, options=compiled.Compiled._options(HA.CPU, 1))
        return _Answer(cpu, answer == "full" or answer is True)

    monkeypatch.setattr(CompiledModel, "from_file", staticmethod(from_file))
    path = str(tiny_models[1]["fp32"])
    if expected is None:
        with pytest.raises(compiled.GpuUnavailable):
            Loaded(path, pick_runtime("litert"), 1, accelerator="gpu")
        return
    loaded = Loaded(path, pick_runtime("litert"), 1, accelerator="gpu")
    assert loaded.fully_accelerated is expected
    assert asked[0] == HA.GPU and (len(asked) == 1) == expected


def test_timed_runs_end_at_the_outputs_read_back(tiny_models):
    loaded = Loaded(str(tiny_models[1]["fp32"]), pick_runtime("litert"), 1)
    calls, engine = [], loaded.engine

    class Spy:
        def invoke(self):
            calls.append("invoke")
            engine.invoke()

        def get_tensor(self, index):
            calls.append("read")
            return engine.get_tensor(index)

    loaded.engine = Spy()
    loaded.timed_invoke()
    assert calls == ["invoke", "read"] and len(loaded.times_ms) == 1


def test_training_half_without_a_gpu(monkeypatch, capsys):
    from edgecnn.train import gpu_check as gpu_training_check

    monkeypatch.setattr(gpu_training_check, "find_gpu", lambda: None)
    assert gpu_training_check.main() == 2
    assert "this machine has no GPU" in capsys.readouterr().err
    # A GPU on the machine that TensorFlow cannot see (no CUDA libraries): the way to install them.
    monkeypatch.setattr(gpu_training_check, "find_gpu", lambda: "GPU 0: Some GPU")
    from edgecnn.tf import tf
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("TensorFlow sees a GPU here")
    assert gpu_training_check.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sees no GPU" in err[0] and "make setup GPU=1" in err[0], err


def test_epoch_seconds_skip_the_first_epoch(tmp_path):
    from edgecnn.train.gpu_check import epoch_seconds

    path = tmp_path / "history.json"
    path.write_text('[{"epoch": 1, "seconds": 30.0}, {"epoch": 2, "seconds": 4.0}, {"epoch": 3, "seconds": 6.0}]')
    assert epoch_seconds(path) == (30.0, 5.0)


def test_make_gpu_check_on_a_machine_without_a_gpu():
    if gpu_check.find_gpu():
        pytest.skip("this machine has a GPU")
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "gpu-check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0].startswith("gpu-check: this machine has no GPU"), proc.stderr


def test_the_training_half_s_recipes_are_the_demo_with_the_gpu_options():
    from edgecnn import recipe
    from edgecnn.train.gpu_check import RECIPES

    demo = recipe.load(ROOT / "recipes" / "fashion_mnist_mobilenet_v2.yaml")
    auto, fast = (recipe.load(ROOT / "recipes" / f"{name}.yaml") for name in RECIPES)
    assert auto.data == demo.data
    assert (fast["train"]["strategy"], fast["train"]["mixed_precision"], fast["train"]["xla"]) == ("mirrored", True, True)
    assert {k: v for k, v in fast.data.items() if k != "train"} == {k: v for k, v in demo.data.items() if k != "train"}


def _third_party(folder):
    """A file not made by edgecnn: TensorFlow's converter on a function whose ARG_MAX and CAST compute in int64,
    which LiteRT's GPU accelerator and XNNPACK both leave to the CPU's reference kernels."""
    from edgecnn.tf import tf

    fn = tf.function(lambda x: tf.cast(tf.argmax(tf.nn.relu(x) * 2.0, axis=-1), tf.float32) + 1.0)
    blob = tf.lite.TFLiteConverter.from_concrete_functions(
        [fn.get_concrete_function(tf.TensorSpec([1, 8, 8, 4], tf.float32))]).convert()
    (folder / "argmax.tflite").write_bytes(blob)


@pytest.fixture(scope="module")
def argmax_file(tmp_path_factory):
    from conftest import shared

    return shared(tmp_path_factory, "third_party_argmax", _third_party) / "argmax.tflite"


def _software_gpu(monkeypatch):
    from conftest import installed

    installed("software-gpu", "SwiftShader (a software Vulkan GPU)")
    monkeypatch.setattr(gpu_check, "find_gpu", lambda: None)
    monkeypatch.setenv("VK_DRIVER_FILES", SWIFTSHADER)


def test_gpu_check_on_the_software_gpu_names_the_ops_a_file_leaves_to_the_cpu_and_exits_1(
        argmax_file, tiny_models, monkeypatch, capsys):
    _software_gpu(monkeypatch)
    status = gpu_check.main([str(tiny_models[1]["fp32"]), str(argmax_file)])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "software GPU (SwiftShader): which ops run on the GPU path and what they compute, not GPU speed" in out
    assert "SwiftShader Device" in out and "GPU median" not in out
    row = next(line for line in out.splitlines() if line.startswith(f"| {tiny_models[1]['fp32']} "))
    assert row.split("|")[2:4] == [" yes ", " none "], row
    assert (f"{argmax_file}: the GPU does not take the whole graph; it leaves ARG_MAX (Tensor type(INT64) is not "
            f"supported. ArgMax); CAST") in out
    assert "1 of 2 files ran whole on the software GPU (SwiftShader)" in out


def test_gpu_check_refuses_dynamic_shapes_in_one_sentence(tmp_path, monkeypatch, capsys):
    from edgecnn.tf import tf

    _software_gpu(monkeypatch)
    fn = tf.function(lambda x: tf.nn.relu(x) * 2.0)
    path = tmp_path / "dynamic.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions(
        [fn.get_concrete_function(tf.TensorSpec([None, 4], tf.float32))]).convert())
    assert gpu_check.main([str(path)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gpu-check:")]
    assert err == [f"gpu-check: {path} has a dynamic input shape (x [-1, 4]); LiteRT's GPU accelerator compiles fixed "
                   f"shapes only: convert the model with a fixed batch-1 signature (edgecnn convert does) and check "
                   f"that file. (skipped)"]


def test_the_bench_shows_what_xnnpack_and_the_gpu_took_of_a_third_party_file(argmax_file, tiny_models):
    from conftest import installed, run_cli

    proc = run_cli(tiny_models[1]["int8"], argmax_file, "--runs", "2", "--warmup", "0", module="edgecnn.bench")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("XNNPACK partitions"))
    assert line.split()[2:] == ["1", "2"], line           # ours in one partition; ARG_MAX and CAST split the other
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("ops left to reference kernels"))
    assert "3: QUANTIZE x2, SOFTMAX" in line and "2: ARG_MAX, CAST" in line, line
    assert "argmax.tflite: XNNPACK took the graph in 2 partitions; 2 ops (ARG_MAX, CAST) run on TFLite's" in proc.stdout
    installed("software-gpu", "SwiftShader (a software Vulkan GPU)")
    proc = run_cli(argmax_file, "--runs", "2", "--warmup", "0", "--accelerator", "gpu", module="edgecnn.bench",
                   env={"VK_DRIVER_FILES": SWIFTSHADER})
    assert proc.returncode == 0, proc.stderr
    assert "ops left to the CPU (GPU path)  2: ARG_MAX, CAST" in proc.stdout, proc.stdout
    assert "argmax.tflite: software GPU (SwiftShader Device (Subzero), backend=Vulkan, adapterType=CPU / Software): " \
           "which ops run on the GPU path and what they compute, not GPU speed" in proc.stdout


def test_inspect_gpu_answers_from_litert_and_falls_back_to_the_analyzer_labelled_weak(argmax_file, monkeypatch):
    from edgecnn.export.inspect import inspect

    _software_gpu(monkeypatch)
    text, _ = inspect(argmax_file, gpu=True)
    assert ("GPU (LiteRT's GPU accelerator on SwiftShader Device (Subzero), backend=Vulkan, a software GPU "
            "(SwiftShader): which ops run on the GPU path, not GPU speed): not whole; left to the CPU: ARG_MAX") in text

    def no_gpu(path, runtime):
        raise compiled.GpuUnavailable("no GPU here")

    monkeypatch.setattr(gpu_check, "compile_verdict", no_gpu)
    text, _ = inspect(argmax_file, gpu=True)
    assert "GPU, by TensorFlow's analyzer (weak evidence: it passes nearly every op; no GPU to compile on here: " \
           "no GPU here)" in text


def test_the_coverage_report_s_check_holds_the_committed_verdicts_and_names_a_changed_one(
        monkeypatch, tmp_path, capsys):
    """`gpu_coverage --check lenet5` makes lenet5's 32x32 files again: as reports/gpu_coverage.json says, each runs
    whole on the GPU; against a report that says otherwise it names the row and fails."""
    import json

    from edgecnn.study import gpu_coverage

    _software_gpu(monkeypatch)
    monkeypatch.chdir(tmp_path)                     # its files go to build/gpu_coverage/ under tmp_path
    committed = json.loads((ROOT / "reports" / "gpu_coverage.json").read_text())
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "gpu_coverage.json").write_text(json.dumps(committed))
    assert gpu_coverage.check(["lenet5"]) == 0
    assert "gpu-coverage check: 3 of 3 files as reports/gpu_coverage.md says" in capsys.readouterr().out
    for row in committed["rows"]:
        if (row["model"], row["input"], row["format"]) == ("lenet5", "32x32x1", "int8"):
            row.update(whole=False, left={"ADD": "made up"})
    (tmp_path / "reports" / "gpu_coverage.json").write_text(json.dumps(committed))
    assert gpu_coverage.check(["lenet5"]) == 1
    assert "gpu-coverage: lenet5 32x32x1 int8: whole [], the report says (False, ['ADD'])" in capsys.readouterr().err


def test_the_coverage_report_is_its_json_rendered_and_names_the_demo_build_it_ran():
    """reports/gpu_coverage.md is markdown() of its .json; the demo's rows name the build they ran (its int8 file's
    sha256 and when it was written), since a CPU-trained demo differs from build to build."""
    import json

    from edgecnn.study import gpu_coverage

    committed = json.loads((ROOT / "reports" / "gpu_coverage.json").read_text())
    text = (ROOT / "reports" / "gpu_coverage.md").read_text()
    assert text.startswith(gpu_coverage.markdown(committed))
    demo = committed["demo"]
    assert f"written {demo['written']} (sha256 {demo['int8_sha256'][:12]})" in text
    demo["int8_sha256"] = None                      # a build with no manifest: no identity claimed
    assert "sha256" not in gpu_coverage.markdown(committed)


def test_litert_s_gpu_accelerator_pads_a_padv2_into_a_convolution_with_zeros_and_the_bench_says_so(
        tmp_path, monkeypatch):
    """LiteRT 2.3's GPU accelerator on SwiftShader: PADV2 with 5.0 and then a 3x3 convolution gives the result of
    zero padding (the CPU path pads with 5.0). When LiteRT fixes it this fails: then drop the GPU exception in
    convert/fold.py and the bench's sentence."""
    from edgecnn.tf import tf

    _software_gpu(monkeypatch)
    kernel = tf.constant(np.random.default_rng(0).normal(size=(3, 3, 1, 2)).astype(np.float32))
    outputs = {}
    for value in (0.0, 5.0):
        fn = tf.function(lambda x: tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=value),
                                                kernel, 1, "VALID"))
        path = tmp_path / f"pad{value:g}.tflite"
        path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions(
            [fn.get_concrete_function(tf.TensorSpec([1, 4, 4, 1], tf.float32))]).convert())
        gpu = Loaded(str(path), pick_runtime("litert"), 1, accelerator="gpu")
        cpu = Loaded(str(path), pick_runtime("litert"), 1)
        x = np.ones((1, 4, 4, 1), np.float32)
        outputs[value] = (gpu.raw(x), cpu.raw(x), gpu.gpu_caveat)
    gpu, cpu, caveat = outputs[0.0]
    np.testing.assert_allclose(gpu, cpu, atol=1e-5)
    assert caveat is None
    gpu, cpu, caveat = outputs[5.0]
    np.testing.assert_allclose(gpu, outputs[0.0][1], atol=1e-5)      # the GPU padded with zeros
    assert np.abs(gpu - cpu).max() > 1.0
    assert caveat.startswith("it pads with 5 (PADV2) into a convolution, which LiteRT 2.3's GPU accelerator computes "
                             "as zero padding")


def test_edgecnn_models_gpu_compiles_the_fp16_file_on_litert(monkeypatch):
    from edgecnn.study.catalog import table

    _software_gpu(monkeypatch)
    row = table("lenet5", gpu=True).splitlines()[1]
    assert row.startswith("lenet5") and row.endswith("  yes"), row


def test_the_gpu_report_is_the_checks_json_as_a_table_with_its_record(tmp_path, monkeypatch):
    """edgecnn/study/gpu_report.py: what gpu_check --json wrote, rendered with its latencies (a hardware GPU), a file
    that could not be measured named, the verdict counted, and the record of what made it."""
    import json

    from edgecnn.study import gpu_report

    monkeypatch.chdir(tmp_path)
    row = {"path": "a/fp32.tflite", "fully_on_gpu": True, "gpu_adapter": "NVIDIA H100 80GB HBM3, backend=Vulkan",
           "software": False, "left_to_cpu": {}, "caveat": None, "gpu_median_ms": 1.2, "cpu_median_ms": 0.3,
           "gpu": {"accuracy": {"samples": 10000}}, "gpu_top1": 0.9098, "cpu_top1": 0.91, "diff_points": -0.02,
           "passed": True}
    (tmp_path / "check.json").write_text(json.dumps({"gpu": "GPU 0: NVIDIA H100", "software": False,
                                                     "runtime": "litert 2.3.0", "threads": 2, "rows": [
        row, {"path": "a/int8.tflite", "error": "a/int8.tflite does not exist", "passed": False}]}))
    gpu_report.write(tmp_path / "check.json", tmp_path / "reports" / "gpu_check_h100.md", "make gpu-check-delegate X")
    text = (tmp_path / "reports" / "gpu_check_h100.md").read_text()
    assert text.startswith("`make gpu-check-delegate X` on ") and "top-1 on 10,000 labelled images: GPU GPU 0: " \
        "NVIDIA H100; litert 2.3.0; LiteRT's GPU adapter: NVIDIA H100 80GB HBM3, backend=Vulkan" in text
    assert "| a/fp32.tflite | yes | none | 1.200 | 0.300 | 4.00 | 90.98 % | 91.00 % | -0.02 pts | yes |" in text
    assert "- a/int8.tflite: not measured: a/int8.tflite does not exist" in text
    assert "1 of 2 files ran whole on the GPU with top-1 within 0.2 points of the CPU path." in text
    made = json.loads((tmp_path / "reports" / "gpu_check_h100.provenance.json").read_text())
    assert made["command"] == "make gpu-check-delegate X" and "edgecnn/bench/gpu_check.py" in made["modules"]
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit, match=r"gpu-report: .*bad.json is not what gpu_check --json writes \('rows'\); "
                                         r"run `make gpu-check-delegate` first."):
        gpu_report.write(tmp_path / "bad.json", tmp_path / "reports" / "x.md", "c")
