"""`make compare [STUDY=long] [MODELS="..."] [BUDGET_MIN=N] [QUICK=1]`: a study built over as many runs as it needs.

One run at a time per study (reports/<study>/.lock; a second is refused, naming the first). It builds, through
Make, the models whose rows (reports/<study>/<model>.json, study/rows.py) are missing, damaged or stale. For a
stale row only what today's code or recipe would make differently is made again: the stages whose artifacts were
made by code that has changed since (make -W on their stage files; study/provenance.py: stages_behind) and, through
Make itself, those whose recipe sections changed; a row stale only in what measured it (the benchmark, the zoo's
counts) is measured again on its build's files. Models whose cost is unknown go first, then the others by their measured epoch time
(reports/epoch_time.json), so a budget spends itself on as many rows as it can. With a budget the build is
stopped when it runs out (an interrupted training resumes from its last epoch next run). Then the report is
written from every row that exists (edgecnn compare).

    python -m edgecnn.study.run --study long [--models "vgg16 lenet5"] [--budget-min 150] [--jobs 2]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edgecnn import lock
from edgecnn.errors import UserError
from edgecnn.study import rows
from edgecnn.study.compare import compare, make_command


def study_models(study):
    return sorted(p.stem[len(study) + 1:] for p in Path("recipes").glob(f"{study}_*.yaml"))


def by_cost(models):
    """Models without a measured epoch time first (by name), then the others cheapest first."""
    try:
        cost = {r["model"]: r["epoch_min"] for r in json.loads(Path("reports/epoch_time.json").read_text())["rows"]
                if not r.get("options")}
    except (OSError, ValueError, KeyError, TypeError):
        cost = {}
    return sorted(models, key=lambda m: (m in cost, cost.get(m, 0), m))


def make_command_line(study, todo, remake, jobs):
    """make's argv for the models `todo`; remake: {model: stages to make again though Make sees them done}."""
    venv = Path(sys.prefix)          # this interpreter's environment is set up: make must not redo it
    argv = ["make", "--no-print-directory", "-k", f"-j{jobs}", f"VENV={venv}", "-o", f"{venv}/.installed"]
    argv += ["--output-sync=target"] if jobs > 1 else []
    for m, stages in remake.items():     # made by code that has changed: those stages and what follows them
        for stage in stages:
            argv += ["-W", f"build/{study}_{m}/stages/{stage}.json"]
    return argv + [f"build/{study}_{m}/best.tflite" for m in todo]


def behind(study, model):
    """{stage: why} of the model's build that today's code or recipe would make differently (code, recipe,
    unrecorded); the first stages when it has no readable manifest."""
    from edgecnn import recipe as recipes
    from edgecnn.study.provenance import stages_behind

    path = Path("recipes") / f"{study}_{model}.yaml"
    try:
        recipe = recipes.load(path)
    except UserError:
        recipe = None
    return stages_behind(f"build/{study}_{model}", recipe)


def code_stages(study, model):
    """The stages Make cannot see are behind: made by code that has changed since (or by unrecorded code)."""
    return [stage for stage, why in behind(study, model).items() if why != "recipe"]


def run_make(argv, seconds):
    """Run make in its own process group; (exit status, whether the budget stopped it)."""
    proc = subprocess.Popen(argv, start_new_session=True)
    try:
        return proc.wait(timeout=seconds), False
    except subprocess.TimeoutExpired:
        stop(proc)
        return proc.returncode, True
    except BaseException:                 # Ctrl-C or a kill of this run: make goes with it, not on alone
        stop(proc)
        raise


