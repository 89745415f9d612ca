"""edgecnn export: the C/C++ array compiled by gcc and g++ into a program that checks the embedded bytes,
Android/iOS bundles with labels and the I/O description, and the bad inputs the issue names."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, installed, last_line, run_cli
from edgecnn.errors import UserError
from edgecnn.export import arena, metadata
from edgecnn.export.c_array import identifier
from edgecnn.export.contents import read as inspect_file
from edgecnn.export.formats import export, with_metadata

LABELS = [f"class {i}" for i in range(10)]

CHECK_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "model_data.h"
int main(void) {
    if (NAME_len != EXPECTED_LEN) return 2;
    if (memcmp(NAME + 4, "TFL3", 4) != 0) return 3;          /* the TFLite file identifier */
    if (((uintptr_t)NAME) % 16 != 0) return 4;               /* 16-byte aligned */
    fwrite(NAME, 1, NAME_len, stdout);                        /* the test hashes what comes out */
    return 0;
}
"""


@pytest.fixture
def int8_file(tmp_path, micro_models):
    """A small uint8-I/O int8 file that TFLite Micro runs, in a build-like folder with its labels.txt beside it."""
    folder = tmp_path / "build"
    folder.mkdir()
    shutil.copy(micro_models[1]["int8"], folder / "int8.tflite")
    (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return folder / "int8.tflite"


@pytest.mark.parametrize("compiler,lang,std", [("gcc", "c", "c11"), ("g++", "c++", "c++11")])
def test_c_array_compiles_and_embeds_the_exact_bytes(tmp_path, int8_file, compiler, lang, std):
    app = tmp_path / "app"
    app.mkdir()
    export(int8_file, "c", app, name="model-v2.int8")
    data = int8_file.read_bytes()
    header = (app / "model_data.h").read_text()
    assert "extern const unsigned char model_v2_int8[];" in header and "extern const unsigned int model_v2_int8_len;" in header
    assert f"sha256 {hashlib.sha256(data).hexdigest()}" in header and f"{len(data):,} bytes" in header
    assert header.count("#ifndef EDGECNN_MODEL_DATA_H_") == 1
    assert "alignas(16) const unsigned char model_v2_int8[]" in (app / "model_data.cc").read_text()
    (app / "check.c").write_text(CHECK_C.replace("NAME", "model_v2_int8").replace("EXPECTED_LEN", f"{len(data)}u"))
    subprocess.run([compiler, "-x", lang, f"-std={std}", "-Wall", "-Werror", "-I", str(app), str(app / "model_data.cc"),
                    "-x", lang, str(app / "check.c"), "-o", str(app / "check")], check=True)
    proc = subprocess.run([str(app / "check")], capture_output=True)
    assert proc.returncode == 0 and proc.stdout == data                 # the round trip, byte for byte


def test_identifiers():
    assert identifier("g_model") == "g_model" and identifier("my model.v2") == "my_model_v2"
    assert identifier("2fast") == "model_2fast"
    with pytest.raises(UserError, match=r"--name '-\.-' cannot become a C identifier: it has no letter or digit"):
        identifier("-.-")
    with pytest.raises(UserError, match=r"--name 'int' is a C/C\+\+ keyword; give a name such as g_int"):
        identifier("int")


def test_max_bytes_refuses_and_writes_nothing(tmp_path, int8_file):
    app = tmp_path / "app"
    app.mkdir()
    size = int8_file.stat().st_size
    with pytest.raises(UserError, match=rf"is {size:,} bytes, over the flash budget of 1,000 \(--max-bytes\); it will not fit"):
        export(int8_file, "c", app, max_bytes=1000)
    assert list(app.iterdir()) == []
    export(int8_file, "c", app, max_bytes=size)


def test_android_bundle_describes_io_quantization_and_labels(tmp_path, int8_file):
    app = tmp_path / "src" / "main"
    app.mkdir(parents=True)
    written, note = export(int8_file, "android", app)
    assert sorted(p.relative_to(app).as_posix() for p in written) == [
        "assets/labels.txt", "assets/model.json", "assets/model.tflite"]
    shipped = (app / "assets" / "model.tflite").read_bytes()
    assert metadata.read(shipped) == metadata.Metadata("model", "", "int8.tflite, exported by edgecnn", "", "",
                                                       LABELS, [0.0], [1.0], "GRAYSCALE")
    assert _graph(shipped) == _graph(int8_file.read_bytes())
    assert (app / "assets" / "labels.txt").read_text().splitlines() == LABELS
    about = json.loads((app / "assets" / "model.json").read_text())
    (inp,), (out,) = about["inputs"], about["outputs"]
    assert inp["shape"] == [1, 32, 32, 1] and inp["dtype"] == "uint8"
    assert inp["quantization"] == {"scale": 1.0, "zero_point": 0}      # raw camera bytes go straight in
    assert out["shape"] == [1, 10] and out["dtype"] == "uint8" and out["quantization"]["scale"] > 0
    from edgecnn.bench.runtime import pick_runtime                   # read from the flatbuffer: as the runtime sees it

    interp = pick_runtime().interpreter(int8_file, threads=1)
    for mine, theirs in zip([inp, out], interp.get_input_details() + interp.get_output_details()):
        assert [mine["name"], mine["shape"], mine["dtype"]] == [theirs["name"], list(theirs["shape"]),
                                                                 theirs["dtype"].__name__]
        assert [mine["quantization"]["scale"], mine["quantization"]["zero_point"]] == list(theirs["quantization"])
    assert about["labels"] == "labels.txt" and about["normalization"]["mean"] == 0.0
    assert 'noCompress += "tflite"' in note


def test_ios_bundle_and_labels_from_a_file(tmp_path, int8_file):
    app = tmp_path / "MyApp"
    app.mkdir()
    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(f"n{i}" for i in range(10)))
    written, note = export(int8_file, "ios", app, name="Classifier", labels=labels, embed_metadata=False)
    assert sorted(p.name for p in written) == ["Classifier.json", "Classifier.tflite", "labels.txt"]
    assert (app / "Classifier.tflite").read_bytes() == int8_file.read_bytes()      # --no-metadata: as it was
    assert (app / "labels.txt").read_text().split() == [f"n{i}" for i in range(10)]
    assert 'forResource: "Classifier"' in note


