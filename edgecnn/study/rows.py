"""A study's results kept per model, so that a study completes over several runs: reports/<study>/<model>.json.

Each row file holds one model's figures (per variant: parameters, MACs, size, top-1, median latency), the
digests of the files they were measured on, the recipe sections the study shares, and the record of what made
them (edgecnn/study/provenance.py): the date, machine and runtimes, the recipe's digest, and the code its build
ran as the build's manifest recorded it. A row is current while that record holds for today's code and recipe;
otherwise it is stale (made by older code or another recipe) and the next run of the study makes it again.
A row file that does not read as one is damaged: named, ignored and made again.
"""

import json
from dataclasses import asdict
from pathlib import Path

from edgecnn.artifacts import atomic_write, sha256_file
from edgecnn.errors import UserError
from edgecnn.sources import modules
from edgecnn.study import provenance
from edgecnn.study.table import Row

SHARED = ("dataset", "train", "calibration", "convert", "bench", "optimize")   # the same for every model of a study


def folder(study, out="reports"):
    return Path(out) / study


def path_of(study, model, out="reports"):
    return folder(study, out) / f"{model}.json"


def write(study, build, measured, bench_code, out="reports", command=None):
    """The row file of one build (compare.Build): `measured` its Row objects, `bench_code` the {module: digest}
    of the benchmark run that measured them; returns the row as written. Its code: what the build's manifest
    recorded, the benchmark's, and the zoo's modules that counted parameters and MACs here."""
    recipe = Path("recipes") / f"{build.folder.name}.yaml"
    counted = {name: d for name, d in modules().items() if name.startswith("edgecnn/zoo/")}
    used = artifacts_used(build)
    made = provenance.describe(command or f"make compare STUDY={study}", [recipe] if recipe.is_file() else [],
                               code=provenance.merge([counted, bench_code]), loaded=False, builds=[build.folder],
                               artifacts=used)
    idle = unused_families(build.model)          # loaded by the zoo's registry, never run for this model
    made["modules"] = {name: d for name, d in made["modules"].items() if name not in idle}
    made["fingerprint"] = provenance.fingerprint(made)
    row = {"study": study, "model": build.model, "build": build.folder.as_posix(),
           "shared": {s: build.recipe.get(s) for s in SHARED},
           "files": {v: sha256_file(build.file(v)) for v in build.variants()},
           "rows": [asdict(r) for r in measured], **made}
    atomic_write(path_of(study, build.model, out), (json.dumps(row, indent=1, sort_keys=True) + "\n").encode())
    return row


def unused_families(model):
    """The zoo's family modules (paths) that neither the model's builder module nor what it imports within the
    zoo is: the registry imports them all, but an edit of one changes no figure of this model."""
    import ast

    from edgecnn.sources import ROOT
    from edgecnn.zoo.registry import FAMILY_MODULES, entry

    zoo = ROOT / "edgecnn" / "zoo"
    seen, todo = set(), [entry(model).builder.__module__.rsplit(".", 1)[-1]]
    while todo:
        name = todo.pop()
        if name in seen or not (zoo / f"{name}.py").is_file():
            continue
        seen.add(name)
        for node in ast.walk(ast.parse((zoo / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 1 or base == "edgecnn.zoo":
                    todo += [a.name for a in node.names] if not base or base == "edgecnn.zoo" else [base]
                elif base.startswith("edgecnn.zoo."):
                    todo.append(base.split(".")[2])
    return {f"edgecnn/zoo/{m}.py" for m in FAMILY_MODULES if m not in seen}


def read(path):
    """(row, None) for a readable row file, (None, why) for a damaged one."""
    try:
        row = json.loads(Path(path).read_text())
        row["rows"] = [Row(**r) for r in row["rows"]]
        if not row["rows"] or not isinstance(row["files"], dict):
            raise ValueError("it has no rows")
        missing = [s for s in SHARED if not isinstance(row["shared"].get(s), dict)]
        if missing:
            raise ValueError(f"its shared sections lack {', '.join(missing)}")
        provenance.changed_since(row)                # raises when its record is not one
        for key in ("date", "model", "cpu", "cores", "fingerprint"):
            str(row[key])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return None, f"{type(e).__name__}: {e}"
    return row, None


def load(study, out="reports", warn=print):
    """{model: row} of every readable row file of the study, each with "stale": the reasons it no longer holds
    ([] when current). A damaged file is named through `warn` and left out (the next run makes it again)."""
    rows = {}
    for path in sorted(folder(study, out).glob("*.json")):
        row, why = read(path)
        if row is None:
            warn(f"edgecnn: warning: {path} is damaged ({why}); it is ignored and made again by the next "
                 f"`make compare STUDY={study}`.")
            continue
        row["stale"] = provenance.changed_since(row)
        rows[row["model"]] = row
    return rows


def artifacts_used(build):
    """The names under a build folder whose making a row's figures rest on."""
    return ["model.keras", "testset.npz", "optimize.json", *(f"{v}.tflite" for v in build.variants())]


def build_current(build):
    """Whether today's code and recipe would make the files a row of this build rests on as they are (so a
    stale row of it is measured again rather than built again)."""
    from edgecnn import recipe as recipes

    try:
        recipe = recipes.load(Path("recipes") / f"{build.folder.name}.yaml")
    except UserError:
        return False
    return not provenance.stages_behind(build.folder, recipe, artifacts_used(build))


def up_to_date(row, build):
    """Whether a row was measured on the build's files as they are now."""
    try:
        return row["files"] == {v: sha256_file(build.file(v)) for v in build.variants()}
    except OSError:
        return False
