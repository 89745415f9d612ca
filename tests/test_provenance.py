"""Every report records what made it (edgecnn/study/provenance.py); a change of that code or those recipes
makes it stale, and the docs block including it and `make reports-check` say so."""

import json
import shutil

import pytest

from conftest import ROOT
from edgecnn.study import provenance
from edgecnn.study.include import refresh

RECIPE = "model: {name: micro_cnn}\ndataset: {name: fashion_mnist, input_shape: [32, 32, 1]}\ntrain: {epochs: 2}\n"


@pytest.fixture
def project(tmp_path):
    """A copy of the package and one recipe: code and recipes this test may change."""
    shutil.copytree(ROOT / "edgecnn", tmp_path / "edgecnn", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "t.yaml").write_text(RECIPE)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    return tmp_path


def test_a_report_goes_stale_when_its_code_or_recipe_changes_and_not_for_a_comment(project):
    import edgecnn.study.peer  # noqa: F401  (the command this report pretends to be: its module is loaded)

    report = project / "reports" / "r.md"
    made = provenance.record(report, "python -m edgecnn.study.peer x", [project / "recipes" / "t.yaml"],
                             ("edgecnn.convert",), root=project)
    assert json.loads((project / "reports" / "r.provenance.json").read_text()) == made
    assert {"edgecnn/study/peer.py", "edgecnn/convert/converter.py",
            "edgecnn/convert/fold_check.py"} <= set(made["modules"])        # loaded here, or in the package named
    assert "edgecnn/study/provenance.py" not in made["modules"]             # it keeps records, it makes no figure
    assert list(made["recipes"]) == ["recipes/t.yaml"] and len(made["fingerprint"]) == 12
    assert made["runtimes"]["tensorflow"] and made["command"] == "python -m edgecnn.study.peer x"
    assert provenance.stale(report, project) == [] and provenance.note(report, project) is None

    peer = project / "edgecnn" / "study" / "peer.py"
    code = peer.read_text()
    peer.write_text("# a comment\n" + code.replace('"""`make peer`:', '"""`make peer` (reworded):', 1)
                    .replace("OUT = Path(\"build/peer\")", "OUT = Path(\"build/peer\")   # a trailing comment\n\n"))
    assert provenance.stale(report, project) == []                # no figure changes with a docstring
    peer.write_text(code.replace("SIZE, CLASSES = (224, 224, 3), 1000", "SIZE, CLASSES = (224, 224, 3), 999"))
    assert provenance.stale(report, project) == ["changed since: edgecnn/study/peer.py"]

    (project / "recipes" / "t.yaml").write_text(RECIPE.replace("epochs: 2", "epochs: 3"))
    (project / "edgecnn" / "convert" / "fold_check.py").unlink()
    assert provenance.stale(report, project) == ["changed since: edgecnn/study/peer.py, recipes/t.yaml",
                                                 "gone since: edgecnn/convert/fold_check.py"]
    said = provenance.note(report, project)
    assert said.startswith(f"> **Stale report**: {report.as_posix()} may no longer be what today's code measures ")
    assert "rerun `python -m edgecnn.study.peer x`" in said

    (project / "reports" / "r.provenance.json").write_text("{not json")
    assert provenance.stale(report, project) == ["its record r.provenance.json is damaged"]
    (project / "reports" / "r.provenance.json").unlink()
    assert provenance.stale(report, project) == ["no record of the code and recipes that made it"]


def test_the_docs_block_of_a_stale_report_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "docs").mkdir()
    report = tmp_path / "reports" / "a.md"
    report.write_text("| x |\n|---|\n| 1 |\n")
    page = tmp_path / "docs" / "p.md"
    page.write_text("intro\n<!-- include reports/a.md -->\nold\n<!-- end include -->\n")
    import edgecnn.study.table  # noqa: F401  (a module that makes figures, loaded here)

    made = provenance.record(report, "python -m edgecnn.study.include")      # this process's modules, as they are
    refresh()
    assert page.read_text() == "intro\n<!-- include reports/a.md -->\n| x |\n|---|\n| 1 |\n<!-- end include -->\n"

    made["modules"]["edgecnn/study/table.py"] = "0" * 16                     # as older code would have recorded it
    (tmp_path / "reports" / "a.provenance.json").write_text(json.dumps(made))
    refresh()
    block = page.read_text().split("<!-- include reports/a.md -->\n")[1]
    assert block == ("| x |\n|---|\n| 1 |\n\n> **Stale report**: reports/a.md may no longer be what today's code "
                     "measures (changed since: edgecnn/study/table.py); rerun `python -m edgecnn.study.include` "
                     "(`make reports-check` lists every stale or incomplete report).\n<!-- end include -->\n")


