"""`edgecnn export FILE --format c|android|ios|web`: the file sets each kind of app takes."""

import json
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.export import metadata
from edgecnn.export.c_array import identifier, render
from edgecnn.export.contents import model_bytes
from edgecnn.export.describe import check_labels, description, read_labels, recipe_labels, tensors
from edgecnn.export.files import write_all

FORMATS = ("c", "android", "ios", "web")
DEFAULT_NAME = {"c": "g_model", "android": "model", "ios": "model", "web": "model"}

GRADLE = """// app/build.gradle.kts: keep .tflite files uncompressed in the APK so the runtime can memory-map them
android {
    androidResources {
        noCompress += "tflite"
    }
}
// (Groovy, older Android Gradle plugins: android { aaptOptions { noCompress "tflite" } })"""


def _labels(path, labels_path, outputs, required):
    """Labels from --labels or labels.txt beside the model (edgecnn train writes it), checked against the
    model's class count; None when there are none and they are not `required`."""
    if labels_path:
        labels, source = read_labels(labels_path), f"--labels {labels_path}"
    else:
        labels, source = recipe_labels(path), f"{Path(path).parent / 'labels.txt'}"
        if labels is None:
            if not required:
                return None
            raise UserError(f"{path} has no labels.txt beside it (edgecnn train writes one); give the labels "
                            f"with --labels FILE, one label a line, one per class.")
    check_labels(labels, outputs, source)
    return labels


def _bundle(path, data, name, prefix, labels_path, mean, std, embed):
    inputs, outputs = tensors(path)
    labels = _labels(path, labels_path, outputs, required=True)
    if embed:       # the model itself carries name, labels and normalization, for Android Studio / the Task Library
        space = {1: "GRAYSCALE", 3: "RGB"}.get(inputs[0]["shape"][-1], "") if len(inputs[0]["shape"]) == 4 else ""
        data = metadata.write(data, metadata.Metadata(name=name, description=f"{Path(path).name}, exported by edgecnn",
                                                      labels=labels, mean=[mean], std=[std], color_space=space))
    about = description(f"{name}.tflite", inputs, outputs, "labels.txt", mean, std)
    return {f"{prefix}{name}.tflite": data, f"{prefix}labels.txt": ("\n".join(labels) + "\n").encode(),
            f"{prefix}{name}.json": (json.dumps(about, indent=2) + "\n").encode()}


def with_metadata(path, out, name, version, description_, author, license_, labels_path, mean, std, force):
    """Write `path` with TFLite metadata to the file `out`; returns `out`."""
    data = model_bytes(path)
    out = Path(out)
    if out.resolve() == Path(path).resolve():
        raise UserError(f"--out {out} is the input file; write the model with metadata to a new file.")
    if out.exists() and not force:
        raise UserError(f"{out} already exists; add --force to overwrite.")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist; create it first.")
    _, outputs = tensors(path)
    md = metadata.Metadata(name or out.stem, version, description_, author, license_,
                           _labels(path, labels_path, outputs, required=False) or [], [mean], [std])
    from edgecnn.artifacts import atomic_write

    atomic_write(out, metadata.write(data, md))
    return out


def _c_files(path, data, ident, max_bytes, max_arena, margin, budgets_from=None):
    """model_data.h/.cc and model_runtime.h (arena constant, op resolver), all measured on TFLite Micro."""
    import hashlib

    from edgecnn.export import micro

    facts = micro.measure(path, micro.DEFAULT_MARGIN if margin is None else margin)
    micro.check_budgets(path, facts, max_arena, budgets_from)
    header, source = render(data, ident, Path(path).name, "model_data.h")
    runtime_h = micro.render(facts, Path(path).name, hashlib.sha256(data).hexdigest())
    a = facts.arena
    within = lambda budget: f" (budget {budget:,})" if budget is not None else ""
    note = (f"flash: {len(data):,} bytes{within(max_bytes)}; TFLite Micro {facts.tflm_version} tensor arena: "
            f"{a.smallest:,} bytes smallest that runs (recorded head {a.head:,} + tail {a.tail:,}), "
            f"kTensorArenaSize = {facts.arena_constant:,}{within(max_arena)}.\n"
            f"#include \"model_data.h\" and \"{micro.HEADER}\"; pass {ident} to tflite::GetModel() and "
            f"get_resolver() to tflite::MicroInterpreter ({len(facts.methods)} operators: "
            f"{', '.join(facts.operators)}).")
    return {"model_data.h": header.encode(), "model_data.cc": source.encode(), micro.HEADER: runtime_h.encode()}, note


def export(path, fmt, out, name=None, force=False, max_bytes=None, labels=None, mean=0.0, std=1.0,
           embed_metadata=True, max_arena=None, arena_margin=None, budgets_from=None, top=5):
    """Write the `fmt` files of the .tflite `path` under `out`; returns (written paths, a note for the user)."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt} is not one of {', '.join(FORMATS)}.")
    data = model_bytes(path)
    if max_bytes is not None and len(data) > max_bytes:
        where = budgets_from or "--max-bytes"
        raise UserError(f"{path} is {len(data):,} bytes, over the flash budget of {max_bytes:,} ({where}); it will "
                        f"not fit that board (try a smaller model, its int8 or a pruned-and-clustered variant).")
    ident = identifier(name or DEFAULT_NAME[fmt])
    if fmt == "c":
        files, note = _c_files(path, data, ident, max_bytes, max_arena, arena_margin, budgets_from)
    elif fmt == "web":
        from edgecnn.export import web

        files, note = web.files(path, data, name, labels, mean, std, top)
    elif fmt == "android":
        files, note = _bundle(path, data, ident, "assets/", labels, mean, std, embed_metadata), GRADLE
    else:
        files, note = _bundle(path, data, ident, "", labels, mean, std, embed_metadata), (
            f"add {ident}.tflite, labels.txt and {ident}.json to the app target's Copy Bundle Resources; "
            f"Bundle.main.path(forResource: \"{ident}\", ofType: \"tflite\") finds the model.")
    written, created = write_all(out, files, force)
    return written, (f"created the folder {out}\n" if created else "") + note