def test_bad_inputs_get_one_sentence_and_change_nothing(tmp_path, int8_file):
    app = tmp_path / "app"
    app.mkdir()
    labels = tmp_path / "three.txt"
    labels.write_text("a\nb\nc\n")
    with pytest.raises(UserError, match=r"three.txt has 3 labels but the model has 10 classes"):
        export(int8_file, "android", app, labels=labels)
    assert list(app.iterdir()) == []
    lone = tmp_path / "lone.tflite"
    shutil.copy(int8_file, lone)
    with pytest.raises(UserError, match=r"lone.tflite has no labels.txt beside it .* --labels FILE"):
        export(lone, "ios", app)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UserError, match=r"--out .*a_file is a file, not a folder"):
        export(int8_file, "c", tmp_path / "a_file")
    written, note = export(int8_file, "c", tmp_path / "new" / "app")       # a missing folder is made, and said
    assert note.startswith(f"created the folder {tmp_path / 'new' / 'app'}\n")
    assert sorted(p.name for p in (tmp_path / "new" / "app").iterdir()) == sorted(p.name for p in map(Path, written))
    export(int8_file, "c", app)
    before = (app / "model_data.cc").read_bytes()
    with pytest.raises(UserError, match=r"model_data.h, .*model_runtime.h already exist; add --force to overwrite"):
        export(int8_file, "c", app, name="other")
    assert (app / "model_data.cc").read_bytes() == before
    export(int8_file, "c", app, name="other", force=True)
    assert b"other_len" in (app / "model_data.cc").read_bytes()


def test_cli_refuses_a_file_that_is_not_tflite(tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"not a flatbuffer at all")
    (tmp_path / "app").mkdir()
    proc = run_cli("export", bogus, "--format", "c", "--out", tmp_path / "app")
    assert proc.returncode == 2 and list((tmp_path / "app").iterdir()) == []
    assert last_line(proc.stderr) == (f"edgecnn: error: {bogus} is not a TFLite file (no 'TFL3' identifier at byte 4); "
                                      f"convert the model with the TFLite converter first.")


