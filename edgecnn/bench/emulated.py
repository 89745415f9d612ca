"""Every built .tflite on a 64-bit ARM runtime, emulated: `make device-check ARCH=aarch64`.

The guest is what a Raspberry Pi OS 64-bit board would run: Debian bookworm's arm64 python3.11 (an
extracted root, .arm64-root/), aarch64 wheels of numpy, Pillow and LiteRT (the version the host pins)
unpacked into it, and edgecnn/bench copied in as on a device. qemu-user runs it; no TensorFlow.

    python -m edgecnn.bench.emulated ROOT [FOLDER ...] [--samples N]     (host: prints the table)

For every .tflite with a testset.npz beside it (build/<recipe>/): the predictions for the first N test
images on the host's runtime and on the emulated ARM one, top-1 of each, the difference, and how many
predictions differ. Emulator time is not latency, so no latency is printed. Exit status 1 when a file
does not load on ARM, when a float file's prediction differs from the host's anywhere but on a tie (top two
scores within 1e-4), or when an integer file's predictions differ on more than 2 % of the images; 2 when
there is nothing to check.

Why int8 gets a share, not zero: XNNPACK's int8 kernels requantize differently on ARM and on x86, and the
difference grows layer by layer. On the demo's int8 file (1,000 test images) the two runtimes' scores
differed on 378 images, by up to 0.20, and 6 predictions (0.6 %) changed, each way; its fp32 file's
scores differed by at most 3e-6 and no prediction changed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

FLOAT_TIE = 1e-4          # a float file's prediction may differ only where its top two scores are this close
INTEGER_SHARE = 2.0       # % of images on which an integer file's predictions may differ (3x the 0.6 % measured)


def allowed(samples):
    """Images on which an integer file's predictions may differ between the two runtimes (at least one)."""
    return max(1, int(samples * INTEGER_SHARE / 100))


def verdict(arm, host, integer):
    """(predictions differing, None) when the two runtimes agree as they should, else (differing, why)."""
    a, h = np.asarray(arm), np.asarray(host)
    pa, ph = a.argmax(1), h.argmax(1)
    differ = np.nonzero(pa != ph)[0]
    if integer:
        return len(differ), (None if len(differ) <= allowed(len(a)) else
                             f"more than {INTEGER_SHARE:g} % ({allowed(len(a))}) of the predictions differ")
    rows = np.arange(len(h))[differ]
    untied = differ[h[rows, ph[differ]] - h[rows, pa[differ]] > FLOAT_TIE]
    return len(differ), (None if not len(untied) else
                         f"a float file's prediction differs on test image {int(untied[0])}, not a tie")
QEMU = ("qemu-aarch64-static", "qemu-aarch64")


def files_with_testsets(folders):
    from edgecnn.bench.device_check import tflite_files

    return [(p, os.path.join(os.path.dirname(p), "testset.npz")) for p in tflite_files(folders)
            if os.path.isfile(os.path.join(os.path.dirname(p), "testset.npz"))]


def predictions(path, data, samples, runtime):
    """{"loaded": True, "predictions": [...]} for the first `samples` test images, or the reason it failed."""
    from edgecnn.bench.labelled import load_npz
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.model_file import ModelFileError

    x, _, _ = load_npz(data)
    try:
        model = Loaded(path, runtime, 1)
        if len(model.inputs) != 1 or tuple(model.inputs[0]["shape"][1:]) != x.shape[1:]:
            return {"loaded": True, "error": f"{path} does not take the images of {data}"}
        scores = [model.predict(img[None].astype(np.float32))[0] for img in x[:samples]]
        integer = any(np.dtype(d["dtype"]) in (np.int8, np.uint8) for d in model.interp.get_tensor_details())
        return {"loaded": True, "integer": integer, "scores": [[float(v) for v in s] for s in scores]}
    except (ModelFileError, ValueError, RuntimeError) as e:
        return {"loaded": False, "error": str(e)}


def guest(argv):
    """Inside the emulator: predictions for each FILE=DATA pair, as one JSON object on stdout."""
    import platform

    from edgecnn.bench.runtime import pick_runtime

    samples, pairs = int(argv[0]), [a.split("=", 1) for a in argv[1:]]
    runtime = pick_runtime()
    out = {"machine": platform.machine(), "runtime": f"{runtime.name} {runtime.version}",
           "numpy": np.__version__, "files": {p: predictions(p, d, samples, runtime) for p, d in pairs}}
    print(json.dumps(out))


def install_bench(root):
    """edgecnn/__init__.py and edgecnn/bench/ copied into the guest, as onto a device (fresh every run)."""
    here = os.path.dirname(os.path.abspath(__file__))
    site = os.path.join(root, "opt", "bench", "site", "edgecnn")
    shutil.rmtree(site, ignore_errors=True)
    os.makedirs(site)
    shutil.copy(os.path.join(os.path.dirname(here), "__init__.py"), site)
    shutil.copytree(here, os.path.join(site, "bench"), ignore=shutil.ignore_patterns("__pycache__"))


