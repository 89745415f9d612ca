"""What made each report under reports/, and whether that still holds (`make reports-check`).

A report writer records, beside reports/<name>.md, reports/<name>.provenance.json: the command, the date,
the CPU, Python and the runtimes' versions, and a fingerprint of what made the figures:

- the edgecnn modules the command ran: those loaded in its process, and for a study built through Make
  the modules of the pipeline's stages (PIPELINE), each as a digest of its code without docstrings,
  comments and blank lines (an edit of those changes no figure);
- the recipes it built, each as a digest of the recipe as validated (bases merged, defaults filled in).

`stale(report)` compares that record with the code and recipes as they are now and names what changed;
edgecnn/study/include.py puts that sentence under every docs block that includes a stale report, and
`python -m edgecnn.study.provenance --check` (make reports-check) lists them and exits 1.

    python -m edgecnn.study.provenance [--check] [REPORT.md ...]
"""

import ast
import hashlib
import io
import json
import os
import platform
import sys
import time
import tokenize
from functools import lru_cache
from pathlib import Path

from edgecnn.artifacts import LIBRARIES, atomic_write, library_versions

ROOT = Path(__file__).resolve().parents[2]          # the project: edgecnn/ is in it
SUFFIX = ".provenance.json"
# what a study's builds ran in other processes (make -> python -m edgecnn ...): every module of these
PIPELINE = ("edgecnn.data", "edgecnn.zoo", "edgecnn.train", "edgecnn.compress", "edgecnn.convert", "edgecnn.bench",
            "edgecnn.recipe", "edgecnn.schema", "edgecnn.variants", "edgecnn.measure", "edgecnn.check",
            "edgecnn.artifacts", "edgecnn.tf", "edgecnn.cli")


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


def _code_text(source):
    """The module's code as text without its docstrings, comments and blank lines: the same on every Python
    version (node positions and comment tokens, not the syntax tree's dump, whose form changes between versions)."""
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
        comments = [t.start for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    except (SyntaxError, tokenize.TokenError, ValueError):
        return source                                  # not Python we can read: all of it
    for row, col in sorted(comments, reverse=True):
        lines[row - 1] = lines[row - 1][:col].rstrip()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            for row in range(body[0].lineno, body[0].end_lineno + 1):
                lines[row - 1] = ""
    return "\n".join(line for line in lines if line.strip())


@lru_cache(maxsize=None)
def _code_digest(path, mtime_ns, size):
    return hashlib.sha256(_code_text(Path(path).read_text(encoding="utf-8")).encode()).hexdigest()[:16]


def code_digest(path):
    """A digest of a module's code: its syntax tree without docstrings; None when the file is gone."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return _code_digest(str(path), st.st_mtime_ns, st.st_size)


def _package_files(names, root):
    out = set()
    for name in names:
        path = root / Path(*name.split("."))
        if path.is_dir():
            out.update(p for p in path.rglob("*.py"))
        elif path.with_suffix(".py").is_file():
            out.add(path.with_suffix(".py"))
    return out


def modules(packages=(), root=ROOT):
    """{path relative to root: code digest} of the edgecnn modules loaded in this process and of every module
    of `packages` (dotted names: a package folder or a module)."""
    files = set()
    package = (ROOT / "edgecnn").resolve()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(package):
            files.add(root / Path(path).resolve().relative_to(ROOT))
    files |= _package_files(packages, root)
    return {p.relative_to(root).as_posix(): code_digest(p) for p in sorted(files) if "__pycache__" not in p.parts}


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
    what = {"modules": record["modules"], "recipes": record["recipes"]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


def invoked(module, argv=None):
    """The command as a user types it: python -m MODULE ARGS (argv None: this process's arguments)."""
    return " ".join(["python", "-m", module, *map(str, sys.argv[1:] if argv is None else argv)])


def record(report, command, recipes=(), packages=(), root=ROOT):
    """Write reports/<name>.provenance.json beside `report` (its .md); returns the record. recipes: paths of the
    recipes the command built; packages: what it ran in other processes (PIPELINE for a study)."""
    made = {"report": Path(report).name, "command": command, "date": time.strftime("%Y-%m-%d"),
            "cpu": cpu_name() or platform.processor() or "?", "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "runtimes": {name: v for name, v in library_versions().items() if v},
            "modules": modules(packages, root),
            "recipes": {_relative(r, root): recipe_digest(r) for r in sorted(map(str, recipes))}}
    made["fingerprint"] = fingerprint(made)
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
        recorded_modules, recorded_recipes = dict(made["modules"]), dict(made["recipes"])
    except FileNotFoundError:
        return ["no record of the code and recipes that made it"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"its record {path.name} is damaged"]
    changed, gone = [], []
    for name, digest in sorted(recorded_modules.items()):
        now = code_digest(root / name)
        if now is None:
            gone.append(name)
        elif now != digest:
            changed.append(name)
    for name, digest in sorted(recorded_recipes.items()):
        recipe = Path(name) if Path(name).is_absolute() else root / name
        if not recipe.is_file():
            gone.append(name)
            continue
        try:
            if recipe_digest(recipe) != digest:
                changed.append(name)
        except Exception as e:                       # noqa: BLE001 (a recipe that no longer validates)
            changed.append(f"{name} (it no longer loads: {e})")
    reasons = [f"changed since: {', '.join(changed)}"] if changed else []
    return reasons + ([f"gone since: {', '.join(gone)}"] if gone else [])


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
    """The sentence a docs page shows under a stale report; None when it is current."""
    reasons = stale(report, root)
    if not reasons:
        return None
    command = command_of(report)
    again = f"rerun `{command}`" if command else "rerun the command that writes it"
    return (f"> **Stale report**: {_shown(report)} may no longer be what today's code measures "
            f"({'; '.join(reasons)}); {again} (`make reports-check` lists every stale report).\n")


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
        reasons = stale(report)
        bad += bool(reasons)
        print(f"{report}: {'stale: ' + '; '.join(reasons) if reasons else 'current'}")
    print(f"{len(reports) - bad} of {len(reports)} report(s) current")
    return 1 if check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