# --- metadata inside the .tflite ---------------------------------------------------------------------

def _graph(data):
    """Operator codes, tensors (name, type, shape, buffer, quantization), operators and every weight buffer's
    bytes: what must not change when metadata is added."""
    from ai_edge_litert import schema_py_generated as schema

    m = schema.Model.GetRootAs(bytearray(metadata.strip(data)), 0)
    g = m.Subgraphs(0)
    codes = [(m.OperatorCodes(i).BuiltinCode(), m.OperatorCodes(i).Version()) for i in range(m.OperatorCodesLength())]
    tensors = []
    for i in range(g.TensorsLength()):
        t, q = g.Tensors(i), g.Tensors(i).Quantization()
        tensors.append((t.Name(), t.Type(), t.ShapeAsNumpy().tolist(), t.Buffer(),
                        q.ScaleAsNumpy().tolist() if q and q.ScaleLength() else None))
    ops = [(g.Operators(i).OpcodeIndex(), g.Operators(i).InputsAsNumpy().tolist(), g.Operators(i).OutputsAsNumpy().tolist(),
            g.Operators(i).BuiltinOptionsType()) for i in range(g.OperatorsLength())]
    used = {t[3] for t in tensors}
    weights = {b: m.Buffers(b).DataAsNumpy().tobytes() for b in sorted(used) if m.Buffers(b).DataLength()}
    return codes, tensors, ops, weights


def _outputs(data, seed=0):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=bytes(data))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    x = np.random.default_rng(seed).integers(0, 256, inp["shape"]).astype(inp["dtype"])
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def test_metadata_round_trip_keeps_graph_weights_and_outputs(tmp_path, int8_file):
    import numpy as np

    out = tmp_path / "with.tflite"
    with_metadata(int8_file, out, "fashion", "1.2", "a test model", "edgecnn tests", "Apache-2.0", None, 0.0, 1.0, False)
    data, plain = out.read_bytes(), int8_file.read_bytes()
    assert metadata.read(plain) is None
    assert metadata.read(data) == metadata.Metadata("fashion", "1.2", "a test model", "edgecnn tests", "Apache-2.0",
                                                    LABELS, [0.0], [1.0])
    assert _graph(data) == _graph(plain)
    for seed in range(3):                                  # bit-equal answers on the same inputs
        assert np.array_equal(_outputs(data, seed), _outputs(plain, seed))
    again = metadata.write(data, metadata.Metadata(name="renamed", labels=list("abcdefghij")))
    assert metadata.read(again).name == "renamed" and metadata.read(again).labels == list("abcdefghij")
    assert _graph(again) == _graph(plain)


def test_metadata_bad_inputs(tmp_path, int8_file):
    args = ("", "", "", "", None, 0.0, 1.0)
    with pytest.raises(UserError, match=r"is the input file; write the model with metadata to a new file"):
        with_metadata(int8_file, int8_file, None, *args, True)
    (tmp_path / "taken.tflite").write_bytes(b"keep")
    with pytest.raises(UserError, match=r"taken.tflite already exists; add --force to overwrite"):
        with_metadata(int8_file, tmp_path / "taken.tflite", None, *args, False)
    assert (tmp_path / "taken.tflite").read_bytes() == b"keep"
    bad = tmp_path / "nine.txt"
    bad.write_text("\n".join("abcdefghi"))
    with pytest.raises(UserError, match=r"nine.txt has 9 labels but the model has 10 classes"):
        with_metadata(int8_file, tmp_path / "new.tflite", None, "", "", "", "", bad, 0.0, 1.0, False)
    assert not (tmp_path / "new.tflite").exists()


# --- inspect -------------------------------------------------------------------------------------------

