"""The study commands that write committed reports (make peer, int8-speed, reference, stem-trade, ablation;
grouped_conv.py, epoch_time.py): each run for real on a tiny input (their full runs take minutes to hours and
are in docs/), its table's figures held to what it measured; and the one sentence for what they refuse."""

import json
import math
import shutil

import numpy as np
import pytest
import yaml

from conftest import ROOT

CALIB = ROOT / "calib_data" / "fashion_mnist"


def cells(markdown, *first):
    """The cells of the one markdown table row that starts with the cells `first`."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in markdown.splitlines()
            if line.startswith("|")]
    (row,) = [r for r in rows if r[:len(first)] == list(first)]
    return row


def labelled_set(count=100):
    """testset.npz's bytes: `count` labelled Fashion-MNIST images of calib_data/ (every class), padded to 32x32x1."""
    import io

    from edgecnn.bench.labelled import load_image_folder
    from edgecnn.data.preprocess import fit_images

    x, y, names = load_image_folder(str(CALIB))
    step = len(y) // count
    buf = io.BytesIO()
    np.savez_compressed(buf, x=fit_images(x[::step], (32, 32, 1), "pad"), y=y[::step], class_names=np.array(names))
    return buf.getvalue()


def built(folder, recipe, tests, seed=0):
    """`folder` as make leaves a build for the study commands: recipe.json, testset.npz (the bytes `tests`), and
    the recipe's model, untrained (batch-norm statistics from the calibration images, as int8_speed.py takes
    them), as fp32.tflite and uint8-I/O int8.tflite by edgecnn's converter."""
    from edgecnn.convert import converter as convert
    from edgecnn.data.calibration import load_calibration
    from edgecnn.study.int8_speed import recalibrated
    from edgecnn.tf import keras
    from edgecnn.zoo import build_model

    keras.utils.set_random_seed(seed)
    shape = recipe["dataset"]["input_shape"]
    calibration = load_calibration(CALIB, shape, 50)
    model = recalibrated(build_model(recipe["model"]["name"], shape, 10, recipe["model"]["options"]), calibration)
    folder.mkdir(parents=True)
    (folder / "recipe.json").write_text(json.dumps(recipe, indent=2))
    (folder / "testset.npz").write_bytes(tests)
    (folder / "fp32.tflite").write_bytes(convert.to_fp32(model))
    (folder / "int8.tflite").write_bytes(convert.to_int8(model, calibration, "uint8"))
    return model


def top1(path, tests):
    """The file's top-1 on the test set, measured here in this process by edgecnn-bench's own loop."""
    from edgecnn.bench.labelled import load_npz
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime

    x, y, _ = load_npz(tests)
    return Loaded(path, pick_runtime(), 1).accuracy(x, y)["top1"]


