"""What edgecnn code made something: each module as a digest of its code without docstrings, comments and
blank lines (an edit of those changes no figure). The build manifest records, for every artifact, the digests
of the modules its command had loaded (edgecnn/artifacts.py); a report records those of the command that wrote
it (edgecnn/study/provenance.py). Comparing a record with today's digests says what changed since."""

import ast
import io
import sys
import tokenize
import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the project: edgecnn/ is in it
# Modules that make no figure: they parse a command and call the stage, name errors, lock, write files
# atomically, keep these records (provenance.py) and copy reports into docs (include.py). They are left out of every record, so that a new command-line option does not mark every build
# and report as made by older code. The recipe's own modules (schema.py, recipe.py) are left out for the same
# reason: what they make of a recipe, the resolved recipe, is recorded itself (its digest, and each stage's
# sections in the manifest), so a new key or default changes exactly the records whose recipe it changes.
NO_FIGURES = ("edgecnn/__init__.py", "edgecnn/__main__.py", "edgecnn/cli.py", "edgecnn/errors.py", "edgecnn/lock.py",
              "edgecnn/make.py", "edgecnn/artifacts.py", "edgecnn/sources.py", "edgecnn/schema.py", "edgecnn/recipe.py",
              "edgecnn/study/provenance.py", "edgecnn/study/include.py")

# Paths that records of a whole package (a command that runs the bench in a child process records every module of
# edgecnn/bench) held for a script none of their commands ran: the Task Library's and MediaPipe's classifier,
# run in those runtimes' own envs, now lives under export/app_runtime/, where only the report of the command that
# runs it records it. A record that names one of these was not made by it, so it is left out of the comparison.
NOT_RUN = ("edgecnn/bench/app_classify.py",)


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
    """A digest of a module's code without docstrings and comments; None when the file is gone."""
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


def modules(packages=(), root=ROOT, loaded=True):
    """{path relative to root: code digest} of the edgecnn modules loaded in this process (loaded=False: not
    those) and of every module of `packages` (dotted names: a package folder or a module)."""
    files = [getattr(m, "__file__", None) for m in list(sys.modules.values())] if loaded else []
    return digests([f for f in files if f] + sorted(_package_files(packages, root)), root)


def digests(paths, root=ROOT):
    """{path relative to root: code digest} of the files among `paths` that are edgecnn modules (another
    process's loaded modules, say), less NO_FIGURES."""
    bases = {ROOT.resolve(), Path(root).resolve()}       # a module here, or its copy in another project
    names = set()
    for path in paths:
        path = Path(path).resolve()
        base = next((b for b in bases if path.is_relative_to(b / "edgecnn")), None)
        if base and "__pycache__" not in path.parts and path.suffix == ".py":
            names.add(path.relative_to(base).as_posix())
    return {name: code_digest(root / name) for name in sorted(names) if name not in NO_FIGURES}


def changes(recorded, root=ROOT):
    """(changed, gone): the modules of a {path: digest} record whose code differs today, and those that are gone.
    A path recorded with several digests (made in steps by different code) differs from today in one of them."""
    changed, gone = [], []
    for name, digests in sorted(recorded.items()):
        if name in NO_FIGURES or name in NOT_RUN:       # recorded before it was left out
            continue
        now = code_digest(root / name)
        if now is None:
            gone.append(name)
        elif any(d != now for d in ([digests] if isinstance(digests, str) else digests)):
            changed.append(name)
    return changed, gone
