"""TensorFlow Lite Micro's own interpreter (tflite-micro): the arena it needs, files it refuses, crashes that
stay in a child process, and the C export's arena constant and op resolver compiled by g++."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import last_line, run_cli
from edgecnn.bench import tflm
from edgecnn.bench.tflm_ops import TFLM_BUILTINS, resolver_method
from edgecnn.errors import UserError
from edgecnn.export.contents import read as inspect_file
from edgecnn.export.formats import export

# The stub stands in for TFLM's tensorflow/lite/micro/micro_mutable_op_resolver.h, whose sources are not
# installed by the tflite-micro wheel: one Add...() method per operator TFLM has (TFLM_BUILTINS, checked
# against the installed build below), each recording the operator it registers. A generated resolver that
# calls a method TFLM lacks does not compile; the program prints what the resolver registered.
STUB = """#pragma once
namespace tflite {
template <unsigned int tOpCount>
class MicroMutableOpResolver {
 public:
  const char* names[tOpCount];
  unsigned int count = 0;
METHODS
 private:
  int Register(const char* name) {
    if (count >= tOpCount) return 1;
    names[count++] = name;
    return 0;
  }
};
}  // namespace tflite
"""
MAIN = r"""
#include <cstdio>
#include "model_data.h"
#include "model_runtime.h"
int main() {
  auto resolver = get_resolver();
  if (resolver.count != (unsigned)kNumberOperators) return 2;
  if (g_model_len == 0 || kTensorArenaSize == 0) return 3;
  for (unsigned int i = 0; i < resolver.count; ++i) std::printf("%s\n", resolver.names[i]);
  std::printf("arena %zu\n", kTensorArenaSize);
  return 0;
}
"""


def _stub(folder):
    methods = "\n".join(f'  int {resolver_method(op)}() {{ return Register("{op}"); }}' for op in sorted(TFLM_BUILTINS))
    path = folder / "tensorflow" / "lite" / "micro" / "micro_mutable_op_resolver.h"
    path.parent.mkdir(parents=True)
    path.write_text(STUB.replace("METHODS", methods))


def test_operator_list_is_the_installed_tflm_build():
    """TFLM_BUILTINS against the Register_<OP> kernels the installed tflite-micro build exports."""
    import tflite_micro
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    if not shutil.which("nm"):
        pytest.skip("nm (binutils) is not installed")
    so = next(Path(tflite_micro.__file__).parent.rglob("_runtime.so"))
    symbols = subprocess.run(["nm", "-C", "--defined-only", str(so)], capture_output=True, text=True, check=True).stdout
    builtins = {k for k in vars(schema.BuiltinOperator) if not k.startswith("_")}
    import re

    registered = set(re.findall(r"Register_([A-Z0-9_]+)\(", symbols)) & builtins
    assert registered == set(TFLM_BUILTINS)


@pytest.mark.parametrize("op, method", [("CONV_2D", "AddConv2D"), ("DEPTHWISE_CONV_2D", "AddDepthwiseConv2D"),
                                        ("AVERAGE_POOL_2D", "AddAveragePool2D"), ("RELU6", "AddRelu6"),
                                        ("FULLY_CONNECTED", "AddFullyConnected"), ("BATCH_TO_SPACE_ND", "AddBatchToSpaceNd"),
                                        ("L2_NORMALIZATION", "AddL2Normalization"), ("HARD_SWISH", "AddHardSwish")])
def test_resolver_methods_are_tflm_names(op, method):
    assert resolver_method(op) == method


def test_arena_allocates_and_ninety_percent_does_not(micro_models):
    _, paths = micro_models
    arena = tflm.measure_arena(paths["int8"])
    assert 0 < arena.head <= arena.recorded and arena.recorded == arena.head + arena.tail
    assert arena.smallest % tflm.ALIGN == 0 and arena.smallest <= arena.recorded + tflm.ALIGN
    assert tflm.probe(paths["int8"], arena.smallest).ok
    short = tflm.probe(paths["int8"], int(0.9 * arena.smallest))
    assert not short.ok and short.too_small, short.log
    assert tflm.probe(paths["int8"], arena.smallest - tflm.ALIGN).too_small
    assert inspect_file(paths["int8"]).arena_bytes == arena.head        # our planner: the activations' part


def test_a_crash_in_tflm_stays_in_the_child(micro_models):
    """Far too small an arena: TFLM's binding may kill its process; here it is a child, and a measured 'too small'."""
    _, paths = micro_models
    p = tflm.probe(paths["int8"], 64)
    assert not p.ok and p.too_small


