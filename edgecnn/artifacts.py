"""Artifacts under build/<recipe>/: written atomically, listed in manifest.json with their provenance."""

import datetime
import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from edgecnn.errors import UserError

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
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())     # as open() would make it: mkstemp's 0600 is for the temporary
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


def library_versions():
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def record(recipe, artifact, stage):
    """Add/refresh `artifact` (a path under recipe.build_dir) in build/<recipe>/manifest.json."""
    artifact = Path(artifact)
    manifest = recipe.build_dir / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(recipe.build_dir / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # `make -j` may finish two stages at once
        data = json.loads(manifest.read_text()) if manifest.is_file() else {}
        data.update(recipe=recipe.name, recipe_sha256=recipe.sha256)
        data.setdefault("artifacts", {})[artifact.name] = {
            "sha256": sha256_file(artifact),
            "bytes": artifact.stat().st_size,
            "stage": stage,
            "stage_sha256": hashlib.sha256(json.dumps(recipe.stage_config(stage), sort_keys=True).encode()).hexdigest(),
            "recipe_sha256": recipe.sha256,
            "libraries": library_versions(),
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write(manifest, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
