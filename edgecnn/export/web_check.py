"""`edgecnn web-check` (make web-check): the page `edgecnn export --format web` writes, served on 127.0.0.1 and
driven in the system Chromium, headless (puppeteer-core, web/check.mjs), on WebAssembly and on WebGPU
(SwiftShader, Chromium's software Vulkan device, where there is no GPU). A file passes when the page's top-1 on
the test images is within TOLERANCE_PT of edgecnn-bench's on the same images, and the pixels the page fits from
PNG files (decoded by the browser, padded or resized by edgecnn.js) equal those edgecnn predict feeds."""

import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from edgecnn.errors import UserError
from edgecnn.export.web import NODE

TOLERANCE_PT = 0.2
ACCELERATORS = ("wasm", "webgpu")
DRIVER = NODE / "check.mjs"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
PNGS = 8                 # test images saved as PNG (cropped when the recipe pads) for the preprocessing check


@dataclass
class Result:
    path: Path
    accelerator: str
    status: str                      # ok or FAIL
    text: str
    figures: dict = field(default_factory=dict)


def tools():
    """(chromium, node): the programs the check drives, or UserError saying how to get the one missing."""
    chromium = next((shutil.which(c) for c in CHROMIUM if shutil.which(c)), None)
    if chromium is None:
        raise UserError("make web-check needs Chromium and finds none: run 'sudo apt-get install chromium' "
                        "(make web-setup does it when run as root).")
    node = shutil.which("node")
    if node is None:
        raise UserError("make web-check needs Node.js and finds none: run 'sudo apt-get install nodejs npm' "
                        "(make web-setup does it when run as root).")
    if not (NODE / "node_modules" / "puppeteer-core").is_dir():
        raise UserError(f"puppeteer-core is not installed in {NODE / 'node_modules'}: run 'make web-setup' "
                        f"(npm ci in web/).")
    return chromium, node


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder, port):
    """A static server for `folder` on 127.0.0.1, from `port` or the next free one above it; (server, note)."""
    for p in range(port, port + 100):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", p), partial(_Quiet, directory=str(folder)))
        except OSError:
            continue
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, "" if p == port else f"port {port} is busy; serving on {p}"
    raise UserError(f"ports {port}-{port + 99} on 127.0.0.1 are all busy; give another with --port.")


def _pngs(x, fit, folder):
    """Save the first test images as PNG files the way a person would have them: cropped 2 pixels a side when
    the recipe pads (the page pads them back), whole otherwise. [(path, pixels the page must fit)]."""
    from PIL import Image

    out = []
    for i, img in enumerate(x[:PNGS]):
        crop = img[2:-2, 2:-2] if fit in ("pad", "auto") else img
        path = folder / f"test_{i}.png"
        Image.fromarray(crop[..., 0] if crop.shape[-1] == 1 else crop).save(path)
        out.append(path)
    return out


def _classes(path, x):
    """Top-1 class of each image on this machine's TFLite runtime (edgecnn-bench's), one image at a time."""
    from edgecnn.bench.measure import to_input
    from edgecnn.bench.quiet import quiet_stderr
    from edgecnn.bench.runtime import pick_runtime

    interp = pick_runtime().interpreter(str(path), 1)
    with quiet_stderr():
        interp.allocate_tensors()                       # LiteRT's "INFO: Created ... XNNPACK delegate" line
    i, o = interp.get_input_details()[0], interp.get_output_details()[0]
    out = []
    for img in x:
        interp.set_tensor(i["index"], to_input(img[None].astype(np.float32), i))
        interp.invoke()
        out.append(int(np.argmax(interp.get_tensor(o["index"])[0])))
    return np.array(out)


def _bench_top1(model, subset):
    from edgecnn.artifacts import read_json

    out = subset.parent / "bench.json"
    subprocess.run([sys.executable, "-m", "edgecnn.bench", str(model), "--data", str(subset), "--runs", "1",
                    "--warmup", "0", "--threads", "1", "--json", str(out), "--quiet"], check=True, capture_output=True)
    return read_json(out)["models"][0]["accuracy"]["top1"]


def _drive(node, chromium, url, accelerator, fitted, count, pngs, screenshot):
    argv = [node, str(DRIVER), "--url", url, "--accelerator", accelerator, "--fitted", str(fitted),
            "--count", str(count), "--chromium", chromium]
    for p in pngs:
        argv += ["--png", str(p)]
    if screenshot:
        argv += ["--screenshot", str(screenshot)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"Chromium's run of the page failed (exit {proc.returncode}): {last}")
    return json.loads(lines[-1])


