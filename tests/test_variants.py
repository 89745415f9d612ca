"""Variant names and the choice of the variant to ship: pure logic, no TensorFlow."""

import pytest

from edgecnn.compress.choose import Candidate, choose, table
from edgecnn.errors import UserError
from edgecnn.variants import parse_source, parse_tflite


def test_variant_names():
    source, fmt = parse_tflite("pruned-80-qat-int8")
    assert (source.kind, source.percent, source.sparsity, fmt) == ("qat", 80, 0.8, "int8")
    assert source.file == "pruned-80-qat.h5" and source.parent == "pruned-80" and source.stage == "qat"
    assert not source.stored_sparse(fmt) and parse_source("pruned-80").stored_sparse("fp32")
    source = parse_source("pruned-80-clustered-8")
    assert (source.kind, source.parent, source.percent, source.clusters, source.stage) == \
        ("clustered", "pruned-80", 80, 8, "cluster")
    source, fmt = parse_tflite("int16x8")
    assert (source.name, source.file, fmt) == ("model", "model.keras", "int16x8")
    assert parse_source("clustered-16").file == "clustered-16.keras" and parse_source("qat").parent == "model"
    assert parse_tflite("pruned-0-fp32")[0].sparsity == 0.0


@pytest.mark.parametrize("name, expected", [
    ("pruned-100-int8", "sparsity 100 % is outside [0, 100)"),
    ("clustered-1-int8", "1 clusters is outside [2, 256]"),
    ("qat-fp32", "converts to int8 only"),
    ("int4", "must end in one of fp32, fp16, dynamic, int8, int16x8"),
    ("sparse-int8", "'sparse' is not a model variant"),
    ("qat-pruned-80-int8", "the steps from it in this order: slim-NN"),
    ("pruned-80-pruned-50-int8", "the steps from it in this order"),
    ("clustered-16-qat-int8", "QAT after clustering is not supported; convert clustered-16 directly"),
    ("model-int8", "named by format alone (int8)"),
])
def test_bad_variant_names(name, expected):
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_tflite(name)


def candidates():
    return [Candidate("fp32", 1000, 900, 0.910, 1.00), Candidate("int8", 300, 250, 0.905, 0.80),
            Candidate("pruned-80-int8", 250, 100, 0.880, 0.50), Candidate("fp16", 500, 450, 0.910, 1.01)]


def test_choose_the_fastest_within_budget():
    pool = candidates()
    assert choose(pool, pool[0], 1.0)[0].variant == "int8"           # pruned-80 is faster but 3 points down
    assert choose(pool, pool[0], 3.0)[0].variant == "pruned-80-int8"
    assert choose(pool, pool[0], 0.0)[0].variant == "fp32"           # fp32 never loses to itself
    text = table(pool, pool[0], 1.0, choose(pool, pool[0], 1.0)[0])
    assert "| int8 | 0 KB | 0 KB | 0.30x | 90.50 % | -0.50 | 0.800 | 0.800-0.800 | 0.80x | **best** |" in text


def test_a_speed_difference_within_the_runs_spread_is_a_tie_decided_by_size_then_steps():
    """Round medians that overlap are a tie, whatever the medians say; the smaller file after gzip wins it, then
    the one made in fewer steps; a file beaten in every round never wins. The order given changes nothing."""
    import random

    pool = [Candidate("fp32", 1000, 900, 0.910, 0.076, (0.074, 0.076, 0.079)),
            Candidate("fp16", 500, 450, 0.910, 0.075, (0.073, 0.075, 0.078)),
            Candidate("int8", 300, 250, 0.909, 0.061, (0.058, 0.061, 0.064)),
            Candidate("clustered-16-int8", 300, 250, 0.908, 0.057, (0.056, 0.057, 0.063)),   # lower median, tie
            Candidate("pruned-80-int8", 300, 120, 0.880, 0.066, (0.060, 0.066, 0.070))]      # 3 points down
    for _ in range(5):
        random.shuffle(pool)
        fp32 = next(c for c in pool if c.variant == "fp32")
        best, why = choose(pool, fp32, 1.0)
        assert best.variant == "int8", why                  # ties clustered-16-int8 in size, made in fewer steps
        assert "faster than fp32, fp16 in every round" in why or "faster than fp16, fp32 in every round" in why
        assert "ties with clustered-16-int8 (0.056-0.063 ms)" in why and "fewer steps (1)" in why
        best, why = choose(pool, fp32, 5.0)
        assert best.variant == "pruned-80-int8" and "the smallest of them after gzip (0 KB)" in why


def test_a_budget_no_candidate_meets_names_the_closest():
    pool = candidates()
    with pytest.raises(UserError, match=r"no candidate is within 0.1 points .* the closest is int8 at 90.50 %"):
        choose(pool, pool[0], 0.1, eligible={"int8", "pruned-80-int8"})
