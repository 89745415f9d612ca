"""make peer and make int8-speed: the models they take, and the one sentence for the others (their
measurements are in docs/speed.md; a run takes minutes at 224x224x3)."""

import json

import pytest


def test_the_peer_benchmark_names_the_models_keras_has(capsys):
    from edgecnn.study import peer

    assert peer.main(["squeezenet1_1", "mobilenet_v2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no application for squeezenet1_1" in err[0] and "mobilenet_v3_small" in err[0]


def test_the_int8_speed_table_takes_edge_models_only(capsys):
    from edgecnn.study import int8_speed

    assert int8_speed.main(["vgg16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vgg16 is not an edge model" in err[0] and "mobilenet_v3_small" in err[0]


def test_the_reference_table_measures_files_and_marks_accuracy_as_published(tmp_path, monkeypatch):
    """Two small zoo models at their reference inputs end to end: three files each, measured, written."""
    from edgecnn.study import reference
    from edgecnn.zoo.registry import entry, list_models
    from edgecnn.zoo.published import published

    monkeypatch.chdir(tmp_path)
    assert reference.main(["lenet5", "micro_cnn", "--runs", "3"]) == 0
    report = json.loads((tmp_path / "reports/reference.json").read_text())
    assert [r["model"] for r in report["rows"]] == ["lenet5", "micro_cnn"]
    for row in report["rows"]:
        assert row["input"] == "32x32x1" and row["published_top1"] is None       # not ImageNet models
        assert 3.0 < row["bytes"]["fp32"] / row["bytes"]["int8"] < 4.2          # int8 weights are a quarter
        assert 1.7 < row["bytes"]["fp32"] / row["bytes"]["fp16"] < 2.1
        assert all(ms > 0 for ms in row["median_ms"].values())
        assert row["params"] == entry(row["model"]).builder().count_params()
    assert "| lenet5 | baseline | 32x32x1 | 62 K | 417 K |" in (tmp_path / "reports/reference.md").read_text()
    assert (tmp_path / "reports/reference.png").stat().st_size > 10_000
    imagenet = [m for m in list_models() if entry(m).reference_classes == 1000]
    assert all(published(m) and 50 < published(m).top1 < 90 and published(m).source for m in imagenet)


def test_the_reference_table_names_the_zoo_for_an_unknown_model(capsys):
    from edgecnn.study import reference

    assert reference.main(["resnet152"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resnet152 is not a zoo model" in err[0] and "resnet50" in err[0]


def test_the_stem_trade_says_which_target_builds_its_files(tmp_path, monkeypatch, capsys):
    from edgecnn.study import stem

    assert stem.models() and all(m.startswith(("mobilenet", "efficientnet")) for m in stem.models())
    monkeypatch.setattr(stem, "builds", lambda root="build", real=stem.builds: real(str(tmp_path)))
    assert stem.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is missing: `make stem-trade` builds" in err[0]


def test_the_epoch_time_measures_training_steps_at_the_study_budget(tmp_path, monkeypatch, capsys):
    """A real timing of two small models (one split per group) at recipes/_compare.yaml's input and batch;
    an unknown model or a zero step count is one sentence and exit 2."""
    from conftest import ROOT
    from edgecnn.study import epoch_time

    monkeypatch.setattr(epoch_time, "BUDGET", ROOT / "recipes" / "_compare.yaml")
    monkeypatch.chdir(tmp_path)
    argv = ["lenet5", "resnext50_32x4d", "--split", "resnext50_32x4d", "--steps", "1"]
    monkeypatch.setattr(epoch_time, "step_seconds", lambda name, *a, real=epoch_time.step_seconds, **k:
                        real(name, *a, **k) if name == "lenet5" else (0.5, 1, 123))    # ResNeXt natively: minutes
    assert epoch_time.main(argv) == 0
    report = json.loads((tmp_path / "reports/epoch_time.json").read_text())
    assert (report["input"], report["batch"], report["images"]) == ("32x32x1", 64, 27_000)
    lenet, native, split = report["rows"]
    assert lenet["grouped_conv"] is None and (native["grouped_conv"], split["grouped_conv"]) == ("native", "split")
    assert 0 < lenet["step_s"] < 60 and lenet["epoch_min"] == pytest.approx(lenet["step_s"] * 422 / 60)
    assert native["macs"] > 1e9 and "| lenet5 |  | 0.06 M |" in (tmp_path / "reports/epoch_time.md").read_text()
    capsys.readouterr()
    assert epoch_time.main(["resnet152"]) == 2 and epoch_time.main(["lenet5", "--steps", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "resnet152 is not a zoo model" in err[0] and "--steps must be at least 1" in err[1]
