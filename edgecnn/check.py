"""`edgecnn check`: a recipe validated with its data, calibration images and own model file, and the files
Make depends on written: build/<r>/recipe.json, stages/<stage>.json (rewritten only when their sections
change) and deps.mk (the files the recipe reads)."""

import json
from pathlib import Path

from edgecnn import recipe as recipes
from edgecnn.artifacts import atomic_write, record


def check(recipe):
    """Validate what the recipe reads and write the files Make depends on; the stages whose config changed."""
    inputs = recipe.input_paths()
    from edgecnn.data.calibration import for_recipe

    for_recipe(recipe)
    if recipe["model"]["file"]:
        from edgecnn.data.datasets import data_files, selected_classes
        from edgecnn.zoo.keras_file import load_own

        names = data_files(recipe["dataset"])[0]
        load_own(recipe["model"]["file"], recipe["dataset"]["input_shape"],
                 len(selected_classes(recipe["dataset"], names)))
    changed = recipes.write_stage_configs(recipe)
    atomic_write(recipe.build_dir / "deps.mk", deps(recipe, inputs).encode())
    atomic_write(recipe.build_dir / "recipe.json", (json.dumps(recipe.data, indent=2) + "\n").encode())
    for path in [recipe.build_dir / "recipe.json", recipe.build_dir / "deps.mk",
                 *sorted((recipe.build_dir / "stages").glob("*.json"))]:
        record(recipe, path, None)
    return changed


def deps(recipe, inputs):
    """Make rules: recipe.json depends on every file and folder the recipe reads (a folder's time changes when
    a file is added or removed); an empty rule for each, so a deleted one means 'check again', not an error.
    Starting weights and distillation teachers under build/ are Make targets themselves: model.keras
    depends on them."""
    def esc(path):
        return str(path).replace("$", "$$").replace(" ", "\\ ").replace("#", "\\#")

    build = [p for p in inputs["model"] if Path(p).parts[:1] == ("build",)]
    files = [p for section in inputs.values() for p in section if p not in build]
    folders = sorted({str(Path(p).parent) for p in files} | {str(Path(p).parent.parent) for p in files})
    from edgecnn.schema import teachers

    for start in [recipe["model"]["weights"], *teachers(recipe["train"])]:     # starting weights, teachers
        if start and Path(start).parts[:1] == ("build",) and start not in build:
            build.append(start)
    target = recipe.build_dir / "recipe.json"
    lines = [f"# written by edgecnn check {recipe.path}: the files it reads"]
    lines += [f"{target}: {esc(p)}" for p in folders + files]
    # model.keras itself depends on the models it starts from or learns from: made first when missing
    # (through recipe.json a missing one, secondary like every target here, would not be), and a newer
    # one trains it again
    lines += [f"{recipe.build_dir / 'model.keras'}: {esc(p)}" for p in build]
    lines += [f"{esc(p)}:" for p in folders + files]
    return "\n".join(lines) + "\n"
