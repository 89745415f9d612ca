"""`edgecnn export FILE --format web`: a static page that classifies a picked or dropped image with the .tflite
file in the browser, through LiteRT.js (WebGPU where the browser has it, WebAssembly otherwise).

The folder holds index.html, edgecnn.js (the page's one module, web_page/), the model as it is, model.json (its
input, fit, normalization, quantization and class names: what LiteRT.js cannot read from the file) and LiteRT.js
itself, copied from web/node_modules at the version web/package-lock.json pins. Any static server serves it;
file:// cannot load WebAssembly modules."""

import json
from pathlib import Path

from edgecnn.errors import UserError

PAGE = Path(__file__).resolve().parent / "web_page"
NODE = Path(__file__).resolve().parents[2] / "web"
LITERT_JS = NODE / "node_modules" / "@litertjs"
# the Wasm builds the page may load: JSPI (WebGPU with per-op fallback, int8 on WebGPU), plain (relaxed SIMD),
# compat (neither); the threaded build needs cross-origin isolation headers a plain static server does not send
WASM = [f"litert_wasm{kind}_internal.{ext}" for kind in ("", "_compat", "_jspi") for ext in ("js", "wasm")]
FEEDS = ("float32", "uint8")          # LiteRT.js' Tensor takes float32, int32 and uint8; an image is one of two


def refusal(path, inputs, outputs, dynamic):
    """The one sentence for a file the page cannot feed (`dynamic`: whether its input's shape signature has a
    free dimension), or None."""
    if len(inputs) != 1:
        return (f"{path} has {len(inputs)} inputs; the web page feeds one image, so give a classifier with a single "
                f"image input.")
    t = inputs[0]
    if dynamic:
        return (f"{path} has a dynamic input shape ({t['name']}); LiteRT.js needs fixed shapes: convert it with a "
                f"fixed batch-1 signature (edgecnn's own files have one).")
    if t["dtype"] not in FEEDS:
        return (f"{path} takes {t['dtype']} input; LiteRT.js feeds float32 or uint8 images only: convert it with "
                f"convert.int8_io: uint8 (or float input) and export that file.")
    shape = t["shape"]
    if len(shape) != 4 or shape[0] != 1 or shape[-1] not in (1, 3):
        return (f"{path} takes a {'x'.join(map(str, shape))} input; the page feeds one image as "
                f"1 x height x width x 1 or 3.")
    if len(outputs[0]["shape"]) != 2:
        return (f"{path} gives a {'x'.join(map(str, outputs[0]['shape']))} output; the page reads class scores "
                f"as 1 x classes.")
    return None


def litertjs_version():
    """The installed LiteRT.js version, or UserError saying how to install it."""
    try:
        return json.loads((LITERT_JS / "core" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        raise UserError(f"LiteRT.js is not installed in {NODE / 'node_modules'}: run 'make web-setup' (npm ci in "
                        f"web/, at the version web/package-lock.json pins; needs Node and npm).") from None


def _vendored():
    """{relative path in the site: bytes} of LiteRT.js, with the version it is."""
    core = LITERT_JS / "core"
    version = litertjs_version()
    files = {"litertjs/core.js": (core / "dist" / "index.js").read_bytes(),
             "litertjs/wasm-utils.js": (LITERT_JS / "wasm-utils" / "dist" / "index.js").read_bytes()}
    for name in WASM:
        files[f"litertjs/wasm/{name}"] = (core / "wasm" / name).read_bytes()
    files["litertjs/VERSION.txt"] = (f"@litertjs/core {version} and @litertjs/wasm-utils {version} from npm "
                                     f"(Apache-2.0), vendored by edgecnn export --format web\n").encode()
    return files, version


def _labels(path, data, labels_path, classes):
    """(labels or None, a note for the page when there are none)."""
    from edgecnn.export import metadata
    from edgecnn.export.describe import check_labels, read_labels, recipe_labels

    if labels_path:
        labels, source = read_labels(labels_path), f"--labels {labels_path}"
    else:
        md = metadata.read(data)
        labels, source = (md.labels, "the file's metadata") if md and md.labels else (recipe_labels(path), "labels.txt")
    if not labels:
        return None, ("The file has no labels in its metadata and no labels.txt beside it: the page shows class "
                      "indices (export with --labels FILE to name them).")
    check_labels(labels, [{"shape": [1, classes]}], source)
    return labels, ""


def files(path, data, name, labels_path, mean, std, top):
    """{relative path: bytes} of the page for the .tflite `path` (its bytes `data`), and a note for the user."""
    from edgecnn.bench.predict import recipe_fit
    from edgecnn.export import contents, metadata
    from edgecnn.export.describe import tensors

    inputs, outputs = tensors(path)
    sentence = refusal(path, inputs, outputs, any(t["dynamic"] for t in contents.read(path).inputs))
    if sentence:
        raise UserError(sentence)
    labels, note = _labels(path, data, labels_path, outputs[0]["shape"][-1])
    md = metadata.read(data)
    if md and md.mean and md.std and (mean, std) == (0.0, 1.0):      # the file says how it is fed
        mean, std = md.mean[0], md.std[0]
    vendored, version = _vendored()
    p = Path(path).resolve()
    title = name or (f"{p.parent.name}: {p.name}" if (p.parent / "recipe.json").is_file() else p.name)
    about = {"name": title, "model": "model.tflite", "source": Path(path).name,
             "input": inputs[0], "output": outputs[0], "fit": recipe_fit(path) or "auto",
             "normalization": {"mean": mean, "std": std}, "labels": labels, "top": min(top, outputs[0]["shape"][-1]),
             "note": note, "litertjs": version, "gpu_precision": "fp32"}
    site = {"index.html": (PAGE / "index.html").read_bytes(), "edgecnn.js": (PAGE / "edgecnn.js").read_bytes(),
            "model.tflite": data, "model.json": (json.dumps(about, indent=1) + "\n").encode(), **vendored}
    return site, ((note + "\n" if note else "") +
                  "serve the folder from any static server (file:// cannot load WebAssembly), e.g. "
                  "python3 -m http.server -b 127.0.0.1 -d FOLDER 8000, and open http://127.0.0.1:8000/")