def test_arena_plan_shares_memory_between_tensors_that_do_not_live_together():
    a, b, c = arena.Live("a", 100, -1, 0), arena.Live("b", 50, 0, 1), arena.Live("c", 100, 1, 2)
    offsets, size = arena.plan([a, b, c])
    # a and c never live together: they share offset 0; b (alive with both) goes after them, aligned to 16
    assert offsets == {"a": 0, "c": 0, "b": 112} and size == 176 and arena.lower_bound([a, b, c]) == 176
    chain = [arena.Live(f"t{i}", 64, i - 1, i) for i in range(6)]     # t_i written by op i-1, read by op i
    assert arena.plan(chain)[1] == 128 and arena.lower_bound(chain) == 128


def test_inspect_reads_io_ops_flash_and_arena(tiny_models):
    c = inspect_file(tiny_models[1]["int8"])
    assert c.inputs == [{"name": c.inputs[0]["name"], "dtype": "uint8", "shape": [1, 32, 32, 1], "dynamic": False,
                         "scale": [1.0],
                         "zero_point": [0]}]
    assert c.outputs[0]["dtype"] == "uint8" and c.outputs[0]["shape"] == [1, 10]
    assert c.operators["CONV_2D"] > 10 and c.operators["DEPTHWISE_CONV_2D"] > 10 and c.operators["SOFTMAX"] == 1
    assert 0.6 * c.bytes < c.weights_bytes < c.bytes          # the rest: per-channel scales, the graph
    # the widest activation of MobileNetV2 at 32x32 (alpha 0.35): 16x16x48 int8 expanded, plus its input
    assert 16 * 16 * 48 < c.arena_lower_bound <= c.arena_bytes < 200_000
    assert c.metadata is None and "min_runtime_version" in c.model_entries


def test_cli_inspect_and_metadata(tmp_path, int8_file):
    out = tmp_path / "with.tflite"
    proc = run_cli("metadata", int8_file, "--out", out, "--version", "3", "--author", "me")
    assert proc.returncode == 0, proc.stderr
    text = run_cli("inspect", out, check=True).stdout
    assert "inputs:\n" in text and "uint8 [1, 32, 32, 1], scale 1, zero point 0" in text
    assert "metadata: name 'with', version '3', author 'me'" in text and "labels (10): class 0, class 1" in text
    about = json.loads(run_cli("inspect", out, "--json", check=True).stdout)
    assert about["metadata"]["labels"] == LABELS and about["operators"]["SOFTMAX"] == 1
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"TFL")
    proc = run_cli("inspect", bogus)
    assert proc.returncode == 2 and "is not a TFLite file" in last_line(proc.stderr)


# --- apps whose image APIs hand over RGB (the TFLite Task Library) ------------------------------------------

def test_rgb_input_computes_grey_inside_the_model(micro_models, tmp_path):
    import numpy as np

    from edgecnn.convert import converter as convert
    from edgecnn.data.calibration import load_calibration

    model, _ = micro_models
    rgb = convert.rgb_input(model)
    grey = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 20).astype(np.float32)
    colour = np.repeat(grey, 3, axis=-1)
    assert rgb.input_shape == (None, 32, 32, 3)
    assert np.allclose(rgb(colour).numpy(), model(grey).numpy(), atol=1e-5)       # R = G = B: the same grey
    path = tmp_path / "rgb.tflite"
    path.write_bytes(convert.to_int8(rgb, np.repeat(grey, 3, axis=-1).astype(np.uint8), "uint8"))
    c = inspect_file(path)
    assert c.inputs[0]["shape"] == [1, 32, 32, 3] and c.inputs[0]["dtype"] == "uint8"
    assert convert.rgb_input(rgb) is rgb                                         # already 3 channels


