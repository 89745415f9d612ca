"""`make fold-check`: the input fold measured on a trained model, written as a report (docs/speed.md includes it).
The recipe's model.keras converted with and without the input scaling folded into its stem (edgecnn/convert/
fold_check.py): the fp32 files' largest output difference and the int8 files' top-1 on the recipe's test set.

    python -m edgecnn.study.fold [RECIPE] [--samples N]      (after make build/NAME/model.keras build/NAME/testset.npz)
"""

import argparse
import sys
from pathlib import Path

REPORT = Path("reports/fold_check")
DEMO = "recipes/fashion_mnist_mobilenet_v2.yaml"


def markdown(report):
    return "\n".join([
        f"`{report['recipe']}`'s model.keras converted twice, unfolded and folded (both files from one model), "
        f"{report['images']:,} test images of its testset.npz." + (
            f" The folded form was not made: {report['unfolded_because']}." if report["unfolded_because"] else ""),
        "", "| | unfolded | folded |", "|---|---:|---:|",
        f"| fp32: largest difference relative to the output | | {report['fp32_max_relative_difference']:.1e} |",
        f"| int8 top-1 | {100 * report['int8_top1_unfolded']:.2f} % | {100 * report['int8_top1_folded']:.2f} % |",
        f"| int8 predictions that differ | | {report['int8_predictions_differing']:,} of {report['images']:,} |"]) + "\n"


def main(argv=None):
    from edgecnn.convert.fold_check import compare
    from edgecnn.study.peer import write
    from edgecnn.study.provenance import invoked

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.fold", description=__doc__.split("\n\n")[0])
    p.add_argument("recipe", nargs="?", default=DEMO)
    p.add_argument("--samples", type=int, help="the first N test images (default all)")
    args = p.parse_args(argv)
    report = {"recipe": args.recipe, **compare(args.recipe, args.samples),
              "build": f"build/{Path(args.recipe).stem}/"}
    write(report, REPORT, markdown, invoked("edgecnn.study.fold", argv), ("edgecnn.bench",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
