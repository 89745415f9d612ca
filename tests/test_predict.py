"""edgecnn predict: top-K classes of images under any .tflite classifier, TensorFlow-free, images fitted the
way training fits them; and edgecnn-bench --data FOLDER fitting images the same way."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from edgecnn.bench.images import read_fitted
from edgecnn.bench.labelled import DataError
from edgecnn.bench.predict import predict
from edgecnn.data.fashion_mnist import CLASS_NAMES


@pytest.fixture
def int8_file(tiny_models, tmp_path):
    path = tmp_path / "model.tflite"
    shutil.copy(tiny_models[1]["int8"], path)
    return path


def _png(path, size, mode="L", seed=0):
    shape = size + ((3,) if mode == "RGB" else ())
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8), mode).save(path)
    return path


def test_predict_names_the_classes_from_labels_txt_and_fits_a_smaller_grey_image_by_padding(int8_file, tmp_path):
    (tmp_path / "labels.txt").write_text("\n".join(CLASS_NAMES) + "\n")
    image = _png(tmp_path / "shoe.png", (28, 28))
    proc = run_cli("predict", int8_file, image, "--top", "3", "--json", check=True)
    top = json.loads(proc.stdout)[0]["top"]
    assert len(top) == 3 and all(t["label"] == CLASS_NAMES[t["class"]] for t in top)

    from edgecnn.bench.runtime import pick_runtime
    from edgecnn.bench.measure import from_output, to_input

    interp = pick_runtime("auto").interpreter(str(int8_file), 1)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    padded = np.pad(np.asarray(Image.open(image))[..., None], ((2, 2), (2, 2), (0, 0)))[None].astype(np.float32)
    interp.set_tensor(inp["index"], to_input(padded, inp))
    interp.invoke()
    probs = from_output(interp.get_tensor(out["index"]), out)[0]
    assert top[0]["class"] == int(np.argmax(probs)) and abs(top[0]["probability"] - probs.max()) < 1e-6


def test_predict_reads_labels_from_the_files_metadata(int8_file, tmp_path):
    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(f"class {i}" for i in range(10)) + "\n")
    shipped = tmp_path / "app" / "model.tflite"
    shipped.parent.mkdir()
    run_cli("metadata", int8_file, "--out", shipped, "--labels", labels, check=True)
    proc = run_cli("predict", shipped, _png(tmp_path / "a.png", (40, 40), "RGB"), "--top", "1", check=True)
    assert proc.stdout.startswith(f"{tmp_path / 'a.png'}: class ") and "%" in proc.stdout


def test_predict_without_labels_prints_class_indices_and_says_so(int8_file, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        _png(folder / f"{i}.png", (28, 28), seed=i)
    proc = run_cli("predict", int8_file, folder, "--top", "2", check=True)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("(the file has no labels") and len(lines) == 4
    assert all(line.split(": ")[1].split()[0].isdigit() for line in lines[1:])


@pytest.mark.parametrize("what, message", [
    ("text", "cannot read image"),
    ("missing", "does not exist; give image files or folders of images"),
])
def test_predict_on_something_that_is_not_an_image_is_one_sentence(int8_file, tmp_path, what, message):
    path = tmp_path / "notes.png"
    if what == "text":
        path.write_text("not a picture")
    proc = run_cli("predict", int8_file, path)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_images_larger_than_the_input_are_resized_and_smaller_ones_padded(tmp_path):
    big, small = _png(tmp_path / "big.png", (64, 48), "RGB"), _png(tmp_path / "small.png", (20, 20))
    assert read_fitted(big, (32, 32, 1)).shape == (32, 32, 1)
    padded = read_fitted(small, (32, 32, 3))
    assert padded.shape == (32, 32, 3) and padded[:6].max() == 0 and padded[6:26, 6:26].any()
    with pytest.raises(DataError, match="larger than the model input 32x32"):
        read_fitted(big, (32, 32, 1), "pad")


def test_bench_fits_a_folder_of_images_of_other_sizes_to_the_model(tiny_models, tmp_path):
    for label, name in enumerate(["boot", "shirt"]):
        (tmp_path / "set" / name).mkdir(parents=True)
        for i, size in enumerate([(28, 28), (50, 40)]):
            _png(tmp_path / "set" / name / f"{i}.png", size, seed=label * 10 + i)
    proc = run_cli(tiny_models[1]["int8"], "--data", tmp_path / "set", "--runs", "2", "--json", tmp_path / "r.json",
                   module="edgecnn.bench", check=True)
    assert json.loads((tmp_path / "r.json").read_text())["models"][0]["accuracy"]["samples"] == 4, proc.stdout