def test_the_peer_benchmark_names_the_models_keras_has(capsys):
    from edgecnn.study import peer

    assert peer.main(["squeezenet1_1", "mobilenet_v2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no application for squeezenet1_1" in err[0] and "mobilenet_v3_small" in err[0]


@pytest.mark.slow     # ~30 s: the peer's own conversion (Keras' SavedModel round trip) is ~10 s a file at any input
def test_the_peer_table_is_what_the_benchmark_measured_of_ours_and_the_peers_files(tmp_path, monkeypatch):
    """MobileNetV3 Small at 32x32x3, ours and Keras' application converted and measured (one repeat): the table
    is the json's figures, each ratio ours / the peer's measured median, the params the two Keras models'."""
    from edgecnn.study import peer
    from edgecnn.tf import keras
    from edgecnn.zoo.registry import build_model

    monkeypatch.chdir(tmp_path)
    assert peer.main(["mobilenet_v3_small", "--input", "32x32x3", "--repeats", "1"]) == 0
    report = json.loads((tmp_path / "reports/peer.json").read_text())
    (row,) = report["rows"]
    files = sorted((tmp_path / "build/peer/mobilenet_v3_small").glob("*.tflite"))
    assert (row["model"], report["input"]) == ("mobilenet_v3_small", "32x32x3") and len(files) == 4
    ms, params = row["median_ms"], row["params"]
    for fmt in ("fp32", "int8"):                          # one repeat: its ours / peer
        assert row["ratio"][fmt] == pytest.approx(ms[f"ours-{fmt}"] / ms[f"peer-{fmt}"], rel=1e-12)
    for who in ("ours", "peer"):
        assert row["int8_over_fp32"][who] == pytest.approx(ms[f"{who}-int8"] / ms[f"{who}-fp32"], rel=1e-12)
    assert row["bytes"] == {f.stem: f.stat().st_size for f in files} and set(ms) == set(row["bytes"])
    assert row["first_ops"] == {f.stem: peer.first_ops(f) for f in files}
    assert params["ours"] == build_model("mobilenet_v3_small", (32, 32, 3), 1000, {"stem_stride": 2}).count_params()
    assert params["peer"] == keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3)).count_params()
    md = (tmp_path / "reports/peer.md").read_text()
    assert "the plain way, untrained, 32x32x3, 1,000 classes; median of 1 interleaved 1-thread runs" in md
    ratio, over, seconds, ops = row["ratio"], row["int8_over_fp32"], row["convert_s"], row["first_ops"]
    assert cells(md, "mobilenet_v3_small") == [
        "mobilenet_v3_small", f"{params['ours']:,} / {params['peer']:,}",
        f"{ms['ours-fp32']:.2f} / {ms['peer-fp32']:.2f}", f"**{ratio['fp32']:.3f}**",
        f"{ms['ours-int8']:.2f} / {ms['peer-int8']:.2f}", f"**{ratio['int8']:.3f}**",
        f"{over['ours']:.2f}", f"{over['peer']:.2f}", f"{seconds['ours']:.1f} / {seconds['peer']:.1f}",
        " ".join(ops["ours-int8"]), " ".join(ops["peer-int8"])]


def test_the_int8_speed_table_is_the_measured_medians_of_each_input(tmp_path, monkeypatch):
    """micro_cnn (the zoo's smallest edge model) at both inputs, one repeat: the files are the model at each
    input, the table the json's figures, int8 / fp32 the ratio of the measured medians, the partitions the files'."""
    from ai_edge_litert.interpreter import Interpreter

    from edgecnn.study import int8_speed

    monkeypatch.chdir(tmp_path)
    assert int8_speed.main(["micro_cnn", "--repeats", "1"]) == 0
    report = json.loads((tmp_path / "reports/int8_speed.json").read_text())
    # what made it: the command, and the code it ran, current until that code changes (test_provenance)
    from edgecnn.study import provenance

    made = json.loads((tmp_path / "reports/int8_speed.provenance.json").read_text())
    assert made["command"] == "python -m edgecnn.study.int8_speed micro_cnn --repeats 1" and made["recipes"] == {}
    assert {"edgecnn/study/int8_speed.py", "edgecnn/convert/converter.py", "edgecnn/bench/measure.py"} <= set(made["modules"])
    assert provenance.stale(tmp_path / "reports/int8_speed.md") == []
    assert (tmp_path / "reports/int8_speed.md").read_text().endswith(provenance.footer(made))
    assert [(r["model"], r["input"]) for r in report["rows"]] == [("micro_cnn", label) for label in int8_speed.SIZES]
    md = (tmp_path / "reports/int8_speed.md").read_text()
    for r in report["rows"]:
        shape, classes = int8_speed.SIZES[r["input"]]
        files = {fmt: tmp_path / "build/int8_speed" / r["input"] / f"micro_cnn-{fmt}.tflite" for fmt in ("fp32", "int8")}
        for path in files.values():
            interp = Interpreter(model_path=str(path))
            assert list(interp.get_input_details()[0]["shape"]) == [1, *shape]
            assert interp.get_output_details()[0]["shape"][-1] == classes
        assert r["partitions"] == {fmt: int8_speed.partitions(path) for fmt, path in files.items()}
        assert r["int8_over_fp32"] == pytest.approx(r["int8_ms"] / r["fp32_ms"], rel=1e-12)    # one repeat
        over = "" if r["int8_over_fp32"] <= int8_speed.TARGET else " (over)"
        assert cells(md, "micro_cnn", r["input"]) == [
            "micro_cnn", r["input"], f"{r['fp32_ms']:.3f}", f"{r['int8_ms']:.3f}", f"{r['int8_over_fp32']:.2f}{over}",
            f"{r['partitions']['fp32']} / {r['partitions']['int8']}"]


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