def test_reports_check_lists_each_report_and_fails_on_a_stale_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    for name in ("current", "old"):
        (tmp_path / "reports" / f"{name}.md").write_text("| x |\n")
    provenance.record(tmp_path / "reports" / "current.md", "python -m edgecnn.study.provenance")
    assert provenance.main(["--check", "reports/current.md"]) == 0
    assert provenance.main(["--check"]) == 1 and provenance.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-3:] == ["reports/current.md: current",
                        "reports/old.md: stale: no record of the code and recipes that made it",
                        "1 of 2 report(s) current and complete"]
    assert provenance.main(["reports/gone.md"]) == 2
    assert capsys.readouterr().err == ("reports-check: reports/gone.md does not exist; name a report under reports/, "
                                       "such as reports/peer.md.\n")
    assert provenance.main(["--all"]) == 2
    assert capsys.readouterr().err.startswith("reports-check: unknown option --all; usage: ")


def test_a_study_report_without_every_models_row_is_incomplete_in_the_check_and_its_docs_block(tmp_path,
                                                                                                  monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports" / "compare").mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    report = tmp_path / "reports" / "compare.md"
    report.write_text("| x |\n|---|\n| 1 |\n")
    provenance.record(report, "make compare")
    models = sorted(p.stem[len("compare_"):] for p in (ROOT / "recipes").glob("compare_*.yaml"))
    assert len(models) == 18
    assert provenance.incomplete(report) == (f"incomplete: 0 of the study's 18 models have a row; no row yet for "
                                             f"{' '.join(models)}")
    for model in models[1:]:                                     # a row each (copies of a real one), but one
        shutil.copy(ROOT / "reports" / "compare" / "lenet5.json", tmp_path / "reports" / "compare" / f"{model}.json")
    (tmp_path / "reports" / "compare" / f"{models[-1]}.json").write_text("{damaged")     # a damaged row is none
    assert provenance.incomplete(report) == (f"incomplete: 16 of the study's 18 models have a row; no row yet for "
                                             f"{models[0]} {models[-1]}")
    assert provenance.main(["--check", "reports/compare.md"]) == 1
    assert capsys.readouterr().out.splitlines() == [f"reports/compare.md: {provenance.incomplete(report)}",
                                                    "0 of 1 report(s) current and complete"]
    page = tmp_path / "docs" / "p.md"
    page.write_text("<!-- include reports/compare.md -->\n<!-- end include -->\n")
    refresh()
    assert page.read_text().endswith(
        f"\n> **Incomplete study**: reports/compare.md is current but 16 of the study's 18 models have a row; no row "
        f"yet for {models[0]} {models[-1]}; rerun `make compare` to go on (`make reports-check` lists every stale or "
        f"incomplete report).\n<!-- end include -->\n")

    shutil.copy(ROOT / "reports" / "compare" / "lenet5.json", tmp_path / "reports" / "compare" / f"{models[0]}.json")
    shutil.copy(ROOT / "reports" / "compare" / "lenet5.json", tmp_path / "reports" / "compare" / f"{models[-1]}.json")
    assert provenance.incomplete(report) is None and provenance.main(["--check", "reports/compare.md"]) == 0
    assert provenance.incomplete(tmp_path / "reports" / "other.md") is None       # not a study: no row folder


def test_stages_behind_names_the_stages_that_changed_code_or_recipe_would_make_again(project):
    """A stale study row makes again only what changed: the stages whose artifacts were made by changed code
    (make -W on them), or whose recipe sections changed (Make sees those itself)."""
    from edgecnn.artifacts import sha256_file, stage_digest
    from edgecnn.sources import code_digest
    from edgecnn.study.run import make_command_line

    class Recipe:                                  # the sections a stage reads, as recipe.Recipe gives them
        def __init__(self, epochs):
            self.epochs = epochs

        def stage_config(self, stage):
            return {"train": {"epochs": self.epochs}} if stage == "train" else {"convert": {}}

    build = project / "build" / "t"
    build.mkdir(parents=True)
    code = {name: code_digest(project / name) for name in ("edgecnn/train/fit.py", "edgecnn/convert/converter.py",
                                                           "edgecnn/bench/measure.py")}
    made = {"model.keras": ("train", ["edgecnn/train/fit.py"]), "int8.tflite": ("int8", ["edgecnn/convert/converter.py"]),
            "optimize.json": ("optimize", ["edgecnn/bench/measure.py"]), "stages/int8.json": (None, [])}
    entries = {}
    for name, (stage, ran) in made.items():
        (build / name).parent.mkdir(exist_ok=True)
        (build / name).write_text(name)
        entries[name] = {"stage": stage, "code": {m: code[m] for m in ran}, "sha256": sha256_file(build / name),
                         "bytes": (build / name).stat().st_size,
                         "stage_sha256": stage and stage_digest(Recipe(3), stage)}
    (build / "manifest.json").write_text(json.dumps({"artifacts": entries}))
    assert provenance.stages_behind(build, Recipe(3), root=project) == {}

    # the benchmark's code changed: optimize (which measures the candidates) and nothing before it
    (project / "edgecnn/bench/measure.py").write_text((project / "edgecnn/bench/measure.py").read_text() + "\nX = 1\n")
    assert provenance.stages_behind(build, Recipe(3), root=project) == {"optimize": "code"}
    # the recipe's train section changed too: train is behind by its recipe, in the pipeline's order
    assert provenance.stages_behind(build, Recipe(4), root=project) == {"train": "recipe", "optimize": "code"}
    assert provenance.stages_behind(build, Recipe(4), ["int8.tflite"], root=project) == {}     # only what a row rests on
    argv = make_command_line("t", ["m"], {"m": ["optimize"]}, 1)
    assert argv[-3:] == ["-W", "build/t_m/stages/optimize.json", "build/t_m/best.tflite"]
    assert "build/t_m/stages/train.json" not in argv

    # a file made again since its entry no longer speaks for the build; an entry without code is not known
    (build / "optimize.json").write_text("made again")
    assert provenance.stages_behind(build, Recipe(3), root=project) == {}
    entries["int8.tflite"].pop("code")
    (build / "manifest.json").write_text(json.dumps({"artifacts": entries}))
    assert provenance.stages_behind(build, root=project) == {"data": "unrecorded", "train": "unrecorded"}
    (build / "manifest.json").write_text("{damaged")
    assert provenance.stages_behind(build, root=project) == {"data": "unrecorded", "train": "unrecorded"}


def test_the_recipe_modules_count_through_the_recipe_they_resolve(project):
    """schema.py and recipe.py are not recorded: the resolved recipe is (its digest, each stage's sections), so a new
    key changes the records whose recipe it changes; a record made before they were left out ignores them."""
    import edgecnn.schema  # noqa: F401
    from edgecnn.sources import changes, modules

    assert "edgecnn/schema.py" not in modules() and "edgecnn/recipe.py" not in modules()
    old = {"edgecnn/schema.py": "0" * 16, "edgecnn/recipe.py": "0" * 16, "edgecnn/bench/measure.py": "0" * 16}
    assert changes(old, project) == (["edgecnn/bench/measure.py"], [])


def test_a_package_record_ignores_the_script_it_never_ran_and_the_app_report_names_it(project):
    """Records of the whole bench package held app_classify.py, which runs only in the app runtimes' envs and
    now lives under export/app_runtime/: a record naming its old path is not stale for it; the app report's record
    holds the new path, so an edit of the script makes that report alone stale."""
    from edgecnn.sources import changes, modules

    old = {"edgecnn/bench/app_classify.py": "0" * 16, "edgecnn/bench/measure.py": "0" * 16}
    assert changes(old, project) == (["edgecnn/bench/measure.py"], [])
    assert "edgecnn/bench/app_classify.py" not in modules(("edgecnn.bench",), project, loaded=False)
    recorded = modules(("edgecnn.bench", "edgecnn.export.app_runtime.app_classify"), project, loaded=False)
    assert "edgecnn/export/app_runtime/app_classify.py" in recorded
    script = project / "edgecnn" / "export" / "app_runtime" / "app_classify.py"
    script.write_text(script.read_text() + "\nTIE = 1\n")
    assert changes(recorded, project) == (["edgecnn/export/app_runtime/app_classify.py"], [])
