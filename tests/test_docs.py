"""The README and docs/: short, first things first, nothing outside the repository, no commit hashes, and
every generated table included from reports/ exactly as its command wrote it (edgecnn/study/include.py)."""

import re
from pathlib import Path

from edgecnn.study.include import BLOCK, blocks, refresh, rendered

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_the_readme_is_short_and_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) <= 12 * 1024
    first = re.search(r"```\n(.*?)```", text, re.S).group(1).splitlines()
    assert [line.split()[:2] for line in first[:2]] == [["make", "demo"], ["make", "test"]]
    assert text.index("make demo") < 100


def test_nothing_points_outside_the_repository():
    for path in [ROOT / "README.md", *PAGES]:
        text = path.read_text()
        assert not re.search(r"\.\./shared|ANCHORS|DESIGN\.md|\bissue \d|\bsession\b", text), path.name
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if not target.startswith(("http://", "https://")):
                assert (path.parent / target).exists(), (path.name, target)


def test_no_commit_hashes_in_readme_or_docs():
    for path in [ROOT / "README.md", *PAGES]:
        text = BLOCK.sub("", path.read_text())          # reports may hold sha256 sums
        words = re.findall(r"\b[0-9a-f]{7,40}\b", text)
        assert not [w for w in words if re.search(r"[a-f]", w) and re.search(r"\d", w)], path.name


MEASURED = re.compile(r"\d\.\d+ ?(%|(ms|MB|KB)\b)|\|\s*\d+\.\d+\s*\||\d{1,3}(,\d{3})+ B\b|\d+ min \d+ s")


def typed_tables(text):
    """Table rows holding measured figures (a percentage, milliseconds, bytes, a time) outside include blocks and
    code fences: a measured table is included from the report its command wrote, never typed into a page."""
    text = re.sub(r"```.*?```", "", BLOCK.sub("", text), flags=re.S)
    return [line for line in text.splitlines() if line.startswith("|") and MEASURED.search(line)]


def test_no_table_of_measured_figures_is_typed_into_a_page():
    assert typed_tables("| file | top-1 |\n|---|---:|\n| int8 | 92.39 % |\n") == ["| int8 | 92.39 % |"]
    assert typed_tables("<!-- include reports/a.md -->\n| int8 | 0.883 |\n<!-- end include -->\n") == []
    for page in PAGES:
        assert not typed_tables(page.read_text()), page.name


def test_every_included_report_is_the_report_as_written():
    included = 0
    for page in PAGES:
        for path, body in blocks(page):
            assert (ROOT / path).is_file(), (page.name, path)
            assert body == rendered(ROOT / path, page), f"{page.name}: {path} differs; run make docs"
            included += 1
    assert included >= 10


def test_a_report_written_again_rewrites_its_blocks_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "reports" / "a.md").write_text("# A\n\n| x |\n|---|\n| 1 |\n\n![plot](a.png)\n")
    (tmp_path / "reports" / "b.md").write_text("b, first\n")
    page = tmp_path / "docs" / "p.md"
    page.write_text("intro\n<!-- include reports/a.md -->\nold\n<!-- end include -->\nmiddle\n"
                    "<!-- include reports/b.md -->\nkept\n<!-- end include -->\n")
    assert refresh("reports/a.md") == ["docs/p.md"]
    text = page.read_text()
    assert "## A\n" in text and "](../reports/a.png)" in text and "\nkept\n" in text and "old" not in text
    assert refresh("reports/a.md") == []                     # written again unchanged: nothing to do
    assert refresh(tmp_path.parent / "elsewhere.md") == []   # a report outside the project includes nowhere
    refresh()
    assert "b, first" in page.read_text() and page.read_text().startswith("intro\n")
