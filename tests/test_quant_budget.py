"""quantize.max_drop: int8 held to an accuracy budget on the validation split (edgecnn/convert/budget.py)."""

import json

import pytest
import yaml

from conftest import make, new_workspace
from edgecnn import recipe as recipes
from edgecnn.convert import budget
from edgecnn.errors import UserError


def test_the_search_stops_at_the_first_group_within_the_budget_or_keeps_the_best_reached():
    assert budget.sizes(10) == [0, 1, 2, 4, 8, 10] and budget.sizes(8) == [0, 1, 2, 4, 8] and budget.sizes(0) == [0]
    top1 = {0: 0.880, 1: 0.884, 2: 0.893, 4: 0.897, 8: 0.896, 10: 0.899}
    tried = []

    def evaluate(k):
        tried.append(k)
        return budget.Step(k, top1[k], 100 + k, b"")

    steps, chosen = budget.search(10, evaluate, 0.900, 0.5)
    assert tried == [0, 1, 2, 4] and steps[chosen].floats == 4           # 0.3 points below: the first within 0.5
    tried.clear()
    steps, chosen = budget.search(10, evaluate, 0.905, 0.1)              # never within 0.1: the best reached
    assert tried == [0, 1, 2, 4, 8, 10] and steps[chosen].floats == 10
    steps, chosen = budget.search(10, evaluate, 0.880, 0.0)              # plain int8 already holds
    assert [s.floats for s in steps] == [0] and chosen == 0


@pytest.mark.parametrize("quantize, dataset, said", [
    ({"max_drop": -1}, {}, "quantize.max_drop: got -1.0, expected a value in [0, 100]."),
    ({"max_drop": 100.5}, {}, "quantize.max_drop: got 100.5, expected a value in [0, 100]."),
    ({"max_drop": 0.5}, {"validation_split": 0}, "quantize.max_drop is held on the validation split, and "
                                                 "dataset.validation_split is 0; set it"),
])
def test_bad_budgets_are_one_sentence(quantize, dataset, said):
    raw = {"model": {"name": "micro_cnn"}, "dataset": {"name": "fashion_mnist", **dataset}, "quantize": quantize}
    with pytest.raises(UserError) as e:
        recipes.validate(raw, "r.yaml")
    assert said in str(e.value)


def test_max_drop_returns_the_worst_tensors_to_float_and_writes_the_curve(tmp_path):
    """A small CNN trained briefly, held to 0 points: the steps go on until int8 equals fp32 on the validation
    images or every tensor is float; each step is measured, the curve and the choice are written."""
    new_workspace(tmp_path)
    recipe = {"model": {"name": "micro_cnn", "options": {"widths": [8, 16]}},
              "dataset": {"name": "fashion_mnist", "input_shape": [32, 32, 1], "train_samples": 4000,
                          "validation_split": 0.02},
              "train": {"epochs": 2, "batch_size": 64, "learning_rate": 0.003, "bn_recalibration": 20},
              "calibration": {"path": "calib_data/fashion_mnist", "samples": 50},
              "bench": {"threads": 1, "runs": 10, "warmup": 2},
              "quantize": {"max_drop": 0.0}}
    (tmp_path / "recipes" / "tinyq.yaml").write_text(yaml.safe_dump(recipe))
    out = make(tmp_path, "build/tinyq/int8.tflite").stdout
    assert "quantize.max_drop 0: " in out and "(the curve: build/tinyq/quant_budget.md)" in out
    text = (tmp_path / "build" / "tinyq" / "quant_budget.md").read_text()
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ") and "KB" in line]
    floats = [int(r[0]) for r in rows]                                # 0, 1, 2, 4, ... (the last: every tensor)
    doubling = [0] + [2 ** i for i in range(len(floats) - 1)]
    assert floats[:-1] == doubling[:-1] and (len(floats) == 1 or doubling[-2] < floats[-1] <= doubling[-1])
    chosen = [r for r in rows if "**chosen**" in r[-1]]
    assert len(chosen) == 1 and "validation images" in text and "The test set is not used." in text
    met = float(chosen[0][2].strip()) >= 0                            # vs fp32, points
    assert ("Stopped: " in text) and (met == ("no set of float tensors met the budget" not in text))
    assert all(float(r[6]) > 0 for r in rows)                          # every step's latency measured
    manifest = json.loads((tmp_path / "build" / "tinyq" / "manifest.json").read_text())["artifacts"]
    assert manifest["quant_budget.md"]["stage"] == "int8"