def test_app_check_holds_both_runtimes_and_both_bundles_to_the_class_names(micro_models, tmp_path):
    """An RGB file whose labels.txt is not the data set's class names: the Task Library and MediaPipe Tasks each
    read the wrong names from the Android and the iOS bundle's metadata, and every check fails saying so."""
    import numpy as np

    from edgecnn.convert import converter as convert
    from edgecnn.data.calibration import load_calibration
    from edgecnn.data.fashion_mnist import CLASS_NAMES

    installed(".app-venv/.installed", "the Task Library's env")
    installed(".mediapipe-venv/.installed", "MediaPipe Tasks' env")
    model, _ = micro_models
    grey = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 40)
    colour = np.repeat(grey, 3, axis=-1).astype(np.uint8)
    folder = tmp_path / "build" / "rgb"
    folder.mkdir(parents=True)
    (folder / "int8.tflite").write_bytes(convert.to_int8(convert.rgb_input(model), colour, "uint8"))
    (folder / "labels.txt").write_text("\n".join(f"wrong {i}" for i in range(10)) + "\n")
    np.savez(folder / "testset.npz", x=colour, y=np.arange(40) % 10, class_names=np.array(CLASS_NAMES))
    proc = run_cli("app-check", folder, "--python", ROOT / ".app-venv" / "bin" / "python", "--mediapipe-python",
                   ROOT / ".mediapipe-venv" / "bin" / "python", "--report", tmp_path / "app_check")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert [line.split(": ")[1].split(" top-1")[0] for line in lines[:4]] == \
        ["the Task Library", "the Task Library", "MediaPipe Tasks", "MediaPipe Tasks"]
    assert all(line.startswith(f"FAIL  {folder / 'int8.tflite'} ({bundle})") and line.endswith(" are not class names")
               and " on 40 images;" in line for line, bundle in zip(lines, ["Android", "iOS"] * 2)), lines
    assert lines[4] == ("0 of 4 bundle checks classify on the Task Library and MediaPipe Tasks as on edgecnn-bench "
                        "(within 0.2 pt); 0 files skipped")
    rows = json.loads((tmp_path / "app_check.json").read_text())["rows"]
    assert [r["runtime"].split()[0] for r in rows] == ["Task", "Task", "MediaPipe", "MediaPipe"]
    assert all(r["unknown_categories"] and not r["passed"] for r in rows)
    assert "0 of 4 checks within 0.2 points" in (tmp_path / "app_check.md").read_text()


def test_app_classify_breaks_a_tie_at_the_top_as_argmax_does():
    """Two classes sharing the top score exactly (an int8 file's uint8 output has 256 levels): the Task Library lists
    the later class first; the tie is broken to the lower class index, as edgecnn-bench's argmax breaks it."""
    import importlib.util
    from types import SimpleNamespace as Category

    script = ROOT / "edgecnn" / "export" / "app_runtime" / "app_classify.py"
    spec = importlib.util.spec_from_file_location("app_classify", script)
    app_classify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app_classify)
    tied = [Category(index=7, score=0.4921875, category_name="Sneaker"),
            Category(index=5, score=0.4921875, category_name="Sandal"),
            Category(index=9, score=0.0078125, category_name="Ankle boot")]
    assert app_classify.top(tied) == ("Sneaker", "Sandal", True)
    clear = [Category(index=7, score=0.6, category_name="Sneaker"),
             Category(index=5, score=0.4, category_name="Sandal")]
    assert app_classify.top(clear) == ("Sneaker", "Sneaker", False)


def test_app_check_refuses_a_grey_model_naming_the_option(int8_file, tmp_path):
    proc = run_cli("app-check", int8_file, "--python", tmp_path / "none")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert last_line(proc.stderr) == (
        f"edgecnn: error: {int8_file} takes a 1x32x32x1 input; the image classifiers of the Task Library and MediaPipe "
        f"Tasks need 1 x height x width x 3: set convert.rgb_input: true in its recipe (grey computed inside the model) "
        f"and rebuild.")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("app-check", empty, "--python", tmp_path / "none")
    assert proc.returncode == 2 and "is not a Python with the Task Library;" in last_line(proc.stderr)
    proc = run_cli("app-check", empty, "--runtime", "mediapipe", "--mediapipe-python", tmp_path / "none")
    assert proc.returncode == 2 and last_line(proc.stderr) == (
        f"edgecnn: error: {tmp_path / 'none'} is not a Python with MediaPipe Tasks; 'make app-check' builds its env "
        f"(.mediapipe-venv: mediapipe), or pass that env's Python.")


def test_bundle_metadata_names_the_colour_space(int8_file, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    export(int8_file, "ios", app)
    assert metadata.read((app / "model.tflite").read_bytes()).color_space == "GRAYSCALE"
