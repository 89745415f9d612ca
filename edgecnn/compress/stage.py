"""The compress step Make runs (`edgecnn compress`): the variant's last step (prune, cluster or QAT) applied
to the variant before it, written as build/<r>/<variant>.keras (.h5 for QAT) with a .json of what it left."""

import json
import warnings

from edgecnn.artifacts import atomic_path, atomic_write, record
from edgecnn.variants import parse_source
from edgecnn.errors import UserError


def load_source(recipe, source):
    """The Keras model behind a variant, or UserError saying which make target builds it."""
    path = recipe.build_dir / source.file
    if not path.is_file():
        raise UserError(f"{path} does not exist; run 'make {path}' first.")
    if source.kind == "qat":
        from edgecnn.compress.qat import load_qat

        return load_qat(path)
    from edgecnn.zoo.keras_file import load_trained

    return load_trained(path)


def compress(recipe, variant):
    """Build the variant; the lines to print."""
    from edgecnn.compress import prune as pruning

    source = parse_source(variant)
    if source.kind == "model":
        raise UserError("the trained model is built by 'edgecnn train'; compress makes slim-NN, pruned-NN, "
                        "clustered-K, qat or a chain of them such as pruned-80-qat.")
    model = load_source(recipe, parse_source(source.parent))
    lines, info = [], {"variant": variant, "parent": source.parent}
    if source.kind == "slim":
        from edgecnn.compress.slim import slim

        result, info["history"], narrowed = slim(recipe, model, source.slim)
        info.update(narrowed)
        lines.append(f"{variant}: {narrowed['channels_removed']:.1%} of the prunable channels removed "
                     f"({narrowed['criterion']}), multiply-adds {narrowed['macs'][0]:,} -> {narrowed['macs'][1]:,} "
                     f"({narrowed['macs'][1] / narrowed['macs'][0]:.2f}x), parameters {narrowed['params'][0]:,} -> "
                     f"{narrowed['params'][1]:,}")
    elif source.kind == "pruned":
        result, info["history"] = pruning.prune(recipe, model, source.sparsity)
    elif source.kind == "clustered":
        from edgecnn.compress.cluster import cluster

        result, info["history"] = cluster(recipe, model, source.clusters, keep_zeros=source.percent > 0)
    else:
        from edgecnn.compress.qat import qat

        result, info["history"], info["stays_float"] = qat(recipe, model, keep_zeros=source.percent > 0)
        if info["stays_float"]:
            lines.append(f"{variant}: {len(info['stays_float'])} layer(s) tfmot cannot quantize stay float: "
                         f"{', '.join(info['stays_float'])}")
    rows = info["layers"] = pruning.sparsity_report(result)
    info["sparse_path"], info["sparse_path_reason"] = pruning.sparse_path(result)
    out = recipe.build_dir / source.file
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # HDF5 is "legacy", but QAT models need it
        result.save(tmp)
    report = recipe.build_dir / f"{variant}.json"
    atomic_write(report, (json.dumps(info, indent=1) + "\n").encode())
    for path in (out, report):
        record(recipe, path, source.stage)
    val = info["history"][-1].get("val_accuracy", float("nan"))
    lines.append(f"wrote {out}: val accuracy {val:.4f}, {pruning.overall_sparsity(rows):.1%} of kernel weights zero")
    return lines