def test_the_stem_trade_measures_each_stride_of_a_model_and_their_trade(tmp_path, monkeypatch):
    """MobileNetV1 (alpha 0.25, untrained) built at stem stride 1 and 2 into a build/ of its own, as
    `make stem-trade` names them: the table is the json's figures, each file's top-1 what that file scores on
    the test set, params and MACs the Keras model's, the arena the smallest TFLM runs the int8 file in (or
    TFLM's refusal, said under the table), the trade column the ratios of the two rows."""
    from edgecnn.bench.tflm import probe
    from edgecnn.recipe import load
    from edgecnn.study import stem
    from edgecnn.zoo.macs import count_macs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").mkdir()
    shutil.copy(ROOT / "recipes/stride2_mobilenet_v1.yaml", tmp_path / "recipes")    # stem.models() lists these
    tests, models = labelled_set(), {}
    for stride, pattern in stem.STRIDES.items():
        recipe = load(ROOT / "recipes" / f"{pattern.format('mobilenet_v1')}.yaml").data
        recipe["model"]["options"]["alpha"] = 0.25
        models[stride] = built(tmp_path / "build" / pattern.format("mobilenet_v1"), recipe, tests, seed=stride)
    assert stem.main(["--runs", "3"]) == 0
    report = json.loads((tmp_path / "reports/stem_trade.json").read_text())
    md = (tmp_path / "reports/stem_trade.md").read_text()
    assert [(r["model"], r["stem_stride"]) for r in report["rows"]] == [("mobilenet_v1", 1), ("mobilenet_v1", 2)]
    assert report["test_images"] == 100 and report["runs"] == 3
    for r in report["rows"]:
        folder = tmp_path / "build" / r["recipe"]
        assert (r["params"], r["macs"]) == (models[r["stem_stride"]].count_params(), count_macs(models[r["stem_stride"]]))
        for fmt in stem.FORMATS:
            assert r[fmt]["top1"] == top1(folder / f"{fmt}.tflite", folder / "testset.npz")
            assert r[fmt]["bytes"] == (folder / f"{fmt}.tflite").stat().st_size and r[fmt]["median_ms"] > 0
        if r["arena_bytes"]:               # the smallest arena, to 16 bytes
            assert probe(folder / "int8.tflite", r["arena_bytes"]).ok
            assert not probe(folder / "int8.tflite", r["arena_bytes"] - 16).ok and r["tflm_refused"] is None
        else:
            assert f"TFLite Micro: {r['tflm_refused']}" in md and str(folder.relative_to(tmp_path)) in r["tflm_refused"]
        assert cells(md, "mobilenet_v1", str(r["stem_stride"]))[:8] == [
            "mobilenet_v1", str(r["stem_stride"]), f"{r['macs'] / 1e6:.1f} M", f"{100 * r['fp32']['top1']:.2f} %",
            f"{100 * r['int8']['top1']:.2f} %", f"{r['fp32']['median_ms']:.3f}", f"{r['int8']['median_ms']:.3f}",
            f"{r['arena_bytes'] / 1024:.0f}" if r["arena_bytes"] else "TFLM refuses"]
    s1, s2 = report["rows"]
    assert s1["macs"] > 3 * s2["macs"]                  # stride 1 keeps 4x the stem's pixels
    arenas = f"{s1['arena_bytes'] / s2['arena_bytes']:.2f}x" if s1["arena_bytes"] and s2["arena_bytes"] else "—"
    assert cells(md, "mobilenet_v1", "1")[8] == (
        f"{s1['macs'] / s2['macs']:.2f}x, {s1['int8']['median_ms'] / s2['int8']['median_ms']:.2f}x, {arenas}, "
        f"{100 * (s1['int8']['top1'] - s2['int8']['top1']):+.2f}")
    assert cells(md, "mobilenet_v1", "2")[8] == ""


