"""The study's table and plot (make compare) from rows: Pareto front, ratios to VGG16, CSV, PNG."""

import csv
import json
import io

import pytest

from edgecnn.errors import UserError
from edgecnn.study.plot import plot
from edgecnn.study.table import Row, markdown, pareto, reference_row, to_csv


def rows():
    return [Row("vgg16", "fp32", 33_600_000, 313_000_000, 134_000_000, 0.930, 6.0, "baseline"),
            Row("vgg16", "int8", 33_600_000, 313_000_000, 33_700_000, 0.928, 2.0, "baseline"),
            Row("mobilenet_v2", "fp32", 420_000, 6_000_000, 1_600_000, 0.912, 0.20, "edge"),
            Row("mobilenet_v2", "int8", 420_000, 6_000_000, 620_000, 0.911, 0.15, "edge", best=True),
            Row("lenet5", "int8", 60_000, 400_000, 70_000, 0.880, 0.15, "baseline"),    # as fast, less accurate
            Row("resnet50", "fp32", 23_500_000, 90_000_000, 94_000_000, 0.925, 3.0, "baseline")]


def test_pareto_front_keeps_only_rows_nothing_beats():
    front = [(r.model, r.variant) for r in pareto(rows())]
    # lenet5 is beaten by mobilenet_v2 int8 (as fast, more accurate); resnet50 by vgg16 int8
    assert front == [("mobilenet_v2", "int8"), ("mobilenet_v2", "fp32"), ("vgg16", "int8"), ("vgg16", "fp32")]


