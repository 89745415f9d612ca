"""`edgecnn optimize`: every candidate variant built through Make (only what is missing or stale), all of them
measured in one interleaved edgecnn-bench run on the whole test set, and the fastest within the accuracy
budget written as build/<r>/best.tflite, with optimize.json and optimize.md (the table of all candidates)."""

import json
from pathlib import Path

from edgecnn.artifacts import atomic_write, read_json, record
from edgecnn.bench import chance
from edgecnn.compress import choose as chooser
from edgecnn.variants import parse_tflite
from edgecnn.make import make, make_each
from edgecnn.measure import run_bench


def optimize(recipe, budget=None, remote=None):
    """Choose and write best.tflite; the text of optimize.md. `remote`: [user@]host[:port] where the candidates are
    measured (else the recipe's bench.remote, else here)."""
    cfg, out = recipe["optimize"], recipe.build_dir
    budget = cfg["budget"] if budget is None else budget
    variants = ["fp32"] + [v for v in cfg["candidates"] if v != "fp32"]
    make([str(out / "fp32.tflite"), str(out / "testset.npz")])
    failed = make_each([str(out / f"{v}.tflite") for v in variants[1:]])
    variants = [v for v in variants if str(out / f"{v}.tflite") not in failed]
    files = [out / f"{v}.tflite" for v in variants]
    report_path = out / "optimize_bench.json"
    run_bench(recipe, files, report_path, remote)
    blobs = {v: f.read_bytes() for v, f in zip(variants, files)}
    measured = read_json(report_path)
    candidates = chooser.candidates_from(measured, variants, blobs)
    reference = candidates[0]
    best, why = chooser.choose(candidates, reference, budget, eligible=set(cfg["candidates"]))
    notes = _notes(out, variants, "remote" in measured)
    accuracy = measured["models"][0]["accuracy"]
    alarms = chance.lines("fp32.tflite", accuracy)
    if chance.near_chance(accuracy["top1"], accuracy["classes"], accuracy["samples"]):
        alarms.append(f"warning: {best.variant} is the fastest file within the budget of an fp32 file that has not "
                      f"learned the task; best.tflite is written, but it is not worth shipping.")
    unmade = {Path(path).stem: why for path, why in failed.items()}
    rounds = len(best.rounds)
    text = (f"{recipe.name}: budget {budget:g} points of top-1 against fp32 "
            f"({100 * reference.top1:.2f} %); best: {best.variant}: {why}\n"
            + f"{_measured_on(measured)}\n"
            + (f"Latency: {measured['models'][0]['latency_ms']['runs']} interleaved runs of each file in {rounds} "
               f"consecutive rounds; a file is faster only when its slowest round median is below the other's "
               f"quickest.\n" if rounds else "")
            + "".join(f"{line}\n" for line in alarms) + "\n"
            + chooser.table(candidates, reference, budget, best, unmade) + "\n\n" + "\n".join(notes) + "\n")
    atomic_write(out / "best.tflite", blobs[best.variant])
    summary = {"budget": budget, "best": best.variant, "why": why, "reference": "fp32", "notes": notes, "warnings": alarms,
               "candidates": [vars(c) for c in candidates], "not_made": unmade}
    atomic_write(out / "optimize.json", (json.dumps(summary, indent=1) + "\n").encode())
    atomic_write(out / "optimize.md", text.encode())
    for name in ("best.tflite", "optimize.json", "optimize.md", "optimize_bench.json"):
        record(recipe, out / name, "optimize")
    return text


def _measured_on(measured):
    """Where the figures come from: the board of a --remote run (its CPU and runtime), else this machine."""
    rt, far, here = measured["runtime"], measured.get("remote"), measured.get("machine", {})
    runtime = f"{rt['name']} {rt['version']}, {measured['threads']} thread(s)"
    if far:
        return f"Measured on {far['host']} over ssh: {far['cpu']} ({far['machine']}), {runtime}."
    return f"Measured on this machine: {here.get('cpu', 'CPU unknown')} ({here.get('machine', '?')}), {runtime}."


def _notes(out, variants, remote=False):
    """Whether XNNPACK's sparse kernels run here, and whether each pruned fp32 graph fits their path."""
    sparse_ok, why = chooser.sparse_kernels_on_this_cpu()
    here = " on this machine, not the board" if remote else ""
    notes = [f"XNNPACK sparse kernels{here}: {'available' if sparse_ok else 'not used'} ({why})."]
    for variant in variants:
        source, fmt = parse_tflite(variant)
        info_path = out / f"{source.name}.json"
        if fmt == "fp32" and source.kind != "model" and info_path.is_file():
            info = read_json(info_path)
            notes.append(f"{variant}: the graph " + ("fits XNNPACK's sparse path" if info["sparse_path"] else
                         f"does not fit XNNPACK's sparse path (tfmot's check: {info['sparse_path_reason']})") + ".")
    return notes
