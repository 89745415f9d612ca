"""What made each report under reports/, and whether that still holds (`make reports-check`).

A report writer records, beside reports/<name>.md, reports/<name>.provenance.json: the command, the date,
the CPU, Python and the runtimes' versions, and a fingerprint of what made the figures:

- the edgecnn modules the command ran: those loaded in its process, and for figures read from build folders
  the modules their manifests recorded for each artifact (a build made before that record is named as such,
  and its report is stale until it is built again), each as a digest of its code without docstrings,
  comments and blank lines (an edit of those changes no figure; edgecnn/sources.py);
- the recipes it built, each as a digest of the recipe as validated (bases merged, defaults filled in).

`stale(report)` compares that record with the code and recipes as they are now and names what changed, and
`incomplete(report)` names the models a study's report has no row for yet (a study completes over several
runs); edgecnn/study/include.py puts that sentence under every docs block that includes such a report, and
`python -m edgecnn.study.provenance --check` (make reports-check) lists them and exits 1.

    python -m edgecnn.study.provenance [--check] [REPORT.md ...]
"""

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from edgecnn.artifacts import LIBRARIES, atomic_write, library_versions
from edgecnn.sources import ROOT, changes, code_digest, modules  # noqa: F401  (code_digest: for the tests)

SUFFIX = ".provenance.json"


