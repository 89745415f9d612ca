import json

import pytest
import yaml

from conftest import DEMO_RECIPE
from edgecnn import recipe as recipes
from edgecnn.errors import UserError


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def demo_with(tmp_path, **edits):
    """The demo recipe with `section.key` values replaced."""
    data = yaml.safe_load(DEMO_RECIPE.read_text())
    for dotted, value in edits.items():
        section, key = dotted.split("__")
        data.setdefault(section, {})[key] = value
    return write(tmp_path, yaml.safe_dump(data))


def error_of(path):
    with pytest.raises(UserError) as e:
        recipes.load(path)
    return str(e.value)


def test_demo_recipe_resolves_defaults():
    r = recipes.load(DEMO_RECIPE)
    assert r.name == "fashion_mnist_mobilenet_v2"
    assert r["model"] == {"name": "mobilenet_v2", "options": {"alpha": 0.35}, "weights": None, "file": None}
    assert r["dataset"]["input_shape"] == [32, 32, 1]
    assert r["train"]["label_smoothing"] == 0.0          # a default filled in
    assert str(r.build_dir) == "build/fashion_mnist_mobilenet_v2"


def test_unknown_key_names_the_closest(tmp_path):
    msg = error_of(write(tmp_path, "model: {name: mobilenet_v2}\ntrain: {epoch: 3}\n"))
    assert "unknown key 'train.epoch'" in msg and "did you mean 'epochs'?" in msg


def test_unknown_section_names_the_closest(tmp_path):
    msg = error_of(write(tmp_path, "model: {name: mobilenet_v2}\ntrian: {epochs: 3}\n"))
    assert "unknown section 'trian'" in msg and "'train'" in msg


@pytest.mark.parametrize("edit, expected", [
    ({"train__epochs": "five"}, "train.epochs: got 'five', expected a int"),
    ({"train__epochs": -1}, "train.epochs: got -1, expected a value in [0, 10000)"),
    ({"train__epochs": 0}, "train.epochs: 0 keeps the starting weights, but there are none"),
    ({"train__learning_rate": -1.0}, "train.learning_rate: got -1.0"),
    ({"train__optimizer": "adamw"}, "expected one of adam, sgd, rmsprop"),
    ({"train__augmentation": ["hflip", "rotate"]}, "got 'rotate', expected one of hflip, translate"),
    ({"dataset__input_shape": [32, 32]}, "expected a list [height, width, channels]"),
    ({"dataset__input_shape": [32, 32, 2]}, "expected 1 or 3 channels"),
    ({"dataset__validation_split": 0.7}, "dataset.validation_split: got 0.7"),
    ({"bench__threads": 0}, "bench.threads: got 0"),
    ({"convert__int8_io": "int16"}, "expected one of uint8, int8, float32"),
])
def test_wrong_type_or_range_names_field_value_and_expectation(tmp_path, edit, expected):
    assert expected in error_of(demo_with(tmp_path, **edit))


def test_unknown_model_and_option(tmp_path):
    assert "unknown model 'mobilenetv2': did you mean mobilenet_v2" in error_of(write(tmp_path, "model: {name: mobilenetv2}\n"))
    msg = error_of(write(tmp_path, "model: {name: mobilenet_v2, options: {alpah: 0.5}}\n"))
    assert "no option 'alpah'" in msg and "did you mean 'alpha'?" in msg


def test_missing_model_not_yaml_and_bad_name(tmp_path):
    assert "'model.name' is required" in error_of(write(tmp_path, "train: {epochs: 1}\n"))
    assert "is not valid YAML" in error_of(write(tmp_path, "model: [unclosed\n"))
    assert "does not exist" in error_of(tmp_path / "nope.yaml")
    msg = error_of(write(tmp_path, "model: {name: mobilenet_v2}\n", name="bad name.yaml"))
    assert "names the build folder" in msg
    msg = error_of(write(tmp_path, "model: {name: mobilenet_v2}\n", name="_mine.yaml"))
    assert "starting with '_' marks a base" in msg and "rename it without the leading '_'" in msg


def test_yaml_cannot_run_code(tmp_path):
    """safe_load refuses Python tags: a recipe is data, never code."""
    path = write(tmp_path, "model: !!python/object/apply:os.system ['echo pwned']\n")
    assert "is not valid YAML" in error_of(path)