def test_the_ablation_table_is_each_rows_measured_top1_and_its_change(tmp_path, monkeypatch):
    """The first two ablation rows (the baseline, crop on top of it) built untrained from their recipes into a
    build/ of its own: the table is the json's figures, each top-1 what that file scores on the test set, the
    change the difference of the two rows' fp32 top-1, the training minutes those of history.json."""
    from edgecnn.recipe import load
    from edgecnn.study import ablation

    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").mkdir()
    names = ["ablation_0_baseline", "ablation_1_crop"]
    tests, epochs = labelled_set(), {"ablation_0_baseline": [61.5, 58.25], "ablation_1_crop": [70.0, 69.5]}
    for seed, name in enumerate(names):
        shutil.copy(ROOT / "recipes" / f"{name}.yaml", tmp_path / "recipes")     # ablation.rows() lists these
        built(tmp_path / "build" / name, load(ROOT / "recipes" / f"{name}.yaml").data, tests, seed)
        (tmp_path / "build" / name / "history.json").write_text(
            json.dumps([{"epoch": i + 1, "seconds": s} for i, s in enumerate(epochs[name])]))
    assert ablation.main(["--runs", "2"]) == 0
    report = json.loads((tmp_path / "reports/ablation.json").read_text())
    base, crop = report["rows"]
    assert [(r["recipe"], r["on_top_of"]) for r in report["rows"]] == [(names[0], None), (names[1], names[0])]
    assert report["model"] == {"name": "mobilenet_v2", "options": {"alpha": 0.35}, "weights": None, "file": None}
    assert (report["test_images"], base["adds"], crop["adds"]) == (100, "baseline", "crop_padding: 3")
    for r in report["rows"]:
        folder = tmp_path / "build" / r["recipe"]
        assert r["train_minutes"] == round(sum(epochs[r["recipe"]]) / 60, 1)
        for fmt in ablation.FORMATS:
            assert r[fmt] == {"top1": top1(folder / f"{fmt}.tflite", folder / "testset.npz"),
                              "bytes": (folder / f"{fmt}.tflite").stat().st_size}
    md = (tmp_path / "reports/ablation.md").read_text()
    change = 100 * (crop["fp32"]["top1"] - base["fp32"]["top1"])
    for r, on_top, changed in ((base, "—", None), (crop, names[0], change)):
        assert cells(md, r["recipe"]) == [
            r["recipe"], r["adds"], on_top, f"{100 * r['fp32']['top1']:.2f} %", f"{100 * r['int8']['top1']:.2f} %",
            f"{100 * (r['int8']['top1'] - r['fp32']['top1']):+.2f}", "—" if changed is None else f"{changed:+.2f}",
            ablation.verdict(changed), str(r["train_minutes"])]


