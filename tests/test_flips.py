"""edgecnn compare-files: the images two files classify differently, against the benchmark's own top-1."""

import json

import numpy as np
import pytest

from conftest import last_line, run_cli
from edgecnn.export import web_check


def test_changed_images_add_up_to_the_benchmarks_top1_difference(tiny_build, tmp_path):
    from edgecnn.bench.cli import main as bench_main

    build = tiny_build / "build" / "tiny"
    with np.load(build / "testset.npz") as f:
        x, y = f["x"][:2000], f["y"][:2000]
    data = tmp_path / "set.npz"
    np.savez(data, x=x, y=y)
    a, b = build / "fp32.tflite", build / "int8.tflite"
    proc = run_cli("compare-files", str(a), str(b), "--data", str(data), "--json", str(tmp_path / "f.json"),
                   "--png", str(tmp_path / "f.png"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "f.json").read_text())

    # the benchmark's figures on the same images: the net count of gained and lost images is their difference
    assert bench_main([str(a), str(b), "--data", str(data), "--runs", "1", "--json", str(tmp_path / "b.json"),
                       "--quiet"]) == 0
    top1 = [m["accuracy"]["top1"] for m in json.loads((tmp_path / "b.json").read_text())["models"]]
    assert result["gained"] - result["lost"] == round((top1[1] - top1[0]) * len(y))
    assert [result["top1"]["a"], result["top1"]["b"]] == top1

    # image by image: a plain interpreter loop over each file changes class on exactly the images listed
    pa, pb = web_check._classes(a, x), web_check._classes(b, x)
    assert [c["index"] for c in result["changed"]] == np.flatnonzero(pa != pb).tolist() and result["changed"]
    assert all((c["a"], c["b"], c["label"]) == (pa[c["index"]], pb[c["index"]], y[c["index"]]) for c in result["changed"])
    assert sum(p["images"] for p in result["pairs"]) == len(result["changed"])
    for key, predicted in (("a", pa), ("b", pb)):
        m = np.array(result["confusion"][key])
        assert m.sum() == len(y) and np.trace(m) == np.sum(predicted == y)
    assert f"{len(result['changed'])} of 2,000 images change class" in proc.stdout
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("shape, classes, said", [
    ((28, 28, 1), 10, "takes 32x32x1 images and"),
    ((32, 32, 1), 5, "has 10 classes and"),
])
def test_two_files_of_different_models_are_refused_in_one_sentence(tiny_models, tmp_path, shape, classes, said):
    from edgecnn.convert.converter import to_fp32
    from edgecnn.tf import keras

    _, paths = tiny_models
    inputs = keras.Input(shape)
    other = keras.Model(inputs, keras.layers.Dense(classes)(keras.layers.Flatten()(inputs)))
    (tmp_path / "other.tflite").write_bytes(to_fp32(other))
    np.savez(tmp_path / "set.npz", x=np.zeros((2, 32, 32, 1), np.uint8), y=np.array([0, 1]))
    proc = run_cli("compare-files", str(paths["fp32"]), str(tmp_path / "other.tflite"), "--data",
                   str(tmp_path / "set.npz"), "--json", str(tmp_path / "f.json"))
    assert proc.returncode != 0 and said in last_line(proc.stderr) and "compare two files of one model" in proc.stderr
    assert ("28x28x1" if classes == 10 else "has 5;") in proc.stderr
    assert not (tmp_path / "f.json").exists()


def test_the_bench_gives_per_class_top1_and_a_confusion_png_for_each_file(tiny_build, tmp_path):
    from conftest import copy_of

    build = tiny_build / "build" / "tiny"
    bench = json.loads((build / "bench.json").read_text())
    for model in bench["models"]:
        acc = model["accuracy"]
        m = np.array(acc["confusion"])
        assert m.sum() == acc["samples"] and np.trace(m) == round(acc["top1"] * acc["samples"])
        assert acc["per_class_images"] == m.sum(axis=1).tolist()
        assert acc["per_class_top1"] == [m[c, c] / n for c, n in enumerate(m.sum(axis=1))]
        assert len(model["latency_ms"]["round_medians"]) == 5
        png = build / f"confusion_{model['path'].split('/')[-1][:-len('.tflite')]}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = run_cli("report", "recipes/tiny.yaml", cwd=tiny_build)
    assert report.returncode == 0 and "top-1, T-shirt/top (" in report.stdout and "top-1, Ankle boot (" in report.stdout

    # a bench.json from before per-class figures: one sentence saying how to measure it again
    old = copy_of(tiny_build, tmp_path / "old")
    stale = json.loads((old / "build" / "tiny" / "bench.json").read_text())
    for model in stale["models"]:
        del model["accuracy"]["confusion"]
    (old / "build" / "tiny" / "bench.json").write_text(json.dumps(stale))
    proc = run_cli("confusion", "recipes/tiny.yaml", cwd=old)
    assert proc.returncode != 0 and "holds no confusion matrix" in last_line(proc.stderr) and "make -W" in proc.stderr
