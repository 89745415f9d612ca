"""Your own data: image-folder layouts, class selection, the mistakes refused before any training, the data
fingerprint in the stage configs, and checkpoints that belong to one version of a recipe."""

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import run_cli
from edgecnn import recipe as recipes
from edgecnn.data.datasets import load_splits
from edgecnn.errors import UserError


def _folder(root, classes, per_class=4, size=(20, 20), mode="RGB"):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape = size + ((3,) if mode == "RGB" else ())
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(root / name / f"{i}.png")
    return root


def _recipe(workspace, name, dataset, **sections):
    data = {"model": {"name": "lenet5"}, "dataset": {"name": "image_folder", "input_shape": [32, 32, 3], **dataset},
            **sections}
    path = workspace / "recipes" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _check(workspace, path):
    return run_cli("check", path, cwd=workspace)


def test_an_empty_class_folder_is_refused_before_training_naming_it(workspace):
    data = _folder(workspace / "photos", ["cat", "dog"])
    path = _recipe(workspace, "mine", {"path": "photos"}, calibration={"path": "photos", "samples": 8})
    assert _check(workspace, path).returncode == 0
    built = {p: p.read_bytes() for p in (workspace / "build" / "mine").rglob("*") if p.is_file()}
    (data / "empty").mkdir()
    proc = _check(workspace, path)
    assert proc.returncode == 2 and {p: p.read_bytes() for p in built} == built     # nothing built is touched
    assert proc.stderr.strip() == (f"edgecnn: error: class folder photos/empty has no images (.png, .jpg, .jpeg, .bmp, "
                                   f".gif, .webp); add images or remove the folder.")


def test_one_class_is_refused(workspace):
    _folder(workspace / "photos", ["cat"])
    proc = _check(workspace, _recipe(workspace, "mine", {"path": "photos"}))
    assert proc.returncode == 2 and "has one class folder (cat); a classifier needs at least two" in proc.stderr


def test_test_classes_that_differ_from_training_are_refused(workspace):
    _folder(workspace / "photos" / "train", ["cat", "dog"])
    _folder(workspace / "photos" / "test", ["cat", "cow"])
    proc = _check(workspace, _recipe(workspace, "mine", {"path": "photos"}))
    assert proc.returncode == 2 and "photos/test has classes ['cat', 'cow'] but photos/train has ['cat', 'dog']" in proc.stderr


def test_a_missing_calibration_folder_is_found_by_check_not_after_training(workspace):
    _folder(workspace / "photos", ["cat", "dog"])
    proc = _check(workspace, _recipe(workspace, "mine", {"path": "photos"}, calibration={"path": "no_such"}))
    assert proc.returncode == 2 and "calibration folder no_such does not exist" in proc.stderr


def test_adding_a_class_or_an_image_changes_the_data_fingerprint_and_retrains(workspace):
    data = _folder(workspace / "photos", ["cat", "dog"])
    path = _recipe(workspace, "mine", {"path": "photos"}, calibration={"path": "photos", "samples": 8})
    assert _check(workspace, path).returncode == 0
    stages = workspace / "build" / "mine" / "stages"
    first = json.loads((stages / "train.json").read_text())["dataset"]["files_sha256"]
    assert "stages changed: none" in _check(workspace, path).stdout

    _folder(data, ["cow"])
    proc = _check(workspace, path)
    assert "data, train" in proc.stdout and "bench" not in proc.stdout.split("changed:")[1]
    assert json.loads((stages / "train.json").read_text())["dataset"]["files_sha256"] != first
    deps = (workspace / "build" / "mine" / "deps.mk").read_text()
    assert "build/mine/recipe.json: photos/cow/0.png" in deps and "\nphotos/cow:\n" in deps   # Make sees the files


def test_classes_and_samples_per_class_select_the_training_data():
    dataset = recipes.validate({"model": {"name": "lenet5"}, "dataset": {"classes": ["Sandal", 6, 7],
                                                                         "samples_per_class": 20}}, "r")["dataset"]
    data = load_splits(dataset)
    assert data.class_names == ["Sandal", "Shirt", "Sneaker"]
    assert np.bincount(data.y_train).tolist() == [20, 20, 20]
    assert len(data.y_test) == 3000 and set(data.y_test.tolist()) == {0, 1, 2}
    with pytest.raises(UserError, match="dataset.classes: 'Boot' is not one of the data's classes"):
        load_splits({**dataset, "classes": ["Boot", 1]})


def test_checkpoints_of_an_earlier_version_of_the_recipe_are_not_resumed(tmp_path, monkeypatch):
    from edgecnn.train.fit import claim_checkpoints

    monkeypatch.chdir(tmp_path)
    raw = {"model": {"name": "lenet5"}, "train": {"learning_rate": 0.01}}
    recipe = recipes.Recipe("r", tmp_path / "r.yaml", recipes.validate(raw, "r"))
    folder = tmp_path / "checkpoints"
    assert claim_checkpoints(recipe, folder) is None
    (folder / "chief").mkdir()
    assert claim_checkpoints(recipe, folder) is None and (folder / "chief").is_dir()     # the same recipe resumes

    edited = recipes.Recipe("r", tmp_path / "r.yaml", recipes.validate({**raw, "train": {"learning_rate": 0.02}}, "r"))
    said = claim_checkpoints(edited, folder)
    assert said.endswith("starting fresh") and not (folder / "chief").exists()


def test_a_model_at_chance_is_flagged_by_training_the_bench_and_the_report(workspace):
    """Three classes of the same noise cannot be learned: training, edgecnn-bench and edgecnn report each say
    the top-1 is within reach of chance and what to try; the test split's 8 images a class are called noisy,
    with the interval, before training and again beside the figures."""
    for split, count in (("train", 40), ("test", 8)):
        _folder(workspace / "noise" / split, ["a", "b", "c"], count, (16, 16), "L")
    path = _recipe(workspace, "noise", {"path": "noise", "input_shape": [16, 16, 1]},
                   model={"name": "micro_cnn", "options": {"widths": [8, 16]}}, train={"epochs": 2},
                   calibration={"path": "noise/train", "samples": 30})
    from conftest import make

    built = make(workspace, "build/noise/bench.json").stdout
    assert "warning: the test split has 24 images, 8 of 'a' (fewer than 10 a class)" in built
    assert "warning: validation top-1" in built and "of chance (33.33 % for 3 classes)" in built
    assert "model.weights: imagenet" in built
    bench = run_cli("build/noise/int8.tflite", "--data", "build/noise/testset.npz", "--runs", "2", cwd=workspace,
                    module="edgecnn.bench")
    report = run_cli("report", path, cwd=workspace)
    for out in (bench.stdout, report.stdout):
        assert "int8.tflite top-1" in out and "of chance (33.33 % for 3 classes): the model has not learned" in out
        assert "24 test images (8 of the rarest class, fewer than 10): it is noisy, its 95 % interval" in out