def check(path, samples, port, chromium, node, screenshot=None, accelerators=ACCELERATORS, echo=print):
    """[Result] for one file, one per accelerator."""
    from edgecnn.bench.images import read_fitted
    from edgecnn.export.formats import export

    testset = path.parent / "testset.npz"
    if not testset.is_file():
        raise UserError(f"{path} has no testset.npz beside it; run 'make {testset}' first.")
    with np.load(testset, allow_pickle=False) as f:
        x, y = f["x"][:samples], f["y"][:samples]
    results = []
    with tempfile.TemporaryDirectory(prefix="web-check-") as tmp:
        tmp = Path(tmp)
        site = tmp / "site"
        export(path, "web", site)
        info = json.loads((site / "model.json").read_text())
        subset = tmp / "images.npz"
        np.savez(subset, x=x, y=y)
        bench = _bench_top1(site / "model.tflite", subset)
        ours = _classes(site / "model.tflite", x)
        fitted = tmp / "fitted.bin"
        fitted.write_bytes(np.ascontiguousarray(x, dtype=np.uint8).tobytes())
        pngs = _pngs(x, info["fit"], tmp)
        want = [read_fitted(p, x.shape[1:], info["fit"]).ravel().tolist() for p in pngs]
        server, note = serve(site, port)
        if note:
            echo(note)
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/"
            for accelerator in accelerators:
                shot = screenshot if accelerator == accelerators[-1] else None
                got = _drive(node, chromium, url, accelerator, fitted, len(x), pngs, shot)
                results.append(_verdict(path, accelerator, got, y, ours, bench, want))
        finally:
            server.shutdown()
            server.server_close()
    return results


def _verdict(path, accelerator, got, y, ours, bench, want):
    if "error" in got:
        return Result(path, accelerator, "FAIL", f"{path} on {accelerator}: the page failed: {got['error']}")
    ran = got["ran"]
    classes = np.array(got["classes"])
    top1 = float(np.mean(classes == y))
    diff = round(100 * (top1 - bench), 6)         # 2 images in 1,000 are 0.2 points, not 0.2000000001
    same = int(np.sum(classes == ours))
    fitted_same = sum(g["fitted"] == w for g, w in zip(got["pngs"], want))
    ok = ran["accelerator"] == accelerator and abs(diff) <= TOLERANCE_PT and fitted_same == len(want)
    figures = {"file": str(path), "accelerator": accelerator, "ran": ran["text"], "images": len(y),
               "top1": top1, "bench_top1": bench, "diff_pt": diff, "same_class": same, "ms_per_image": got["msPerImage"],
               "pngs_fitted_equal": fitted_same, "pngs": len(want), "browser": got["browser"],
               "adapter": got.get("adapter")}
    text = (f"{path} on {ran['text']}: page top-1 {100 * top1:.2f} %, edgecnn-bench {100 * bench:.2f} % "
            f"({diff:+.2f} pt, within {TOLERANCE_PT} required) on {len(y):,} images, the same class as LiteRT on "
            f"{same}/{len(y)}, {got['msPerImage']:.2f} ms an image; {fitted_same}/{len(want)} PNG files fitted to "
            f"the same pixels as edgecnn predict")
    if ran["accelerator"] != accelerator:
        text += f"; asked for {accelerator}, ran on {ran['accelerator']}"
    return Result(path, accelerator, "ok" if ok else "FAIL", text, figures)


def run(paths, samples=1000, port=8000, screenshot=None, echo=print):
    """Check every file on both accelerators; ([Result], chromium version). UserError before anything runs
    when a file cannot be put on the page or a tool is missing."""
    from edgecnn.export import contents
    from edgecnn.export.describe import tensors
    from edgecnn.export.web import refusal

    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.is_file():
            raise UserError(f"{p} does not exist; give .tflite files (make web-check checks the demo's "
                            f"fp32.tflite and int8.tflite: run 'make demo' first).")
        sentence = refusal(p, *tensors(p), any(t["dynamic"] for t in contents.read(p).inputs))
        if sentence:
            raise UserError(sentence)
    chromium, node = tools()
    results = []
    for p in paths:
        for r in check(p, samples, port, chromium, node, screenshot if p == paths[-1] else None, echo=echo):
            echo(f"{r.status:<5} {r.text}")
            results.append(r)
    return results