def test_the_grouped_conv_table_measures_native_against_split_files(tmp_path, monkeypatch):
    """A narrow ResNeXt (width 8, 2 groups) at 32x32x1, one repeat: the files hold the forms the report
    counts, the table is the json's figures, split / native the ratio of the measured medians."""
    from edgecnn.study import grouped_conv

    monkeypatch.chdir(tmp_path)
    argv = ["--input", "32x32x1", "--width", "8", "--cardinality", "2", "--repeats", "1"]
    assert grouped_conv.main(argv) == 0
    report = json.loads((tmp_path / "reports/grouped_conv.json").read_text())
    assert report["options"] == {"width": 8, "cardinality": 2}
    assert [(r["input"], r["format"], r["kernels"]) for r in report["rows"]] == \
        [("32x32x1", fmt, kernels) for fmt in ("fp32", "int8") for kernels in ("XNNPACK", "builtin")]
    md = (tmp_path / "reports/grouped_conv.md").read_text()
    assert md.startswith("resnext50_32x4d (width 8, cardinality 2)'s 16 grouped 3x3 convolutions (2 groups) as ")
    for r in report["rows"]:
        files = {form: tmp_path / "build/grouped_conv/32x32x1" / f"{form}-{r['format']}.tflite" for form in r["ops"]}
        assert r["ops"] == {form: grouped_conv.op_counts(path) for form, path in files.items()}
        assert r["bytes"] == {form: path.stat().st_size for form, path in files.items()}
        native, split = r["ops"]["native"], r["ops"]["split"]
        assert (split["SPLIT"], split["CONV_2D"] - native["CONV_2D"]) == (16, 16)    # 16 convs, each now 2
        assert r["split_over_native"] == pytest.approx(r["split_ms"] / r["native_ms"], rel=1e-12)
        assert cells(md, r["input"], r["format"], r["kernels"]) == [
            r["input"], r["format"], r["kernels"], f"{r['native_ms']:.2f}", f"{r['split_ms']:.2f}",
            f"{r['split_over_native']:.2f}", f"{r['bytes']['native']:,} / {r['bytes']['split']:,}"]