def stop(proc):
    """End make's process group (its trainings included): SIGTERM, then SIGKILL after a minute."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def finished(study, model):
    """Whether make says build/<study>_<model>/best.tflite is up to date (a stopped build is not)."""
    target = f"build/{study}_{model}/best.tflite"
    return Path(target).is_file() and subprocess.call(["make", "-q", "-o", f"{Path(sys.prefix)}/.installed",
                                                       f"VENV={Path(sys.prefix)}", target],
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def run(study, models=None, budget_min=None, jobs=1, say=print):
    """Build what the study's rows lack within the budget, then write the report; the exit status."""
    every = study_models(study)
    if not every:
        raise UserError(f"there are no recipes/{study}_*.yaml: a study is the recipes named <study>_<model> "
                        f"(compare, quick or long).")
    unknown = [m for m in models or [] if m not in every]
    if unknown:
        raise UserError(f"MODELS: {unknown[0]} is not in the study (no recipes/{study}_{unknown[0]}.yaml); its "
                        f"models are {' '.join(every)}.")
    if budget_min is not None and not budget_min > 0:         # NaN too
        raise UserError(f"BUDGET_MIN={budget_min:g}: give the minutes this run may spend, a number above 0.")
    start = time.monotonic()
    with lock.held(rows.folder(study), make_command(study), why="two runs would build and write one study"):
        have = rows.load(study, warn=lambda line: print(line, file=sys.stderr))
        wanted = models or every
        todo = by_cost([m for m in wanted if m not in have or have[m]["stale"]])
        # stale rows, and builds begun or made without a row yet: what changed code made is made again
        remake = {m: code_stages(study, m) for m in todo
                  if m in have or Path(f"build/{study}_{m}/manifest.json").is_file()}
        stopped, status = False, 0
        if todo:
            again = [f"{m}: {', '.join(stages)} made again" if stages else f"{m}: measured again"
                     for m, stages in remake.items() if stages or m in have]
            say(f"{study}: {len(wanted) - len(todo)} of {len(wanted)} rows current; building {' '.join(todo)}"
                + (f" ({'; '.join(again)})" if again else "")
                + (f" within {budget_min:g} min" if budget_min else ""))
            seconds = None if budget_min is None else budget_min * 60 - (time.monotonic() - start)
            status, stopped = run_make(make_command_line(study, todo, remake, jobs), seconds)
        done = [m for m in todo if finished(study, m) and not behind(study, m)]
        built = [m for m in every if Path(f"build/{study}_{m}/optimize.json").is_file()]
        unfinished = {m for m in built if m not in done and not finished(study, m)}   # read no half-made build
        skip = {m for m in todo if m not in done} | unfinished
        if have or [m for m in built if m not in skip]:     # the rows so far, and those of complete builds
            compare(study, "build", "reports", skip=skip)
        count = len(rows.load(study, warn=lambda line: None))
        held = f"the report holds the {count} row(s) that exist." if count else "there are no rows yet, so no " \
                                                                                "report was written."
        left = [m for m in todo if m not in done]
        if stopped and not done:
            print(f"edgecnn: error: BUDGET_MIN={budget_min:g} was too small for even one model: the build of "
                  f"{study}_{left[0]} was stopped after {budget_min:g} min (its training resumes from its last "
                  f"epoch next run); {held}", file=sys.stderr)
            status = 2
        elif stopped:
            say(f"{study}: the budget of {budget_min:g} min ran out; {len(done)} model(s) built, {len(left)} left "
                f"({' '.join(left)}): run `{make_command(study)}` again to go on; {held}")
            status = 0
        elif status:
            print(f"edgecnn: error: make could not build {' '.join(f'{study}_{m}' for m in left) or 'them'} (see "
                  f"above); {held}", file=sys.stderr)
            status = 1
        return status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m edgecnn.study.run", description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="compare")
    parser.add_argument("--models", default="", help="space-separated: those of the study's models only")
    parser.add_argument("--budget-min", type=float, default=None, help="stop building after this many minutes")
    parser.add_argument("--jobs", type=int, default=1, help="builds at a time (make -j)")
    args = parser.parse_args(argv)
    try:
        return run(args.study, args.models.split() or None, args.budget_min, args.jobs)
    except UserError as e:
        print(f"edgecnn: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
