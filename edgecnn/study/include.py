"""Generated tables in docs/ are included from reports/, never retyped. A docs page marks the place:

    <!-- include reports/long.md -->
    ...the report, as its command last wrote it...
    <!-- end include -->

and every command that writes a report under reports/ rewrites the blocks that include it (its links made
relative to the page, its headings one level down). `python -m edgecnn.study.include` (make docs) rewrites
them all; a test holds each block equal to its report.
"""

import os
import re
import sys
from pathlib import Path

from edgecnn.artifacts import atomic_write

BLOCK = re.compile(r"(<!-- include (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- end include -->)", re.S)
LINK = re.compile(r"(\]\()(?!https?:|/|#)([^)\s]+)(\))")


def rendered(report, page):
    """The report's text as the page shows it: relative links rebased to the page's folder, headings demoted,
    and when the code or recipes that made it have changed since, a sentence saying so (study/provenance.py)."""
    from edgecnn.study.provenance import note

    text = Path(report).read_text()
    rel = os.path.relpath(Path(report).parent, Path(page).parent)
    text = LINK.sub(lambda m: f"{m.group(1)}{Path(rel, m.group(2)).as_posix()}{m.group(3)}", text)
    text = re.sub(r"^(#+ )", r"#\1", text, flags=re.M)
    text = text if text.endswith("\n") else text + "\n"
    stale = note(report)
    return text + ("\n" + stale if stale else "")


def blocks(page):
    """(report path relative to the project, block body) for every include block of a docs page."""
    return [(m.group("path"), m.group("body")) for m in BLOCK.finditer(Path(page).read_text())]


def refresh(report=None, docs="docs"):
    """Rewrite the blocks including `report` (a path under the current folder; None: every report) in every
    page under `docs`; the pages changed. A report outside the current folder includes nowhere."""
    if report is not None:
        try:
            report = Path(report).resolve().relative_to(Path.cwd()).as_posix()
        except ValueError:
            return []
    changed = []
    for page in sorted(Path(docs).glob("*.md")) if Path(docs).is_dir() else []:
        old = page.read_text()

        def fill(m):
            path = m.group("path")
            if (report is not None and path != report) or not Path(path).is_file():
                return m.group(0)
            return m.group(1) + rendered(path, page) + m.group(4)

        new = BLOCK.sub(fill, old)
        if new != old:
            atomic_write(page, new.encode())
            changed.append(str(page))
    return changed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        sys.exit("usage: python -m edgecnn.study.include   (rewrites every include block under docs/)")
    for page in refresh():
        print(f"rewrote {page}")
    missing = [(page.name, path) for page in sorted(Path("docs").glob("*.md")) for path, _ in blocks(page)
               if not Path(path).is_file()]
    for name, path in missing:
        print(f"docs/{name} includes {path}, which does not exist; run the command that writes it.", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
