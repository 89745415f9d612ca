"""A study over several runs (edgecnn/study/run.py): one run at a time, a budget that stops the builds cleanly,
and its bad inputs, each one sentence."""

import fcntl

import pytest

from conftest import ROOT, run_cli


def test_a_second_run_of_a_study_is_refused_naming_the_first(workspace):
    folder = workspace / "reports" / "quick"
    folder.mkdir(parents=True)
    with open(folder / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("pid 4242 (make compare QUICK=1, since 2026-12-05 12:00:00)")
        held.flush()
        proc = run_cli("--study", "quick", "--models", "lenet5", module="edgecnn.study.run", cwd=workspace)
    assert proc.returncode == 2 and not (workspace / "build").joinpath("quick_lenet5").exists()
    assert proc.stderr.strip().splitlines()[-1] == (
        "edgecnn: error: reports/quick is being built by pid 4242 (make compare QUICK=1, since 2026-12-05 12:00:00); "
        "wait for that run to finish, then run make again (two runs would build and write one study).")


def test_a_budget_too_small_for_one_model_stops_its_build_and_says_so(workspace):
    proc = run_cli("--study", "quick", "--models", "lenet5", "--budget-min", "0.05", module="edgecnn.study.run",
                   cwd=workspace)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "edgecnn: error: BUDGET_MIN=0.05 was too small for even one model: the build of quick_lenet5 was stopped "
        "after 0.05 min (its training resumes from its last epoch next run); there are no rows yet, so no report was "
        "written.")
    assert "quick: 0 of 1 rows current; building lenet5 within 0.05 min" in proc.stdout
    assert not (workspace / "build" / "quick_lenet5" / "model.keras").exists()
    assert not (workspace / "reports" / "quick.md").exists()


@pytest.mark.parametrize("args, said", [
    (["--study", "quick", "--models", "lenet5 resnet9000"],
     "edgecnn: error: MODELS: resnet9000 is not in the study (no recipes/quick_resnet9000.yaml); its models are "),
    (["--study", "quick", "--budget-min", "0"],
     "edgecnn: error: BUDGET_MIN=0: give the minutes this run may spend, a number above 0."),
    (["--study", "nosuch"], "edgecnn: error: there are no recipes/nosuch_*.yaml: a study is the recipes named "
                            "<study>_<model> (compare, quick or long)."),
])
def test_bad_study_runs_get_one_sentence(args, said, monkeypatch, capsys):
    from edgecnn.study import run

    monkeypatch.chdir(ROOT)
    assert run.main(args) == 2
    assert capsys.readouterr().err.strip().startswith(said)
