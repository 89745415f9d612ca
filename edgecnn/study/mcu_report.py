"""`make mcu-report`: the microcontroller recipes as TensorFlow Lite Micro measured them, written as reports/mcu.md
and .json with the record of what made them (docs/microcontrollers.md includes it).

For each recipe's build: its int8 file's size (the flash its C array takes), TFLM's arena (head and tail as its
recording allocator planned them, the smallest that ran, and kTensorArenaSize with the recipe's margin), top-1
through TFLM and through LiteRT on the same test images (build/<r>/tflm.json, which `make build/<r>/tflm.json`
writes), its operators, its size in parameters and multiply-adds, and whether it fits the recipe's export budgets.
The first recipe named is the one chosen; it gets a table of its own.

    python -m edgecnn.study.mcu_report mcu_fashion_mnist mcu_fashion_mnist_small ... [--out reports/mcu]
"""

import argparse
import sys
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError


def _model(recipe):
    options = ", ".join(f"{k} {'-'.join(map(str, v)) if isinstance(v, list) else v}"
                        for k, v in sorted(recipe["model"]["options"].items()))
    return f"{recipe['model']['name']}{' (' + options + ')' if options else ''}"


def _classes(path):
    from edgecnn.bench.runtime import pick_runtime

    return int(pick_runtime().interpreter(str(path), 1).get_output_details()[0]["shape"][-1])


def row(name, build="build"):
    """One recipe's figures from its build folder; UserError naming the make target when they are missing."""
    from edgecnn.bench import tflm
    from edgecnn.study.compare import size_of

    folder = Path(build) / name
    measured, recipe = folder / "tflm.json", folder / "recipe.json"
    if not measured.is_file() or not recipe.is_file():
        raise UserError(f"{measured} is missing: run `make {measured}` (it trains recipes/{name}.yaml if needed and "
                        f"runs the int8 file on TensorFlow Lite Micro).")
    recipe, report = read_json(recipe), read_json(measured)
    one = report["models"][0]
    acc = one.get("accuracy")
    if not acc or not acc.get("reference"):
        raise UserError(f"{measured} has no top-1 next to LiteRT's; run `make -W {folder}/int8.tflite {measured}` "
                        f"with LiteRT installed (make setup).")
    export = recipe.get("export") or {}
    margin = export.get("arena_margin", 0.1)
    arena = one["arena"]
    constant = tflm.with_margin(arena["smallest"], margin)
    over = []
    if export.get("max_flash") is not None and one["bytes"] > export["max_flash"]:
        over.append(f"flash {one['bytes'] / export['max_flash']:.1f}x the budget")
    if export.get("max_arena") is not None and constant > export["max_arena"]:
        over.append(f"arena {constant / export['max_arena']:.1f}x the budget")
    floor = (recipe.get("targets") or {}).get("int8_top1")
    if floor is not None and acc["top1"] < floor:
        over.append(f"top-1 under targets.int8_top1 {100 * floor:.0f} %")
    params, macs = size_of(recipe, _classes(folder / "int8.tflite"))
    return {"recipe": name, "measured": measured.as_posix(), "model": _model(recipe), "parameters": params, "macs": macs,
            "epochs": recipe["train"]["epochs"], "input_shape": recipe["dataset"]["input_shape"],
            "bytes": one["bytes"], "arena": arena, "margin": margin, "arena_constant": constant,
            "max_flash": export.get("max_flash"), "max_arena": export.get("max_arena"), "min_top1": floor,
            "operators": sorted(tflm.check(folder / "int8.tflite").builtins),
            "top1": acc["top1"], "samples": acc["samples"], "reference_runtime": one.get("reference_runtime"),
            "reference_top1": acc["reference"]["top1"], "agreement": acc["reference"]["agreement"],
            "max_output_difference": acc["reference"]["max_output_difference"], "unit": acc["reference"]["unit"],
            "tflm": report.get("version"), "fits": not over, "over": over}


def _budget(value):
    return f"{value:,} B" if value is not None else "none"


