"""Writing an export: check the whole set first, so a refused export writes nothing."""

import os
from pathlib import Path

from edgecnn.errors import UserError


def write_all(out, files, force):
    """Write {relative path: bytes} under the folder `out`, created (with its parents) when missing. Existing
    files are refused unless `force`, before anything is written. Returns (the written paths, whether `out`
    was created)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; give the app folder the files go into.")
    nearest = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not nearest.is_dir() or not os.access(nearest, os.W_OK | os.X_OK):
        raise UserError(f"--out {out} is not writable ({nearest}); choose a folder you can write to.")
    targets = {out / rel: data for rel, data in files.items()}
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise UserError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                        f"add --force to overwrite.")
    from edgecnn.artifacts import atomic_write

    created = not out.is_dir()
    for path, data in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    return list(targets), created