def test_stage_configs_change_only_with_their_sections(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = recipes.load(DEMO_RECIPE)
    assert recipes.write_stage_configs(r) == list(recipes.STAGES)
    assert recipes.write_stage_configs(r) == []
    r.data["bench"]["runs"] = 7
    assert recipes.write_stage_configs(r) == ["bench", "optimize"]     # optimize measures with bench's settings
    r.data["calibration"]["samples"] = 10
    assert recipes.write_stage_configs(r) == ["int8", "int16x8"]      # both calibrate
    saved = json.loads((tmp_path / "build" / r.name / "stages" / "bench.json").read_text())
    assert saved["bench"]["runs"] == 7


def test_base_files_merge_in_order_under_the_recipe(tmp_path):
    (tmp_path / "_shared.yaml").write_text(yaml.safe_dump({"train": {"epochs": 4, "batch_size": 32},
                                                           "bench": {"runs": 9}}))
    (tmp_path / "_quick.yaml").write_text(yaml.safe_dump({"train": {"epochs": 1}}))
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"base": ["_shared.yaml", "_quick.yaml"],
                                                     "model": {"name": "lenet5"}, "bench": {"runs": 3}}))
    data = recipes.load(tmp_path / "r.yaml").data
    assert (data["train"]["epochs"], data["train"]["batch_size"], data["bench"]["runs"]) == (1, 32, 3)
    assert "base" not in data and data["model"]["name"] == "lenet5"
    (tmp_path / "bad.yaml").write_text("base: _nope.yaml\nmodel: {name: lenet5}\n")
    with pytest.raises(UserError, match=r"base '_nope.yaml' does not exist; bases are paths relative to"):
        recipes.load(tmp_path / "bad.yaml")
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(UserError, match=r"its bases form a cycle \(a.yaml -> b.yaml -> a.yaml\)"):
        recipes.load(tmp_path / "a.yaml")


@pytest.mark.parametrize("study", ["compare", "quick", "long", "frontier"])
def test_the_study_recipes_differ_only_in_their_model(study):
    """The study is fair by construction: the same eighteen models in every study, one shared base,
    nothing else but the model."""
    paths = sorted(DEMO_RECIPE.parent.glob(f"{study}_*.yaml"))
    assert [p.stem.removeprefix(f"{study}_") for p in paths] == \
        [p.stem.removeprefix("compare_") for p in sorted(DEMO_RECIPE.parent.glob("compare_*.yaml"))]
    assert len(paths) == 18
    loaded = [recipes.load(p) for p in paths]          # every one validates (model names and options)
    assert {r["model"]["name"] for r in loaded} == {p.stem.removeprefix(f"{study}_") for p in paths}
    shared = [{k: v for k, v in r.data.items() if k != "model"} for r in loaded]
    assert all(s == shared[0] for s in shared)


def test_a_quick_recipe_is_its_compare_recipe_with_the_quick_budget_on_top():
    for path in sorted(DEMO_RECIPE.parent.glob("quick_*.yaml")):
        quick, full = recipes.load(path), recipes.load(path.with_name(path.name.replace("quick_", "compare_")))
        assert quick["model"] == full["model"] and quick["convert"] == full["convert"]
        assert quick["dataset"]["train_samples"] < full["dataset"]["train_samples"]
        assert quick["train"]["epochs"] <= full["train"]["epochs"]


def test_a_long_recipe_is_its_compare_recipe_with_more_epochs():
    for path in sorted(DEMO_RECIPE.parent.glob("long_*.yaml")):
        long, full = recipes.load(path), recipes.load(path.with_name(path.name.replace("long_", "compare_")))
        assert long["train"]["epochs"] > full["train"]["epochs"]
        assert {**long.data, "train": full["train"]} == full.data


def test_a_frontier_recipe_is_its_compare_recipe_trained_as_best_edge_is():
    best = recipes.load(DEMO_RECIPE.parent / "best_edge.yaml")
    for path in sorted(DEMO_RECIPE.parent.glob("frontier_*.yaml")):
        frontier = recipes.load(path)
        full = recipes.load(path.with_name(path.name.replace("frontier_", "compare_")))
        assert frontier["train"] == {**best["train"], "seed": full["train"]["seed"]}
        assert frontier["dataset"] == {**full["dataset"], "train_samples": None}
        assert {**frontier.data, "train": full["train"], "dataset": full["dataset"]} == full.data


def test_a_recipe_s_defaults_are_its_own():
    """Editing one validated recipe (a study script sets an option) leaves the next recipe's defaults alone."""
    first = recipes.validate({"model": {"name": "mobilenet_v2"}}, "a.yaml")
    first["model"]["options"]["alpha"] = 0.25
    first["prune"]["only"].append("conv1")
    second = recipes.validate({"model": {"name": "mobilenet_v2"}}, "b.yaml")
    assert second["model"]["options"] == {} and second["prune"]["only"] == []
