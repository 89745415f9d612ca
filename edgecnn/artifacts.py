"""Artifacts under build/<recipe>/: written atomically, listed in manifest.json with their provenance."""

import datetime
import functools
import fcntl
import hashlib
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.sources import modules

LIBRARIES = ("tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "numpy")


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target):
    """Yield a temporary path beside `target`; on success it replaces `target`, on failure it vanishes.

    A stage that fails or is killed leaves the previous good artifact untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.{os.getpid()}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())     # as open() would make it: mkstemp's 0600 is for the temporary
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sweep(folder):
    """Remove the temporary files of writers that were killed (their pid is in the name and is gone); a
    living writer's, such as a parallel stage's under make -j, stay. Returns what was removed."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp*"):
        parts = tmp.name.split(".")
        pid = next((int(p) for p in parts[2:3] if p.isdigit()), None)
        if pid is None:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        except PermissionError:
            pass
    return removed


def atomic_write(target, data):
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(data)


def read_json(path):
    """A JSON file under build/ (edgecnn wrote it); UserError in one sentence when it is missing, damaged or
    cut short, instead of a traceback."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; run the make target that writes it (make {path} for a build "
                        f"file), or check the path.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise UserError(f"{path} is damaged (not JSON{where}): it was cut short or edited; delete it and run "
                        f"make again to rebuild it.") from None


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def library_versions():
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


UNRECORDED = ("manifest.json", ".manifest.lock", ".lock")   # the manifest itself and the two locks


def stage_digest(recipe, stage):
    """The digest of the recipe's sections `stage` reads (and the files behind them), as a manifest records it."""
    return hashlib.sha256(json.dumps(recipe.stage_config(stage), sort_keys=True).encode()).hexdigest()


def record(recipe, artifact, stage):
    """Add/refresh `artifact` (a path under recipe.build_dir) in build/<recipe>/manifest.json, keyed by its
    path there (stages/bench.json and bench.json are two entries). stage None: written by `edgecnn check`."""
    artifact = Path(artifact)
    key = artifact.resolve().relative_to(recipe.build_dir.resolve()).as_posix()
    manifest = recipe.build_dir / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(recipe.build_dir / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # `make -j` may finish two stages at once
        sweep(recipe.build_dir)            # what a killed stage left half-written
        try:
            data = read_json(manifest) if manifest.is_file() else {}
        except UserError as e:                    # provenance only: start it again rather than stop the build
            print(f"edgecnn: warning: {e} It is started again from this artifact on.", file=sys.stderr)
            data = {}
        data.update(recipe=recipe.name, recipe_sha256=recipe.sha256)
        data.setdefault("artifacts", {})[key] = {
            "sha256": sha256_file(artifact),
            "bytes": artifact.stat().st_size,
            "stage": stage,
            "stage_sha256": stage and stage_digest(recipe, stage),
            "recipe_sha256": recipe.sha256,
            "libraries": library_versions(),
            "code": modules(),             # the edgecnn modules this command ran, as they were (edgecnn/sources.py)
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write(manifest, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