def cpu_name():
    """/proc/cpuinfo's model name, or '' where there is none."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


def sidecar(report):
    report = Path(report)
    return report.with_name(report.stem + SUFFIX)


def recipe_digest(path):
    """A digest of the recipe as validated (bases merged, defaults filled in); raises UserError when it does
    not load."""
    from edgecnn import recipe as recipes

    data = recipes.load(path).data
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def recipes_in(report, root=ROOT):
    """The recipes whose builds a report's figures come from: every build/<name>/ its JSON names, where
    recipes/<name>.yaml exists."""
    import re

    names = set(re.findall(r"build/([A-Za-z0-9_.-]+)/", json.dumps(report)))
    return sorted(root / "recipes" / f"{n}.yaml" for n in names if (root / "recipes" / f"{n}.yaml").is_file())


def fingerprint(record):
    """One digest of everything that made the figures: the modules' and the recipes' digests."""
    what = {"modules": record["modules"], "recipes": record["recipes"],
            **({"unrecorded": record["unrecorded"]} if record.get("unrecorded") else {})}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


def invoked(module, argv=None):
    """The command as a user types it: python -m MODULE ARGS (argv None: this process's arguments)."""
    return " ".join(["python", "-m", module, *map(str, sys.argv[1:] if argv is None else argv)])


def build_code(folder, artifacts=None):
    """{module: digest} of the code that made a build folder's artifacts, from its manifest (each artifact records
    the modules its command ran); a module made in steps by different code has a list of digests. Only the
    entries of files still there as recorded count (a file made again, or gone, no longer speaks for the build),
    and with `artifacts` (names under the folder) only those. None when the manifest is missing or one of those
    entries predates the code record."""
    from edgecnn.artifacts import sha256_file

    folder = Path(folder)
    try:
        entries = json.loads((folder / "manifest.json").read_text())["artifacts"]
        recorded = []
        for name, entry in entries.items():
            if artifacts is not None and name not in artifacts:
                continue
            path = folder / name
            if not path.is_file() or path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
                continue
            recorded.append(entry["code"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return merge(recorded)


def stages_behind(folder, recipe=None, artifacts=None, root=ROOT):
    """{stage: why} of the stages (in the pipeline's order) whose artifacts in a build folder today's code or
    recipe would make differently: "code" when a module their command ran has changed or gone since, "recipe"
    when (given `recipe`, the recipe as it is now) the sections of it the stage reads have. Only artifacts made
    by a stage count, and with `artifacts` (names under the folder) only those; a file made again since its
    entry no longer speaks for the build. "unrecorded" from the first stage on when an artifact predates the
    code record or the manifest cannot be read: what made it is not known."""
    from edgecnn.artifacts import sha256_file, stage_digest
    from edgecnn.schema import STAGES

    folder = Path(folder)
    behind = {}
    try:
        entries = json.loads((folder / "manifest.json").read_text())["artifacts"]
        for name, entry in entries.items():
            stage = entry.get("stage")
            if not stage or (artifacts is not None and name not in artifacts):
                continue
            path = folder / name
            if not path.is_file() or path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
                continue
            if "code" not in entry:
                return {"data": "unrecorded", "train": "unrecorded"}
            if any(changes(entry["code"], root)):
                behind[stage] = "code"
            elif recipe is not None and entry.get("stage_sha256") != stage_digest(recipe, stage):
                behind.setdefault(stage, "recipe")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {"data": "unrecorded", "train": "unrecorded"}
    return {s: behind[s] for s in STAGES if s in behind}


def merge(records):
    """One {module: digest} of several; a module with different digests gets the sorted list of them."""
    merged = {}
    for code in records:
        for name, digest in code.items():
            merged.setdefault(name, set()).update([digest] if isinstance(digest, str) else digest)
    return {name: min(d) if len(d) == 1 else sorted(d) for name, d in sorted(merged.items())}


def code_of(builds, artifacts=None):
    """(code, unrecorded): {module: digest} of the code that made these build folders, from their manifests
    (build_code, `artifacts` the names that count), and the folders whose manifest predates that record (what made
    them is not known; their reports say so)."""
    records, unrecorded = [], []
    for folder in builds:
        code = build_code(folder, artifacts)
        if code is None:
            unrecorded.append(Path(folder).as_posix())
        else:
            records.append(code)
    return merge(records), unrecorded


def describe(command, recipes=(), packages=(), root=ROOT, code=None, loaded=True, builds=(), unrecorded=(),
             artifacts=None, recipe_digests=None):
    """What made a set of figures: the command, date, machine, runtimes, the modules (those loaded here, those of
    `packages` as they are now, and `code`, {module: digest} recorded when something it read was made, e.g.
    what it read was made, which takes precedence; loaded=False: not the modules loaded here), the code the
    build folders `builds` recorded in their manifests (code_of), and the recipes' digests, with their fingerprint."""
    recorded, missing = code_of(builds, artifacts)
    unrecorded = sorted({*unrecorded, *missing})
    made = {"command": command, "date": time.strftime("%Y-%m-%d"),
            "cpu": cpu_name() or platform.processor() or "?", "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "runtimes": {name: v for name, v in library_versions().items() if v},
            "modules": merge([modules(packages, root, loaded), code or {}, recorded]),
            "recipes": {**{_relative(r, root): recipe_digest(r) for r in sorted(map(str, recipes))},
                        **(recipe_digests or {})}}
    if unrecorded:
        made["unrecorded"] = unrecorded
    made["fingerprint"] = fingerprint(made)
    return made


def record(report, command, recipes=(), packages=(), root=ROOT, code=None, builds=(), unrecorded=(),
           recipe_digests=None, artifacts=None):
    """Write reports/<name>.provenance.json beside `report` (its .md): describe(...) of what made it; returns it.
    recipe_digests: {recipe: digest} as recorded when its figures were made (a study's rows); artifacts: the
    names under the build folders the figures rest on (default: every artifact there)."""
    made = {"report": Path(report).name, **describe(command, recipes, packages, root, code, builds=builds,
                                                     unrecorded=unrecorded, recipe_digests=recipe_digests,
                                                     artifacts=artifacts)}
    atomic_write(sidecar(report), (json.dumps(made, indent=1, sort_keys=True) + "\n").encode())
    return made


def _relative(path, root):
    path = Path(path).resolve()
    return path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else str(path)


def footer(made):
    """The line a report ends with: what made it, and where its fingerprint is."""
    versions = ", ".join(f"{name} {made['runtimes'][name]}" for name in LIBRARIES
                         if name in made["runtimes"] and name != "numpy")
    return (f"<sub>Made by `{made['command']}` on {made['date']}, {made['cpu']} ({made['cores']} cores), Python "
            f"{made['python']}, {versions}; fingerprint {made['fingerprint']} of the code and recipes that made it "
            f"([{sidecar(made['report']).name}]({sidecar(made['report']).name}); `make reports-check` says when "
            f"they change).</sub>\n")


def stale(report, root=ROOT):
    """Why `report` no longer shows what today's code and recipes would: a list of reasons, [] when current.
    A report without a record, or with a damaged one, is one reason."""
    path = sidecar(report)
    try:
        made = json.loads(path.read_text())
        return changed_since(made, root)
    except FileNotFoundError:
        return ["no record of the code and recipes that made it"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [f"its record {path.name} is damaged"]


def changed_since(made, root=ROOT):
    """The reasons a record (its "modules" and "recipes") no longer holds for today's code and recipes; []
    when it does. KeyError, TypeError or AttributeError when the record is not one."""
    changed, gone = changes(dict(made["modules"]), root)
    for name, digest in sorted(dict(made["recipes"]).items()):
        recipe = Path(name) if Path(name).is_absolute() else root / name
        if not recipe.is_file():
            gone.append(name)
            continue
        try:
            if recipe_digest(recipe) != digest:
                changed.append(name)
        except Exception as e:                       # noqa: BLE001 (a recipe that no longer validates)
            changed.append(f"{name} (it no longer loads: {e})")
    reasons = [f"changed since: {', '.join(sorted(changed))}"] if changed else []
    reasons += [f"gone since: {', '.join(sorted(gone))}"] if gone else []
    unrecorded = made.get("unrecorded") or []
    return reasons + ([f"made from {', '.join(unrecorded)}, built before builds recorded their code (build "
                       f"{'it' if len(unrecorded) == 1 else 'them'} again)"] if unrecorded else [])


def incomplete(report, root=ROOT):
    """For a study's report (reports/<study>.md, its rows in reports/<study>/, its models recipes/<study>_*.yaml):
    the sentence saying which models have no readable row yet; None when every one has, or for another report."""
    report = Path(report)
    folder = report.with_suffix("")
    models = sorted(p.stem[len(report.stem) + 1:] for p in (root / "recipes").glob(f"{report.stem}_*.yaml"))
    if not folder.is_dir() or not models:
        return None
    missing = [m for m in models if not _a_row(folder / f"{m}.json")]
    if not missing:
        return None
    return (f"incomplete: {len(models) - len(missing)} of the study's {len(models)} models have a row; no row yet "
            f"for {' '.join(missing)}")


def _a_row(path):
    """Whether a row file reads as one: a JSON object with figures (study/rows.py, which keeps its records through
    this module, checks the rest when the study runs)."""
    try:
        row = json.loads(Path(path).read_text())
        return isinstance(row, dict) and isinstance(row.get("rows"), list) and bool(row["rows"])
    except (OSError, ValueError):
        return False


def command_of(report):
    try:
        return json.loads(sidecar(report).read_text())["command"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _shown(report):
    """The report's path as a reader finds it: from the project, or from here, or as given."""
    path = Path(report).resolve()
    for base in (ROOT, Path.cwd().resolve()):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return Path(report).as_posix()


def note(report, root=ROOT):
    """The sentence a docs page shows under a stale report, or a study's report that lacks rows; None when it is
    current and complete."""
    reasons, missing = stale(report, root), incomplete(report, root)
    if not reasons and not missing:
        return None
    command = command_of(report)
    again = f"rerun `{command}`" if command else "rerun the command that writes it"
    if not reasons:
        return (f"> **Incomplete study**: {_shown(report)} is current but {missing[len('incomplete: '):]}; {again} to "
                f"go on (`make reports-check` lists every stale or incomplete report).\n")
    return (f"> **Stale report**: {_shown(report)} may no longer be what today's code measures "
            f"({'; '.join(reasons + ([missing] if missing else []))}); {again} (`make reports-check` lists every "
            f"stale or incomplete report).\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    names = [a for a in argv if a != "--check"]
    unknown = [a for a in names if a.startswith("-")]
    if unknown:
        print(f"reports-check: unknown option {unknown[0]}; usage: python -m edgecnn.study.provenance [--check] "
              f"[REPORT.md ...]", file=sys.stderr)
        return 2
    reports = [Path(n) for n in names] or sorted(Path("reports").glob("*.md"))
    missing = [str(r) for r in reports if not r.is_file()]
    if missing:
        print(f"reports-check: {missing[0]} does not exist; name a report under reports/, such as reports/peer.md.",
              file=sys.stderr)
        return 2
    bad = 0
    for report in reports:
        reasons, missing = stale(report), incomplete(report)
        bad += bool(reasons or missing)
        said = "; ".join((["stale: " + "; ".join(reasons)] if reasons else []) + ([missing] if missing else []))
        print(f"{report}: {said or 'current'}")
    print(f"{len(reports) - bad} of {len(reports)} report(s) current and complete")
    return 1 if check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
