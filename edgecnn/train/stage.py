"""The train step Make runs (`edgecnn train`): one training a recipe at a time, local workers or this
process, starting weights made first, and one line saying what was trained."""

from edgecnn.artifacts import read_json
from edgecnn.errors import Interrupted
from edgecnn.lock import held


def train(recipe, recipe_path, strategy=None, workers=None, port=23456, progress=None):
    """Train the recipe's model to build/<r>/model.keras; the line to print, or None (a cluster's non-chief
    worker: the chief reports). Ctrl-C raises Interrupted saying how many epochs were saved."""
    with held(recipe.build_dir, f"edgecnn train {recipe.path}"):
        if workers:
            return _workers(recipe, recipe_path, workers, port)
        return _here(recipe, strategy, progress)


def _workers(recipe, recipe_path, workers, port):
    from edgecnn.train.workers import launch

    restarts = launch(recipe_path, recipe.build_dir, workers, port)
    history = read_json(recipe.build_dir / "history.json")
    return (f"{workers} workers trained {len(history)} epochs ({restarts} restart(s)): "
            f"val accuracy {history[-1].get('val_accuracy', float('nan')):.4f}")


def _here(recipe, strategy, progress):
    from edgecnn.make import make_weights
    from edgecnn.train.fit import kept_row, train as fit

    make_weights(recipe)
    try:
        _, history = fit(recipe, strategy_name=strategy, progress=progress)
    except KeyboardInterrupt:
        saved = recipe.build_dir / "checkpoints" / "history.json"
        epochs = len(read_json(saved)) if saved.is_file() else 0
        raise Interrupted(f"\ninterrupted: {epochs} finished epoch(s) saved in {recipe.build_dir}/checkpoints; "
                          f"'edgecnn train {recipe.path}' (or make) resumes from there.") from None
    if recipe["train"]["epochs"] == 0:
        return f"wrote {recipe.build_dir / 'model.keras'}: the starting weights as they are (train.epochs: 0)"
    if not history:             # a non-chief worker of a cluster: the chief reports
        return None
    kept = kept_row(history)
    accuracy = kept.get("val_accuracy", kept.get("val_predictions_accuracy", float("nan")))
    best = f" (epoch {kept['epoch']}'s weights kept, the best on validation)" if kept is not history[-1] else ""
    return f"trained {len(history)} epochs{best}: val accuracy {accuracy:.4f}"
