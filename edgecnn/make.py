"""Make from Python: a step that needs files another step builds (optimize's candidates, starting weights
under build/) asks the project's Makefile for them, so exactly the missing or stale work is done."""

import re
import subprocess
import sys
from pathlib import Path

from edgecnn.errors import UserError


def make_each(targets):
    """Make every target that can be made (make -k, its output passed on); {target: the line that says why}
    for each that could not be."""
    if not Path("Makefile").is_file():
        return {t: "it does not exist and there is no Makefile here to build it" for t in targets
                if not Path(t).is_file()}
    venv = Path(sys.prefix)   # this interpreter's environment is set up: make must not redo it
    proc = subprocess.Popen(["make", "--no-print-directory", "-k", f"VENV={venv}", "-o", f"{venv}/.installed", *targets],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line.rstrip())
    proc.wait()
    failed, said, last = {}, "", ""
    for line in lines:
        broke = re.match(r"make(\[\d+\])?: \*\*\* \[[^\]]*?:\d+: (.+?)\] Error", line)
        skipped = re.match(r"make(\[\d+\])?: Target '(.+?)' not remade because of errors", line)
        if broke:
            last = failed[broke.group(2)] = said or f"make could not build {broke.group(2)}"
            said = ""
        elif skipped:
            failed.setdefault(skipped.group(2), last or f"make could not build {skipped.group(2)}")
        elif line.strip() and not line.startswith(("make", "INFO:", "WARNING:", "W0000", "I0000", "E0000")):
            if "error" in line.lower() or not said:
                said = line.strip()[:300]
    return {t: failed.get(t, last or "make could not build it") for t in targets
            if t in failed or not Path(t).is_file()}


def make(targets):
    """Build `targets` (exactly the missing or stale work); UserError naming the first that could not be built
    and why."""
    failed = make_each(targets)
    if failed:
        target, why = next(iter(failed.items()))
        raise UserError(f"{target} could not be built ({why.rstrip('.')}); see the output above, or run edgecnn "
                        f"in the project folder.")


def make_weights(recipe):
    """Starting weights that an earlier recipe makes (build/<r>/model.keras) are built first when missing."""
    from edgecnn import recipe as recipes

    weights = recipe["model"]["weights"]
    if weights and weights != "imagenet" and not Path(weights).exists() and Path(weights).parts[:1] == ("build",):
        make([weights])
        recipe.forget_inputs()
        recipes.write_stage_configs(recipe)     # their fingerprint now: Make will not train this twice