def render(report):
    rows = report["rows"]
    chosen = rows[0]
    shape = "x".join(map(str, chosen["input_shape"]))
    a = chosen["arena"]
    lines = [f"TensorFlow Lite Micro {chosen['tflm']} (its own interpreter, reference kernels, on this host), next to "
             f"{chosen['reference_runtime']} on the same {chosen['samples']:,} test images; int8 files with uint8 "
             f"input at {shape}. Each row: `make build/<recipe>/tflm.json`.", "",
             "| recipe | model | parameters | multiply-adds | epochs | flash (int8 file) | TFLM smallest arena (head + tail) | "
             "`kTensorArenaSize` | top-1 TFLM | top-1 LiteRT | fits the budgets and targets |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        fits = "yes" if r["fits"] else "no: " + ", ".join(r["over"])
        name = f"**{r['recipe']}**" if r is chosen else r["recipe"]
        lines.append(f"| {name} | {r['model']} | {r['parameters']:,} | {r['macs'] / 1e6:.1f} M | {r['epochs']} | "
                     f"{r['bytes']:,} B | {r['arena']['smallest']:,} B ({r['arena']['head']:,} + {r['arena']['tail']:,}) | "
                     f"{r['arena_constant']:,} B | "
                     f"{100 * r['top1']:.2f} % | {100 * r['reference_top1']:.2f} % | {fits} |")
    lines += ["", f"The chosen recipe, `{chosen['recipe']}` (`make build/{chosen['recipe']}/c/model_data.cc` writes "
                  f"its C array with these figures):", "",
              "| | value | budget (the recipe's export and targets sections) |", "|---|---:|---:|",
              f"| flash (the int8 file, the C array) | {chosen['bytes']:,} B | {_budget(chosen['max_flash'])} |",
              f"| TFLM arena recorded (head {a['head']:,} + tail {a['tail']:,}) | {a['recorded']:,} B | |",
              f"| TFLM arena: smallest that runs ({a['probes']} probes, {a['crashes']} ended by a crash) | "
              f"{a['smallest']:,} B | |",
              f"| `kTensorArenaSize` (+{100 * chosen['margin']:.0f} %, at least 1 KiB) | {chosen['arena_constant']:,} B | "
              f"{_budget(chosen['max_arena'])} |",
              f"| top-1 through TFLM | **{100 * chosen['top1']:.2f} %** | "
              f"{'at least %.0f %% (targets.int8_top1)' % (100 * chosen['min_top1']) if chosen['min_top1'] else ''} |",
              f"| top-1 through {chosen['reference_runtime']}, same images | {100 * chosen['reference_top1']:.2f} % | |",
              f"| same class on both | {100 * chosen['agreement']:.2f} % (raw outputs differ by at most "
              f"{chosen['max_output_difference']:g} {chosen['unit']}) | |",
              f"| operators | {', '.join(chosen['operators'])} | |"]
    fitting = [r["recipe"] for r in rows if r["fits"]]
    best = max(rows, key=lambda r: r["top1"])
    lines += ["", f"{len(fitting)} of {len(rows)} recipes fit their budgets and meet their targets"
                  + (f" ({', '.join(fitting)})" if fitting else "")
                  + f"; the most accurate file through TFLM is {best['recipe']}'s ({100 * best['top1']:.2f} %)"
                  + (", which fits." if best["fits"] else f", which does not ({', '.join(best['over'])}).")]
    return "\n".join(lines)


def write(names, base, build="build"):
    from edgecnn.study.peer import write as write_report
    from edgecnn.study.provenance import invoked

    if not names:
        raise UserError("name at least one recipe (recipes/<name>.yaml) whose build has a tflm.json.")
    report = {"rows": [row(n, build) for n in names]}
    write_report(report, Path(base), render, invoked("edgecnn.study.mcu_report"))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m edgecnn.study.mcu_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="+", help="recipe names (the first is the chosen one)")
    parser.add_argument("--out", default="reports/mcu", help="report base path (default reports/mcu)")
    args = parser.parse_args(argv)
    try:
        write(args.recipes, Path(args.out))
    except UserError as e:
        print(f"edgecnn: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