def tflm_error(*args):
    proc = run_cli(*args, module="edgecnn.bench")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return last_line(proc.stderr)


def test_refused_files_get_one_sentence(micro_models, tmp_path):
    _, paths = micro_models
    assert "holds float16 weights (an fp16 file for GPU delegates), which TFLite Micro cannot dequantize" \
        in tflm_error(paths["fp16"], "--runtime", "tflm")
    assert "is a dynamic-range file (int8 weights, float activations), a hybrid model TFLite Micro does not run" \
        in tflm_error(paths["dynamic"], "--runtime", "tflm")
    blob = paths["int8"].read_bytes()
    (tmp_path / "cut.tflite").write_bytes(blob[:len(blob) // 2])
    assert "cut.tflite is damaged at byte " in tflm_error(tmp_path / "cut.tflite", "--runtime", "tflm")
    flipped = bytearray(blob)
    flipped[8:40] = b"\xff" * 32
    (tmp_path / "flipped.tflite").write_bytes(bytes(flipped))
    msg = tflm_error(tmp_path / "flipped.tflite", "--runtime", "tflm")
    assert "flipped.tflite is damaged at byte " in msg, msg         # the verifier, before TFLM sees it


def test_an_operator_tflm_lacks_is_named(tmp_path):
    from edgecnn.convert import converter as convert
    from edgecnn.tf import keras, tf

    inp = keras.Input((8, 8, 3), batch_size=1)
    x = keras.layers.Lambda(lambda t: tf.nn.local_response_normalization(t))(inp)
    path = tmp_path / "lrn.tflite"
    path.write_bytes(convert.batch1_converter(keras.Model(inp, x)).convert())
    assert tflm_error(path, "--runtime", "tflm") == (
        f"edgecnn-bench: error: {path} uses the operator LOCAL_RESPONSE_NORMALIZATION, which TFLite Micro does "
        f"not have; change the model so it needs only TFLM's builtin operators (or register a custom kernel in "
        f"the firmware).")


def test_tflm_accuracy_and_agreement_with_litert(micro_models, tmp_path):
    """Untrained weights: the figures are real but near chance; the trained demo-sized check is in test_pipeline."""
    import numpy as np

    from edgecnn.data.calibration import load_calibration

    _, paths = micro_models
    x = load_calibration(Path(__file__).resolve().parents[1] / "calib_data" / "fashion_mnist", (32, 32, 1), 100)
    np.savez(tmp_path / "set.npz", x=x, y=np.repeat(np.arange(10), 10))
    out = tmp_path / "tflm.json"
    proc = run_cli(paths["int8"], "--runtime", "tflm", "--data", tmp_path / "set.npz", "--json", out,
                   module="edgecnn.bench", check=True)
    (model,) = json.loads(out.read_text())["models"]
    acc = model["accuracy"]
    assert acc["samples"] == 100 and acc["reference"]["agreement"] >= 0.9
    assert acc["reference"]["unit"] == "quantized steps" and acc["reference"]["max_output_difference"] <= 8
    assert "smallest that runs" in proc.stdout and "host latency is not a microcontroller's" in proc.stdout


def test_missing_json_folder_is_refused_before_the_run(micro_models, tmp_path):
    _, paths = micro_models
    for runtime in ("tflm", "auto"):
        msg = tflm_error(paths["int8"], "--runtime", runtime, "--json", tmp_path / "nope" / "x.json")
        assert "the folder" in msg and "does not exist" in msg


def test_c_export_arena_constant_and_resolver_compile(micro_models, tmp_path):
    _, paths = micro_models
    app = tmp_path / "app"
    app.mkdir()
    written, note = export(paths["int8"], "c", app)
    assert sorted(p.name for p in written) == ["model_data.cc", "model_data.h", "model_runtime.h"]
    runtime_h = (app / "model_runtime.h").read_text()
    arena = tflm.measure_arena(paths["int8"])
    assert f"constexpr size_t kTensorArenaSize = {tflm.with_margin(arena.smallest, 0.1)};" in runtime_h
    assert tflm.probe(paths["int8"], tflm.with_margin(arena.smallest, 0.1)).ok
    _stub(tmp_path / "stub")
    (app / "main.cc").write_text(MAIN)
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", "-I", str(app), "-I", str(tmp_path / "stub"),
                    str(app / "model_data.cc"), str(app / "main.cc"), "-o", str(app / "main")], check=True)
    printed = subprocess.run([str(app / "main")], capture_output=True, text=True, check=True).stdout.split("\n")
    ops = set(inspect_file(paths["int8"]).operators)
    assert printed[:-2] == sorted(ops) and set(printed[:-2]) <= TFLM_BUILTINS     # exactly the model's operators
    assert "kTensorArenaSize" in note or "tensor arena" in note