def test_markdown_and_csv_relative_to_vgg16(tmp_path):
    data = rows()
    ref = reference_row(data)
    text = markdown(data, ref)
    assert "| mobilenet_v2 | edge | int8 (best) | 0.42 M | 6.0 M | 605 KB | 91.10 % | 0.150 | 0.025x | 216.1x | yes |" in text
    assert "| lenet5 | baseline | int8 |" in text and text.count("| yes |") == 4
    table = list(csv.DictReader(io.StringIO(to_csv(data, ref))))
    assert len(table) == 6 and float(table[3]["latency_vs_reference"]) == pytest.approx(0.025)
    assert table[4]["pareto"] == "False" and table[3]["pareto"] == "True"
    with pytest.raises(UserError, match="no vgg16 fp32 row"):
        reference_row(data[2:])


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "compare.png"
    plot(rows(), path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


# --- edgecnn compare: the study's build folders, the headline -------------------------------------------

from edgecnn.study.compare import Build, _shared, find_builds, headline  # noqa: E402


def _fake_build(root, name, model, best="int8", candidates=("fp32", "fp16", "dynamic", "int8"), train=None):
    folder = root / name
    folder.mkdir(parents=True)
    recipe = {"model": {"name": model, "options": {}}, "train": train or {"epochs": 2}}
    (folder / "recipe.json").write_text(json.dumps(recipe))
    (folder / "optimize.json").write_text(json.dumps(
        {"best": best, "candidates": [{"variant": v, "top1": 0.9} for v in candidates]}))
    for v in candidates:
        (folder / f"{v}.tflite").write_bytes(b"x")
    return folder


def test_find_builds_says_which_make_target_fills_an_empty_build(tmp_path):
    with pytest.raises(UserError, match=r"no compare_\* builds to compare; run `make compare`"):
        find_builds(tmp_path, "compare")
    with pytest.raises(UserError, match=r"no quick_\* builds .*`make compare QUICK=1`"):
        find_builds(tmp_path, "quick")
    with pytest.raises(UserError, match=r"there are no recipes/nosuch_\*\.yaml"):
        find_builds(tmp_path, "nosuch")


def test_find_builds_reads_each_models_choice_and_adds_a_best_outside_fp32_fp16_int8(tmp_path):
    _fake_build(tmp_path, "compare_vgg16", "vgg16", best="fp32")
    _fake_build(tmp_path, "compare_lenet5", "lenet5", best="dynamic")
    builds = find_builds(tmp_path, "compare")
    assert [b.model for b in builds] == ["lenet5", "vgg16"]
    assert builds[0].variants() == ["fp32", "fp16", "int8", "dynamic"] and builds[1].variants() == ["fp32", "fp16", "int8"]


def test_find_builds_names_a_missing_best_or_variant(tmp_path):
    folder = _fake_build(tmp_path, "compare_vgg16", "vgg16")
    (folder / "optimize.json").unlink()
    with pytest.raises(UserError, match=r"optimize.json is missing.*make .*compare_vgg16/best.tflite"):
        find_builds(tmp_path, "compare")
    _fake_build(tmp_path / "b", "compare_lenet5", "lenet5", candidates=("fp32", "int8"))
    with pytest.raises(UserError, match=r"fp16.tflite has no measured accuracy; add fp16 to optimize.candidates"):
        find_builds(tmp_path / "b", "compare")


def test_a_study_whose_models_trained_differently_is_refused(tmp_path):
    _fake_build(tmp_path, "compare_vgg16", "vgg16")
    _fake_build(tmp_path, "compare_lenet5", "lenet5", train={"epochs": 3})
    with pytest.raises(UserError, match=r"differ in their train: section"):
        _shared(find_builds(tmp_path, "compare"), "train")


def test_headline_checks_accuracy_speed_and_size_against_the_baselines():
    data = [Row("vgg16", "fp32", 1, 1, 134_000_000, 0.930, 6.0, "baseline"),
            Row("resnet50", "fp32", 1, 1, 94_000_000, 0.935, 3.0, "baseline"),
            Row("mobilenet_v2", "int8", 1, 1, 2_600_000, 0.921, 0.29, "edge"),               # all three
            Row("mobilenet_v3_small", "int8", 1, 1, 1_000_000, 0.915, 0.20, "edge"),         # 2.0 points off
            Row("squeezenet1_1", "fp16", 1, 1, 1_500_000, 0.934, 0.25, "edge", best=True),   # too big? no: 89x
            Row("mobilenet_v1", "int8", 1, 1, 3_000_000, 0.934, 0.31, "edge"),               # 19.4x faster
            Row("mobilenet_v1", "fp32", 1, 1, 12_000_000, 0.936, 0.30, "edge")]              # not int8/best
    text, passing = headline(data, data[0])
    assert "Most accurate baseline file: resnet50 fp32, 93.50 %" in text
    assert "- yes mobilenet_v2 int8: -1.40 points, 20.7x faster, 51.5x smaller" in text
    assert "- no  mobilenet_v3_small int8: -2.00 points" in text
    assert "- yes squeezenet1_1 fp16: -0.10 points" in text
    assert "- no  mobilenet_v1 int8: -0.10 points, 19.4x faster" in text
    assert "mobilenet_v1 fp32" not in text
    assert passing == 2 and "2 of 4 edge files meet all three." in text


def test_compare_measures_a_study_in_one_run_and_writes_the_reports(tmp_path, tiny_models, monkeypatch):
    """Two builds made of real .tflite files (the tiny MobileNetV2 stands in for both models' files):
    one interleaved benchmark, params and MACs from the zoo, top-1 from optimize.json, reports written."""
    import shutil

    from edgecnn.artifacts import sha256_file
    from edgecnn.sources import modules
    from edgecnn.study.compare import compare

    _, paths = tiny_models
    recipe = {"dataset": {"name": "fashion_mnist", "input_shape": [32, 32, 1], "train_samples": 100},
              "train": {"epochs": 1, "batch_size": 128, "optimizer": "adam", "learning_rate": 0.002,
                        "schedule": "cosine", "augmentation": []},
              "calibration": {}, "convert": {}, "optimize": {"budget": 1.0},
              "bench": {"threads": 1, "runs": 3, "warmup": 1, "test_samples": 10}}
    for model, options, best in (("vgg16", {}, "fp32"), ("mobilenet_v2", {"alpha": 0.35}, "int8")):
        folder = tmp_path / "build" / f"t_{model}"
        folder.mkdir(parents=True)
        (folder / "recipe.json").write_text(json.dumps({**recipe, "model": {"name": model, "options": options}}))
        (folder / "optimize.json").write_text(json.dumps({"best": best, "candidates": [
            {"variant": "fp32", "top1": 0.91}, {"variant": "fp16", "top1": 0.91}, {"variant": "int8", "top1": 0.9}]}))
        for variant, source in (("fp32", "fp32"), ("fp16", "fp32"), ("int8", "int8")):
            shutil.copy(paths[source], folder / f"{variant}.tflite")
        if model == "vgg16":        # what its build's commands ran, as a manifest records it; mobilenet_v2 has none
            (folder / "manifest.json").write_text(json.dumps({"artifacts": {"fp32.tflite": {
                "code": modules(("edgecnn.train",), loaded=False), "sha256": sha256_file(folder / "fp32.tflite"),
                "bytes": (folder / "fp32.tflite").stat().st_size}}}))
    reports = tmp_path / "reports"
    text = compare("t", tmp_path / "build", reports)
    assert "# Study `t`: 2 of 2 models on fashion_mnist" in text
    assert "Made by `make compare STUDY=t`. Training: 1 epoch(s) on 100 training images" in text
    assert "Latency: 2 interleaved edgecnn-bench runs over all 6 files" in text and "the lower of its runs'" in text
    assert "| vgg16 | baseline | fp32 (best) | 33.64 M | 330.9 M |" in text
    assert "| mobilenet_v2 | edge | int8 (best) | 0.42 M | 4.5 M | 592 KB | 90.00 % |" in text
    assert "Most accurate baseline file: vgg16 fp32, 91.00 % top-1" in text and "0 of 1 edge files" in text
    assert "- int8 against fp32, top-1: -1.00 to -1.00 points; 0 of 2 models within 0.5 points, not mobilenet_v2 " \
           "(-1.00), vgg16 (-1.00)." in text
    table = list(csv.DictReader(io.StringIO((reports / "t.csv").read_text())))
    assert [(r["model"], r["variant"]) for r in table][:3] == [("vgg16", "fp32"), ("vgg16", "fp16"), ("vgg16", "int8")]
    assert all(float(r["median_ms"]) > 0 for r in table) and len(table) == 6
    assert (reports / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert (reports / "t.md").read_text() == text

    # each model's row file: its figures as the table shows them, its files' digests, what made them
    from edgecnn.study import rows

    vgg = json.loads((reports / "t" / "vgg16.json").read_text())
    assert vgg["files"] == {v: sha256_file(tmp_path / "build" / "t_vgg16" / f"{v}.tflite") for v in ("fp32", "fp16", "int8")}
    assert [(r["variant"], r["median_ms"]) for r in vgg["rows"]] == [(r["variant"], float(r["median_ms"]))
                                                                     for r in table[:3]]
    assert {"edgecnn/bench/measure.py", "edgecnn/train/fit.py", "edgecnn/zoo/macs.py"} <= set(vgg["modules"])
    assert "edgecnn/convert/converter.py" not in vgg["modules"] and len(vgg["fingerprint"]) == 12
    assert f"- vgg16: {vgg['date']}, {vgg['cpu']} ({vgg['cores']} cores), fingerprint {vgg['fingerprint']}: current" in text
    assert f"fingerprint {json.loads((reports / 't' / 'mobilenet_v2.json').read_text())['fingerprint']}: made by " \
           f"older code or recipe (made from {tmp_path / 'build' / 't_mobilenet_v2'}, built before builds recorded " \
           f"their code (build it again))" in text

    # a row made by older code is marked; a damaged one is named, ignored and made again from its build
    module = next(iter(vgg["modules"]))
    (reports / "t" / "vgg16.json").write_text(json.dumps({**vgg, "modules": {**vgg["modules"], module: "0" * 16}}))
    (reports / "t" / "mobilenet_v2.json").write_text("{damaged")
    warned = []
    again = compare("t", tmp_path / "build", reports, warn=warned.append)
    assert warned == [f"edgecnn: warning: {reports / 't' / 'mobilenet_v2.json'} is damaged (JSONDecodeError: "
                      f"Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); it is ignored "
                      f"and made again by the next `make compare STUDY=t`."]
    assert f"- vgg16: {vgg['date']}, {vgg['cpu']} ({vgg['cores']} cores), fingerprint {vgg['fingerprint']}: made by " \
           f"older code or recipe (changed since: {module})" in again
    assert rows.read(reports / "t" / "mobilenet_v2.json")[0]["model"] == "mobilenet_v2"
    assert rows.load("t", reports)["vgg16"]["stale"] == [f"changed since: {module}"]

    # while its build's files are what today's code and recipe make, a stale row is measured again, not rebuilt
    monkeypatch.setattr(rows, "build_current", lambda build: build.model == "vgg16")
    remeasured = compare("t", tmp_path / "build", reports)
    now = json.loads((reports / "t" / "vgg16.json").read_text())
    assert rows.load("t", reports)["vgg16"]["stale"] == [] and now["modules"][module] != "0" * 16
    assert f"- vgg16: {now['date']}, {now['cpu']} ({now['cores']} cores), fingerprint {now['fingerprint']}: current" \
        in remeasured

    # rows measured on two CPUs (a build no longer here): the latency sentence says that ratios across them compare
    # the machines too
    other = json.loads((reports / "t" / "mobilenet_v2.json").read_text())
    (reports / "t" / "mobilenet_v2.json").write_text(json.dumps({**other, "cpu": "Another CPU"}))
    mixed = compare("t", tmp_path / "build", reports, skip={"mobilenet_v2"})
    assert f"{now['cpu']} (1 model)" in mixed and "Another CPU (1 model)" in mixed and "compares the machines" in mixed
    (reports / "t" / "mobilenet_v2.json").write_text(json.dumps(other))

    # a row measured with other shared sections (the study's base edited since) is named, not tabulated
    old = json.loads((reports / "t" / "mobilenet_v2.json").read_text())
    old["shared"]["train"]["epochs"] = 9
    (reports / "t" / "mobilenet_v2.json").write_text(json.dumps(old))
    apart = compare("t", tmp_path / "build", reports)
    assert "Left out of the table: mobilenet_v2, measured with other settings of the study's shared sections" in apart
    assert "| mobilenet_v2 |" not in apart and "| vgg16 |" in apart

    # a study without its reference row yet says when its headline comes
    (reports / "t" / "vgg16.json").unlink()
    without = compare("t", tmp_path / "build", reports, skip={"vgg16"})
    assert "| mobilenet_v2 |" in without and "No vgg16 fp32 row yet" in without


def test_compare_on_an_empty_build_says_which_make_target_fills_it(tmp_path):
    from conftest import run_cli

    (tmp_path / "build").mkdir()
    proc = run_cli("compare", "--build", tmp_path / "build", "--out", tmp_path / "reports")
    assert proc.returncode == 2 and not (tmp_path / "reports").exists()
    assert proc.stderr.strip().splitlines()[-1] == (
        f"edgecnn: error: {tmp_path / 'build'}/ has no compare_* builds to compare; run `make compare`, which "
        f"builds them from recipes/compare_*.yaml.")


def test_each_ablation_row_adds_one_choice_to_the_row_it_names(monkeypatch):
    """make ablation's rows: every recipe differs from its base row in train: alone, the table says how."""
    from conftest import ROOT
    from edgecnn import recipe as recipes
    from edgecnn.study.ablation import added, rows

    monkeypatch.chdir(ROOT)
    found = rows()
    assert found[0] == ("ablation_0_baseline", None) and len(found) >= 6
    loaded = {name: recipes.load(f"recipes/{name}.yaml").data for name, _ in found}
    for name, parent in found[1:]:
        assert parent in loaded, name
        mine, base = loaded[name], loaded[parent]
        assert {s for s in mine if mine[s] != base[s]} == {"train"}, name
        assert added(mine["train"], base["train"]) not in ("", "baseline")
    assert added(loaded["ablation_3_warmup_decay"]["train"], loaded["ablation_2_erasing"]["train"]) == \
        "warmup_epochs: 1, weight_decay: 0.02"


def test_ablation_table_calls_a_change_within_the_noise_no_clear_change():
    from edgecnn.study.ablation import markdown

    def row(name, parent, fp32, int8):
        return {"recipe": name, "on_top_of": parent, "adds": name, "train_minutes": 1.0,
                "fp32": {"top1": fp32, "bytes": 1}, "int8": {"top1": int8, "bytes": 1}}

    report = {"date": "d", "cpu": "c", "runtime": "r", "model": {"name": "m", "options": {}}, "epochs": 3,
              "train_images": 30000, "test_images": 10000,
              "rows": [row("a", None, 0.90, 0.899), row("b", "a", 0.91, 0.905), row("c", "b", 0.911, 0.91),
                       row("d", "b", 0.90, 0.90)]}
    lines = markdown(report).splitlines()
    assert "| b | b | a | 91.00 % | 90.50 % | -0.50 | +1.00 | helps |" in lines[5]
    assert "| +0.10 | no clear change |" in lines[6] and "| -1.00 | hurts |" in lines[7]


def test_a_row_records_its_models_family_modules_and_not_the_others():
    """The registry imports every family's module; a row keeps only its builder's and what that imports, so an
    edit of another family leaves it current."""
    from edgecnn.study.rows import unused_families

    idle = unused_families("se_resnet50")
    assert "edgecnn/zoo/mobilenet_v2.py" in idle and "edgecnn/zoo/densenet.py" in idle
    assert not {"edgecnn/zoo/senet.py", "edgecnn/zoo/resnet.py"} & idle      # SE-ResNet is built on ResNet's blocks
