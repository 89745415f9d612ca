"""`edgecnn export` with a recipe: a microcontroller's budgets taken from the recipe's export section (an
app's files are the app's), and what is written under the recipe's build folder listed in its manifest."""

from pathlib import Path

from edgecnn import recipe as recipes
from edgecnn.export.formats import export as write


def export(model_path, fmt, out, name=None, force=False, max_bytes=None, labels_path=None, mean=0.0, std=1.0,
           embed=True, max_arena=None, arena_margin=None, recipe_path=None, top=5):
    """The files written and the note to print (formats.export's), budgets from the recipe where not given."""
    recipe = recipes.load(recipe_path) if recipe_path else None
    budgets_from = None
    if recipe and fmt == "c":
        budgets = recipe["export"]
        budgets_from = f"export section of {recipe_path}"
        max_bytes = budgets["max_flash"] if max_bytes is None else max_bytes
        max_arena = budgets["max_arena"] if max_arena is None else max_arena
        arena_margin = budgets["arena_margin"] if arena_margin is None else arena_margin
    written, note = write(model_path, fmt, out, name, force, max_bytes, labels_path, mean, std, embed, max_arena,
                          arena_margin, budgets_from, top)
    if recipe:
        from edgecnn.artifacts import record

        for path in map(Path, written):
            if recipe.build_dir.resolve() in path.resolve().parents:
                record(recipe, path, "export")
    return written, note