def test_the_epoch_time_measures_training_steps_at_the_study_budget(tmp_path, monkeypatch, capsys):
    """The study's epoch is the training images load_splits keeps of recipes/_compare.yaml's dataset (30,000);
    then a real timing of LeNet-5 and a narrow ResNeXt (native and split per group) at a budget written here
    (batch 2, no train_samples: all the images the validation split leaves); an unknown model, a zero step
    count, or a bad --option is one sentence and exit 2."""
    from edgecnn.data.datasets import load_splits
    from edgecnn.study import epoch_time
    from edgecnn.zoo import build_model
    from edgecnn.zoo.macs import count_macs

    compare = ROOT / "recipes" / "_compare.yaml"
    dataset = {"path": None, **yaml.safe_load(compare.read_text())["dataset"]}
    study = len(load_splits(dataset).x_train)               # the validation split first, then train_samples
    monkeypatch.setattr(epoch_time, "BUDGET", compare)
    assert epoch_time.budget() == ((32, 32, 1), 64, study) and study == 30_000

    everything = {**dataset, "train_samples": None}
    images = len(load_splits(everything).x_train)
    (tmp_path / "_tiny.yaml").write_text(yaml.safe_dump({"dataset": everything, "train": {"batch_size": 2}}))
    monkeypatch.setattr(epoch_time, "BUDGET", tmp_path / "_tiny.yaml")
    monkeypatch.chdir(tmp_path)
    narrow = {"width": 8, "cardinality": 2, "blocks": [1, 1, 1, 1]}       # a few seconds of tracing, not 20
    argv = ["lenet5", "resnext50_32x4d", "--split", "resnext50_32x4d", "--steps", "1",
            "--option", "resnext50_32x4d.width=8", "--option", "resnext50_32x4d.cardinality=2",
            "--option", "resnext50_32x4d.blocks=[1, 1, 1, 1]"]
    assert epoch_time.main(argv) == 0
    report = json.loads((tmp_path / "reports/epoch_time.json").read_text())
    assert (report["input"], report["batch"], report["images"]) == ("32x32x1", 2, images) and images == 54_000
    lenet, native, split = report["rows"]
    assert lenet["grouped_conv"] is None and (native["grouped_conv"], split["grouped_conv"]) == ("native", "split")
    assert (lenet["options"], native["options"], split["options"]) == ({}, narrow, narrow)
    resnext = build_model("resnext50_32x4d", (32, 32, 1), 10, narrow)
    assert native["params"] == split["params"] == resnext.count_params() and native["macs"] == count_macs(resnext)
    md = (tmp_path / "reports/epoch_time.md").read_text()
    assert f"({images:,} images of 32x32x1 at batch 2, Adam)" in md
    narrowed = "resnext50_32x4d (width 8, cardinality 2, blocks [1, 1, 1, 1])"
    for r, name in ((lenet, "lenet5"), (native, narrowed), (split, None)):
        assert r["steps"] == 1 and r["step_s"] > 0
        assert r["epoch_min"] == pytest.approx(r["step_s"] * math.ceil(images / 2) / 60, rel=1e-12)
        assert cells(md, name or narrowed, r["grouped_conv"] or "") == [
            name or narrowed, r["grouped_conv"] or "", f"{r['params'] / 1e6:.2f} M",
            f"{r['macs'] / 1e6:,.0f} M", "1", f"{r['step_s']:.2f}", f"{r['epoch_min']:,.1f}"]
    assert "| lenet5 |  | 0.06 M |" in md

    # the numeric modes (docs/training.md's table): LeNet-5 timed in float32, mixed bfloat16 and under XLA
    assert epoch_time.main(["lenet5", "--steps", "1", "--modes", "float32", "mixed_bfloat16", "xla",
                            "--report", "reports/cpu_training"]) == 0
    report = json.loads((tmp_path / "reports/cpu_training.json").read_text())
    assert [r["mode"] for r in report["rows"]] == ["float32", "mixed_bfloat16", "xla"]
    md = (tmp_path / "reports/cpu_training.md").read_text()
    base = report["rows"][0]["step_s"]
    for r in report["rows"]:
        assert cells(md, "lenet5", "", r["mode"])[-3:] == [f"{r['step_s']:.2f}", f"{r['epoch_min']:,.1f}",
                                                          f"{r['step_s'] / base:.2f}x"]
    capsys.readouterr()
    (tmp_path / "_tiny.yaml").write_text(yaml.safe_dump({"dataset": {**dataset, "samples_per_class": 10},
                                                         "train": {"batch_size": 2}}))
    for bad in (["resnet152"], ["lenet5", "--steps", "0"], ["resnext50_32x4d", "--option", "width=8"],
                ["resnext50_32x4d", "--option", "resnext50_32x4d.depth=3"],
                ["lenet5", "--option", "resnext50_32x4d.width=8"], ["lenet5"]):
        assert epoch_time.main(bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("epoch-time: ") for line in err)
    assert "resnet152 is not a zoo model" in err[0] and "--steps must be at least 1" in err[1]
    assert "--option takes MODEL.KEY=VALUE" in err[2] and "has no option 'depth'" in err[3]
    assert "which this run does not time" in err[4] and "counted for all of Fashion-MNIST only" in err[5]