def run_guest(root, pairs, samples):
    """The guest run in a chroot of the root, qemu-user copied in: the guest must not see the host's /proc
    (XNNPACK's cpuinfo parses /proc/cpuinfo, and an x86 one crashed the aarch64 process); without /proc it
    falls back as on a board it cannot read. The files go into ROOT/work/."""
    qemu = next((shutil.which(q) for q in QEMU if shutil.which(q)), None)
    if qemu is None:
        raise SystemExit("device-check: error: qemu-user is missing: run 'sudo apt-get install qemu-user-static'.")
    root = os.path.abspath(root)
    shutil.copy(qemu, os.path.join(root, "qemu-aarch64"))
    work = os.path.join(root, "work")
    shutil.rmtree(work, ignore_errors=True)
    inside = {}
    for i, (path, data) in enumerate(pairs):
        os.makedirs(os.path.join(work, str(i)))
        for src in (path, data):
            shutil.copy(src, os.path.join(work, str(i), os.path.basename(src)))
        inside[f"/work/{i}/{os.path.basename(path)}"] = path
    argv = ["chroot", root, "/qemu-aarch64", "/usr/bin/python3.11", "-m", "edgecnn.bench.emulated", "--guest",
            str(samples), *(f"{p}=/work/{p.split('/')[2]}/testset.npz" for p in inside)]
    if os.geteuid() != 0:
        argv = ["unshare", "--map-root-user", *argv]     # chroot in a user namespace of one's own
    env = {**os.environ, "PYTHONPATH": "/opt/bench/site"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    shutil.rmtree(work, ignore_errors=True)
    if proc.returncode:
        noise = [ln for ln in proc.stderr.splitlines() if not ln.startswith("Error in cpuinfo")]
        raise SystemExit(f"device-check: error: the emulated aarch64 Python failed ({proc.returncode}): "
                         f"{' '.join(noise[-3:]) or 'no message'}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    files = {}
    for guest_path, result in out["files"].items():          # the guest's paths back to the host's
        host_path = inside[guest_path]
        if "error" in result:
            result["error"] = result["error"].replace(os.path.dirname(guest_path), os.path.dirname(host_path))
        files[host_path] = result
    out["files"] = files
    return out


def host(root, folders, samples, json_out=None):
    from edgecnn.bench.labelled import load_npz
    from edgecnn.bench.runtime import pick_runtime

    if not os.path.isfile(os.path.join(root, "usr", "bin", "python3.11")):
        print(f"device-check: error: {root} is not an arm64 root; run 'make device-check ARCH=aarch64', which "
              f"builds it.", file=sys.stderr)
        return 2
    pairs = files_with_testsets(folders)
    if not pairs:
        print(f"device-check: error: no .tflite files with a testset.npz beside them under {', '.join(folders)}; "
              f"run 'make demo' first.", file=sys.stderr)
        return 2
    install_bench(root)
    runtime = pick_runtime()
    arm = run_guest(root, pairs, samples)
    print(f"aarch64 (qemu-user): {arm['runtime']}, numpy {arm['numpy']}; host {os.uname().machine}: "
          f"{runtime.name} {runtime.version}; top-1 on the first {samples} test images of each; no latency "
          f"(an emulator's time is not a board's)")
    rows, failed = [("file", "loads", "top-1 aarch64", "top-1 host", "difference", "predictions differing")], 0
    measured = []
    for path, data in pairs:
        _, y, _ = load_npz(data)
        y = y[:samples]
        theirs, ours = arm["files"][path], predictions(path, data, samples, runtime)
        if "scores" not in theirs or "scores" not in ours:
            failed += 1
            rows.append((path, "yes" if theirs["loaded"] else "NO", "-", "-", "-", theirs.get("error", ours.get("error"))))
            measured.append({"path": path, "loaded": bool(theirs["loaded"]), "error": theirs.get("error", ours.get("error"))})
            continue
        differ, why = verdict(theirs["scores"], ours["scores"], ours["integer"])
        a, h = np.argmax(theirs["scores"], 1), np.argmax(ours["scores"], 1)
        top_a, top_h = 100 * float((a == y).mean()), 100 * float((h == y).mean())
        failed += why is not None
        rows.append((path, "yes", f"{top_a:.2f} %", f"{top_h:.2f} %", f"{top_a - top_h:+.2f} pt",
                     f"{differ} of {len(a)}" + (f": {why}" if why else "")))
        measured.append({"path": path, "loaded": True, "top1_arm": top_a / 100, "top1_host": top_h / 100,
                         "differ": int(differ), "images": len(a), "failed": why})
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    said = (f"{len(pairs) - failed} of {len(pairs)} files load on aarch64 and predict as the host does (float files: "
            f"everywhere but on ties; integer files: on all but {INTEGER_SHARE:g} % of the images, {allowed(samples)} "
            f"of {samples})")
    print(said)
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"arm": {"runtime": arm["runtime"], "numpy": arm["numpy"]}, "host": {
                "machine": os.uname().machine, "runtime": f"{runtime.name} {runtime.version}"}, "samples": samples,
                "files": measured, "verdict": said, "passed": not failed}, f, indent=1)
    return 1 if failed else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--guest"]:
        return guest(argv[1:])
    p = argparse.ArgumentParser(prog="python -m edgecnn.bench.emulated", description=__doc__.split("\n\n")[0])
    p.add_argument("root", help="the arm64 root (make device-check ARCH=aarch64 builds .arm64-root)")
    p.add_argument("folders", nargs="*", default=["build"])
    p.add_argument("--samples", type=int, default=300, help="test images per file (default 300)")
    p.add_argument("--json", metavar="OUT", help="also write each file's figures and the verdict as JSON")
    args = p.parse_args(argv)
    return host(args.root, args.folders, args.samples, args.json)


if __name__ == "__main__":
    sys.exit(main())
