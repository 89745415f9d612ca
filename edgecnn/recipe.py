"""Recipes: YAML data validated against one schema (schema.py) before any work starts, and the stage graph.

A recipe is data only: it is read with yaml.safe_load, names no code to run and no output path; every
artifact goes to build/<recipe name>/. Each stage sees only the sections it depends on, written to
build/<name>/stages/<stage>.json only when they change, so Make rebuilds exactly what an edit touches.

`base: FILE` (or a list of files, paths relative to the recipe's folder) starts the recipe from other
YAML files merged in order, the recipe's own keys on top: recipes that must share a training budget
share one base (recipes/_compare.yaml). Sections merge key by key; any other value is replaced.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from edgecnn.errors import UserError
from edgecnn.schema import SCHEMA, STAGES, teachers, validate

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Recipe:
    name: str
    path: Path
    data: dict
    _inputs: dict = None
    _fingerprints: dict = None

    def __getitem__(self, section):
        return self.data[section]

    @property
    def build_dir(self):
        return Path("build") / self.name

    @property
    def sha256(self):
        return _digest(self.data)

    def stage_config(self, stage):
        """The sections `stage` reads, with the fingerprints of the files behind them (inputs())."""
        out = {section: self.data[section] for section in STAGES[stage]}
        fingerprints = self.inputs()
        for section in STAGES[stage]:
            if fingerprints.get(section):
                out[section] = {**out[section], "files_sha256": fingerprints[section]}
            out[section] = {key: value for key, value in out[section].items()
                            if not (key in SCHEMA[section] and SCHEMA[section][key].quiet
                                    and value == SCHEMA[section][key].default)}
        return out

    def input_paths(self):
        """{section: [files]} the recipe reads (data, calibration, starting weights), listed once; the data
        set's layout is checked on the way."""
        if self._inputs is None:
            self._inputs = input_files(self)
        return self._inputs

    def inputs(self):
        """{section: fingerprint} of input_paths(): edgecnn/data/datasets.py fingerprint()."""
        if self._fingerprints is None:
            self._fingerprints = {section: _fingerprint(paths) for section, paths in self.input_paths().items()}
        return self._fingerprints

    def forget_inputs(self):
        """List and fingerprint the files again (after Make built starting weights)."""
        self._inputs = self._fingerprints = None


def input_files(recipe):
    """{section: [files]} the recipe reads; UserError for a data set that cannot train a classifier."""
    from edgecnn.data.datasets import data_files

    out = {"dataset": data_files(recipe["dataset"])[1], "calibration": [], "model": []}
    cal = Path(recipe["calibration"]["path"])
    if cal.is_dir():
        from edgecnn.data.calibration import all_images

        out["calibration"] = all_images(str(cal))
    for value in [recipe["model"]["weights"], recipe["model"]["file"], *teachers(recipe["train"])]:
        if value and value != "imagenet" and Path(value).exists():
            path = Path(value)
            out["model"] += [str(f) for f in sorted(path.rglob("*")) if f.is_file()] if path.is_dir() else [str(path)]
    return out


def _fingerprint(paths):
    from edgecnn.data.datasets import fingerprint

    return fingerprint(paths) if paths else None


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _read(path, chain=()):
    """The raw mapping of `path` with its bases merged in (UserError on a missing file, bad YAML or a cycle)."""
    if path.resolve() in chain:
        names = " -> ".join(p.name for p in (*chain, path.resolve()))
        raise UserError(f"{chain[0]}: its bases form a cycle ({names}); a recipe cannot include itself.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start} is 0x{e.object[e.start]:02x}); save the recipe "
                        f"as UTF-8.") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {str(e).splitlines()[0]}.") from None
    if not isinstance(raw, dict) or "base" not in raw:
        return raw
    bases = raw.pop("base")
    if not (isinstance(bases, str) or (isinstance(bases, list) and all(isinstance(b, str) for b in bases))):
        raise UserError(f"{path}: base is {bases!r}; it must be a file name or a list of file names, such as "
                        f"'base: _compare.yaml'.")
    merged = {}
    for base in [bases] if isinstance(bases, str) else bases or []:
        base_path = path.parent / str(base)
        if not base_path.is_file():
            raise UserError(f"{path}: base '{base}' does not exist; bases are paths relative to {path.parent}/.")
        part = _read(base_path, (*chain, path.resolve()))
        if not isinstance(part, dict):
            raise UserError(f"{base_path}: a base is a YAML mapping of recipe sections.")
        merged = _merge(merged, part)
    return _merge(merged, raw)


def _merge(under, over):
    out = dict(under)
    for section, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(section), dict)
        out[section] = {**out[section], **value} if both else value
    return out


def load(path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"recipe {path} does not exist; recipes live in recipes/<name>.yaml.")
    name = path.stem
    if name.startswith("_"):
        raise UserError(f"{path}: a recipe file name starting with '_' marks a base (shared keys that recipes "
                        f"include with 'base: {path.name}'), not a recipe to build; rename it without the "
                        f"leading '_', or give it as a base of a recipe.")
    if not NAME_RE.match(name):
        raise UserError(f"{path}: a recipe file name may hold only letters, digits, '_', '.', '-' "
                        f"(it names the build folder), got '{name}'.")
    return Recipe(name=name, path=path, data=validate(_read(path), str(path)))


def write_stage_configs(recipe):
    """Write build/<r>/stages/<stage>.json, touching only those whose content changed. Returns the changed."""
    from edgecnn.artifacts import atomic_write

    changed = []
    for stage in STAGES:
        target = recipe.build_dir / "stages" / f"{stage}.json"
        text = json.dumps(recipe.stage_config(stage), indent=2, sort_keys=True) + "\n"
        if not target.is_file() or target.read_text() != text:
            atomic_write(target, text.encode())
            changed.append(stage)
    return changed