def test_the_transfer_report_is_the_pairs_measured_top1_and_their_curves(tmp_path, monkeypatch, tiny_models):
    """edgecnn/study/transfer.py on two builds made of the same untrained int8 file: each row's top-1 is the
    benchmark's, the difference theirs, the curves read from each build's history.json, and the record written."""
    from edgecnn.study import transfer

    monkeypatch.chdir(tmp_path)
    base = {"model": {"name": "mobilenet_v2", "options": {"alpha": 0.35}},
            "dataset": {"classes": [5, 6, 7, 8, 9], "samples_per_class": 50},
            "train": {"epochs": 30, "optimizer": "adam", "learning_rate": 0.003, "schedule": "cosine"}}
    finetune = {**base, "model": {**base["model"], "weights": "build/transfer_pretrain/model.keras"},
                "train": {**base["train"], "learning_rate": 0.01, "freeze_backbone_epochs": 5,
                          "fine_tune_learning_rate": 0.001}}
    for name, recipe in (("transfer_scratch", base), ("transfer_finetune", finetune), ("transfer_pretrain", base)):
        folder = tmp_path / "build" / name
        folder.mkdir(parents=True)
        (folder / "recipe.json").write_text(json.dumps(recipe))
        (folder / "history.json").write_text(json.dumps([{"epoch": e, "val_accuracy": e / 100} for e in range(1, 31)]))
        shutil.copy(tiny_models[1]["int8"], folder / "int8.tflite")
    (tmp_path / "build" / "transfer_finetune" / "testset.npz").write_bytes(labelled_set(40))
    assert transfer.main(["--runs", "3"]) == 0
    report = json.loads((tmp_path / "reports" / "transfer.json").read_text())
    top1 = {m["path"].split("/")[1]: m["accuracy"]["top1"] for m in report["bench"]["models"]}
    md = (tmp_path / "reports" / "transfer.md").read_text()
    assert cells(md, "`transfer_scratch`") == ["`transfer_scratch`", "random weights",
                                               "30 epochs, Adam 0.003 (cosine), every layer",
                                               f"{100 * top1['transfer_scratch']:.2f} %"]
    assert cells(md, "`transfer_finetune`")[1:3] == [
        "`transfer_pretrain`", "5 epochs classifier alone at 0.01, then 25 epochs every layer but batch-norm at 0.001"]
    assert f"Transfer is **{100 * (top1['transfer_finetune'] - top1['transfer_scratch']):+.2f} points**" in md
    assert "Validation accuracy of `transfer_scratch` at epochs 1, 5, 10, 15, 20, 25, 30: 1.0, 5.0, 10.0, 15.0, " \
           "20.0, 25.0, 30.0 %." in md and "The source, `transfer_pretrain`, ended at validation accuracy 30.0 %" in md
    assert "top-1 accuracy" in md and (tmp_path / "reports" / "transfer.provenance.json").is_file()


def test_the_runtimes_table_is_each_runtimes_measured_medians(tiny_models, monkeypatch):
    """edgecnn/study/runtimes.py: the tiny files on LiteRT and on tflite-runtime 2.14 (the device env), with and
    without XNNPACK, one bench run each; every cell is that run's median."""
    from conftest import installed
    from edgecnn.study import runtimes

    installed(".device-venv/.installed", "the device env (numpy<2 + tflite-runtime 2.14)")
    monkeypatch.chdir(ROOT)
    files = [tiny_models[1]["int8"], tiny_models[1]["fp32"]]
    report = runtimes.run(files, 3, 1)
    assert [(r["env"], r["xnnpack"]) for r in report["results"]] == [
        ("this env", True), ("this env", False), ("device env", True), ("device env", False)]
    assert {r["runtime"]["name"] for r in report["results"]} == {"litert", "tflite-runtime"}
    md = runtimes.markdown(report)
    for env in ("this env", "device env"):
        fast, slow = (r for r in report["results"] if r["env"] == env)
        name = f"{fast['runtime']['name']} {fast['runtime']['version']}"
        assert cells(md, name) == [name, *(f"{r['median_ms'][str(f)]:.3f} ms" for r in (fast, slow) for f in files)]


def test_a_bench_files_report_is_one_runs_medians_and_top1(tiny_models, tmp_path, monkeypatch):
    """edgecnn/study/bench_files.py: two files in one interleaved run; each row is the run's median, its ratio to
    the first file's, its top-1."""
    from edgecnn.study import bench_files

    monkeypatch.chdir(tmp_path)
    (tmp_path / "testset.npz").write_bytes(labelled_set(40))
    files = [str(tiny_models[1]["fp32"]), str(tiny_models[1]["int8"])]
    assert bench_files.main([*files, "--data", "testset.npz", "--runs", "3", "--out", "reports/two"]) == 0
    report = json.loads((tmp_path / "reports" / "two.json").read_text())
    md = (tmp_path / "reports" / "two.md").read_text()
    first = report["models"][0]["latency_ms"]["median"]
    for m in report["models"]:
        assert cells(md, m["path"])[2:] == [f"{m['latency_ms']['median']:.3f}", f"{m['latency_ms']['median'] / first:.2f}",
                                            f"{100 * m['accuracy']['top1']:.2f} %"]
