"""Ordinary mistakes and damaged files: each is one sentence on stderr and a non-zero exit, never a
traceback, and nothing already built is touched. (Damaged .tflite files: test_fuzz.py; Ctrl-C and a
second training of one recipe: test_pipeline.py.)"""

import gzip
import json
import struct

import numpy as np
import pytest
import yaml

from conftest import last_line, run_cli


def one_sentence(proc, prog="edgecnn"):
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith(f"{prog}: ")]
    assert len(errors) == 1, proc.stderr[-2000:]
    return errors[0]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "x.yaml").write_text(yaml.safe_dump({"model": {"name": "mobilenet_v2"}}))
    (tmp_path / "build" / "x").mkdir(parents=True)
    return tmp_path


def test_a_base_that_is_not_a_file_name(project):
    (project / "recipes" / "x.yaml").write_text("base: 5\nmodel:\n  name: mobilenet_v2\n")
    line = one_sentence(run_cli("check", "recipes/x.yaml", cwd=project))
    assert line == ("edgecnn: error: recipes/x.yaml: base is 5; it must be a file name or a list of file names, "
                    "such as 'base: _compare.yaml'.")


def test_a_recipe_that_is_not_utf8(project):
    (project / "recipes" / "x.yaml").write_bytes(b"model:\n  name: mobilenet_v2 \xff\n")
    line = one_sentence(run_cli("check", "recipes/x.yaml", cwd=project))
    assert line == "edgecnn: error: recipes/x.yaml is not UTF-8 text (byte 28 is 0xff); save the recipe as UTF-8."


def test_a_damaged_bench_json_given_to_report(project):
    (project / "build" / "x" / "bench.json").write_text('{"models": [')
    line = one_sentence(run_cli("report", "recipes/x.yaml", cwd=project))
    assert line == ("edgecnn: error: build/x/bench.json is damaged (not JSON at line 1): it was cut short or edited; "
                    "delete it and run make again to rebuild it.")


def test_a_damaged_model_keras(project, tiny_models):
    model = project / "build" / "x" / "model.keras"
    model.write_bytes(b"PK\x03\x04 not a whole zip file")
    before = model.read_bytes()
    line = one_sentence(run_cli("convert", "recipes/x.yaml", "--variant", "fp32", cwd=project))
    assert line.startswith("edgecnn: error: build/x/model.keras cannot be loaded (") and \
        line.endswith("it is damaged or cut short; delete it and run make again to rebuild it.")
    assert model.read_bytes() == before and not (project / "build" / "x" / "fp32.tflite").exists()


def test_a_report_path_whose_folder_is_missing_is_refused_before_the_run(tiny_models, tmp_path):
    proc = run_cli(tiny_models[1]["int8"], "--json", tmp_path / "missing" / "x.json", module="edgecnn.bench")
    line = one_sentence(proc, "edgecnn-bench")
    assert line.endswith(f"the folder {tmp_path / 'missing'} does not exist; create it or write the report elsewhere.")
    assert "median" not in proc.stdout                   # refused before the benchmark, not after it


def test_an_empty_labelled_set(tiny_models, tmp_path):
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 32, 32, 1), np.uint8), y=np.zeros((0,), np.int64))
    proc = run_cli(tiny_models[1]["int8"], "--data", tmp_path / "empty.npz", "--runs", "2", module="edgecnn.bench")
    assert one_sentence(proc, "edgecnn-bench") == (f"edgecnn-bench: error: {tmp_path / 'empty.npz'} holds no images "
                                                   "('x' and 'y' are empty); give a labelled set with at least one.")


def test_an_idx_file_whose_header_is_cut_short(project):
    idx = project / "idx"
    idx.mkdir()
    for name, magic, dims in (("train-images-idx3-ubyte", 2051, [60000]), ("train-labels-idx1-ubyte", 2049, []),
                              ("t10k-images-idx3-ubyte", 2051, [10000]), ("t10k-labels-idx1-ubyte", 2049, [])):
        (idx / f"{name}.gz").write_bytes(gzip.compress(struct.pack(f">I{len(dims)}I", magic, *dims)))
    proc = run_cli("testset", "recipes/x.yaml", cwd=project, env={"EDGECNN_FASHION_MNIST": str(idx)})
    line = one_sentence(proc)
    assert "is cut short: its header names 3 dimensions but the file has 8 bytes; download or copy it again." in line


def test_an_integer_input_gets_indices_and_a_failing_first_inference_names_it(tmp_path):
    """An embedding's ids: 0 to 9 by default (the whole int32 range reads outside its table); a range
    the model cannot take is one sentence naming the input and the option, on LiteRT."""
    from edgecnn.tf import keras, tf

    ids = keras.Input((8,), dtype="int32", batch_size=1, name="ids")
    model = keras.Model(ids, keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Embedding(50, 4)(ids))))
    path = tmp_path / "embedding.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    assert run_cli(path, "--runs", "3", module="edgecnn.bench").returncode == 0
    line = one_sentence(run_cli(path, "--runs", "3", "--index-range", "1000", module="edgecnn.bench"), "edgecnn-bench")
    assert f"{path}: the first inference on litert" in line and "gather index out of bounds" in line
    assert "got integers 0 to 999: give the range its values must keep with --index-range " in line
    line = one_sentence(run_cli(path, "--index-range", "ids=10", module="edgecnn.bench"), "edgecnn-bench")
    assert line.startswith("edgecnn-bench: error: --index-range ids: ") and "has no input of that name" in line


def test_an_internal_error_is_one_line_and_debug_shows_the_traceback(project, monkeypatch):
    """A bug (here: the recipe loader fed something no check expects) names itself as one; --debug raises."""
    (project / "build" / "x" / "bench.json").write_text(json.dumps({"models": "not a list"}))
    proc = run_cli("report", "recipes/x.yaml", cwd=project)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert last_line(proc.stderr).startswith("edgecnn: internal error: ") and "rerun with --debug" in proc.stderr
    debug = run_cli("--debug", "report", "recipes/x.yaml", cwd=project)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