def test_c_export_refuses_over_budget_or_unrunnable_files_and_writes_nothing(micro_models, tiny_models, tmp_path):
    _, paths = micro_models
    app = tmp_path / "app"
    app.mkdir()
    with pytest.raises(UserError, match=r"tensor arena .* over the RAM budget of 1,000 \(--max-arena\); choose a model"):
        export(paths["int8"], "c", app, max_arena=1000)
    with pytest.raises(UserError, match=r"over the flash budget of 100 \(--max-bytes\)"):
        export(paths["int8"], "c", app, max_bytes=100)
    with pytest.raises(UserError, match=r"holds float16 weights"):
        export(paths["fp16"], "c", app)
    # an untrained MobileNet v2's int8 softmax has so small an input scale that TFLM aborts preparing it
    with pytest.raises(UserError, match=r"TFLite Micro's interpreter crashed \(SIGABRT\) preparing .* even with a"):
        export(tiny_models[1]["int8"], "c", app)
    assert list(app.iterdir()) == []


def test_inspect_mcu(micro_models):
    _, paths = micro_models
    proc = run_cli("inspect", paths["int8"], "--mcu", check=True)
    assert "TFLite Micro" in proc.stdout and "smallest that runs" in proc.stdout and "AddConv2D" in proc.stdout
    proc = run_cli("inspect", paths["dynamic"], "--mcu")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert last_line(proc.stderr).startswith("edgecnn: error: ") and "hybrid model" in proc.stderr


def test_recipe_budgets_refuse_through_the_cli(micro_models, tmp_path):
    import yaml

    _, paths = micro_models
    recipe = tmp_path / "board.yaml"
    recipe.write_text(yaml.safe_dump({"model": {"name": "micro_cnn"}, "export": {"max_flash": 5000}}))
    app = tmp_path / "app"
    app.mkdir()
    proc = run_cli("export", paths["int8"], "--format", "c", "--out", app, "--recipe", recipe)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and list(app.iterdir()) == []
    assert last_line(proc.stderr) == (
        f"edgecnn: error: {paths['int8']} is {paths['int8'].stat().st_size:,} bytes, over the flash budget of 5,000 "
        f"(export section of {recipe}); it will not fit that board (try a smaller model, its int8 or a "
        f"pruned-and-clustered variant).")


def test_dynamic_shapes_and_custom_ops_are_named(tmp_path):
    from edgecnn.bench.tflm_ops import FileFacts, read_facts
    from edgecnn.tf import keras, tf

    inp = keras.Input((8, 8, 1))                                  # no fixed batch: a dynamic first dimension
    model = keras.Model(inp, keras.layers.Conv2D(2, 3)(inp))
    path = tmp_path / "dynamic_batch.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    facts = read_facts(path.read_bytes())
    assert facts.dynamic and facts.dynamic[0].endswith("[-1, 8, 8, 1]")
    assert "has dynamic input shapes" in tflm_error(path, "--runtime", "tflm")
    custom = FileFacts(["CONV_2D"], ["MyOp"], False, False, [])
    assert tflm.static_refusal("m.tflite", custom) == (
        "m.tflite uses the custom op MyOp, which TFLite Micro does not have; change the model so it needs only "
        "TFLM's builtin operators (or register a custom kernel in the firmware).")
