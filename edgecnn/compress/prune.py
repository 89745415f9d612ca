"""Magnitude pruning with tfmot: which layers, on what schedule, and what it left.

Default layer choice (the known good practice for mobile CNNs, as in the tfmot guide and Fast Sparse
ConvNets): every Conv2D and Dense layer except the first convolution (few weights, every one matters)
and the classifier; depthwise convolutions stay dense (9 weights per channel, little to gain; tfmot
0.8 does not prune them at all). A SeparableConv2D (Xception) counts as a convolution: tfmot prunes its
pointwise kernel and leaves the depthwise one. Grouped convolutions (ResNeXt) are pruned like any
Conv2D. `xnnpack` prunes 1x1 convolutions only (tfmot's PruneForLatencyOnXNNPack choice); `all` prunes
every layer tfmot can.
"""

import tensorflow_model_optimization as tfmot
from tensorflow_model_optimization.python.core.sparsity.keras.prune_registry import PruneRegistry

from edgecnn.compress.finetune import clone_with, finetune
from edgecnn.errors import UserError
from edgecnn.tf import keras

sparsity = tfmot.sparsity.keras
SELECTIONS = ("default", "all", "xnnpack")


def _prunable(layer):
    """Layers with weights tfmot knows how to prune (BatchNorm is supported but has nothing to prune)."""
    if isinstance(layer, sparsity.PrunableLayer):
        return True
    return PruneRegistry.supports(layer) and bool(PruneRegistry._weight_names(layer))


def select_layers(model, selection="default", only=(), skip=()):
    """Names of the layers to prune; UserError naming layers that do not exist or cannot be pruned. A
    model trained with split groups is chosen from as the native one it is fine-tuned as (clone_with)."""
    from edgecnn.zoo.layers import grouped_form

    model = grouped_form(model, "native")
    names = [layer.name for layer in model.layers]
    for name in [*only, *skip]:
        if name not in names:
            raise UserError(f"prune: the model has no layer '{name}'.")
    if only:
        bad = [f"{n} ({type(model.get_layer(n)).__name__})" for n in only if not _prunable(model.get_layer(n))]
        if bad:
            raise UserError(f"prune.only: tfmot cannot prune {', '.join(bad)}: they have no prunable weights; "
                            f"prunable layers include Conv2D, DepthwiseConv2D and Dense.")
        return list(only)
    weighted = [layer for layer in model.layers if _prunable(layer)]
    if selection == "all":
        chosen = weighted
    elif selection == "xnnpack":
        chosen = [layer for layer in weighted if sparsity.PruneForLatencyOnXNNPack().allow_pruning(layer)]
    else:
        convs = [layer for layer in weighted if type(layer) in (keras.layers.Conv2D, keras.layers.SeparableConv2D)]
        dense = [layer for layer in weighted if isinstance(layer, keras.layers.Dense)]
        chosen = [layer for layer in convs[1:] + dense[:-1]]
    return [layer.name for layer in chosen if layer.name not in skip]


def schedule(kind, target, end_step):
    if kind == "constant":
        return sparsity.ConstantSparsity(target, begin_step=0, frequency=max(1, end_step // 20))
    return sparsity.PolynomialDecay(0.0, target, begin_step=0, end_step=end_step, frequency=max(1, end_step // 20))


def prune(recipe, model, target):
    """The model fine-tuned with `target` of the selected layers' weights pruned, wrappers stripped."""
    cfg = recipe["prune"]
    chosen = set(select_layers(model, cfg["layers"], cfg["only"], cfg["skip"]))
    if not chosen:
        raise UserError("prune: no layer selected; set prune.layers to 'all' or list layers in prune.only.")

    def make_model(steps):
        # the schedule reaches its target at 2/3 of the run; the last third recovers accuracy at it
        end = max(1, int(cfg["epochs"] * steps * 2 / 3))
        return wrapped(model, chosen, schedule(cfg["schedule"], target, end))

    pruned, history = finetune(recipe, make_model, cfg["epochs"], cfg["learning_rate"],
                               callbacks=[sparsity.UpdatePruningStep()])
    return sparsity.strip_pruning(pruned), history


def wrapped(model, chosen, plan):
    """The model, trained weights kept, with tfmot's pruning wrapper on each layer named in `chosen`; fit it with
    tfmot's UpdatePruningStep callback, then strip the wrappers (sparsity.strip_pruning)."""
    return clone_with(model, lambda layer, original: sparsity.prune_low_magnitude(layer, pruning_schedule=plan)
                      if layer.name in chosen else layer)


def sparsity_report(model):
    """Rows (layer, type, weights, zeros, sparsity) for every layer with a kernel."""
    rows = []
    for layer in model.layers:            # layer.weights, not layer.kernel: QAT wrappers hold the kernel too
        kernels = {w.name.split("/")[-1].split(":")[0]: w for w in layer.weights}
        kernel = next((kernels[k] for k in ("kernel", "pointwise_kernel", "depthwise_kernel") if k in kernels), None)
        if kernel is None:
            continue
        values = kernel.numpy()
        zeros = int((values == 0).sum())
        inner = getattr(layer, "layer", layer)
        rows.append({"layer": layer.name, "type": type(inner).__name__, "weights": int(values.size),
                     "zeros": zeros, "sparsity": zeros / values.size})
    return rows


def overall_sparsity(rows, names=None):
    chosen = [r for r in rows if names is None or r["layer"] in names]
    return sum(r["zeros"] for r in chosen) / max(1, sum(r["weights"] for r in chosen))


def sparse_path(model):
    """(True, '') if XNNPACK's sparse path can run this model's graph, else (False, why), by tfmot's check."""
    try:
        sparsity.PruneForLatencyOnXNNPack().ensure_model_supports_pruning(model)
    except ValueError as e:
        return False, str(e)
    return True, ""
