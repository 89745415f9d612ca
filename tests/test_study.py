"""The study's table and plot (make compare) from rows: Pareto front, ratios to VGG16, CSV, PNG."""

import csv
import io

import pytest

from edgecnn.errors import UserError
from edgecnn.study.plot import plot
from edgecnn.study.table import Row, markdown, pareto, reference_row, to_csv


def rows():
    return [Row("vgg16", "fp32", 33_600_000, 313_000_000, 134_000_000, 0.930, 6.0),
            Row("vgg16", "int8", 33_600_000, 313_000_000, 33_700_000, 0.928, 2.0),
            Row("mobilenet_v2", "fp32", 420_000, 6_000_000, 1_600_000, 0.912, 0.20),
            Row("mobilenet_v2", "int8", 420_000, 6_000_000, 620_000, 0.911, 0.15),
            Row("lenet5", "int8", 60_000, 400_000, 70_000, 0.880, 0.15),        # as fast, less accurate
            Row("resnet50", "fp32", 23_500_000, 90_000_000, 94_000_000, 0.925, 3.0)]


def test_pareto_front_keeps_only_rows_nothing_beats():
    front = [(r.model, r.variant) for r in pareto(rows())]
    # lenet5 is beaten by mobilenet_v2 int8 (as fast, more accurate); resnet50 by vgg16 int8
    assert front == [("mobilenet_v2", "int8"), ("mobilenet_v2", "fp32"), ("vgg16", "int8"), ("vgg16", "fp32")]


def test_markdown_and_csv_relative_to_vgg16(tmp_path):
    data = rows()
    ref = reference_row(data)
    text = markdown(data, ref)
    assert "| mobilenet_v2 | int8 | 0.42 M | 6.0 M | 605 KB | 91.10 % | 0.150 | 0.025x | 216.1x | yes |" in text
    assert "| lenet5 | int8 |" in text and text.count("| yes |") == 4
    table = list(csv.DictReader(io.StringIO(to_csv(data, ref))))
    assert len(table) == 6 and float(table[3]["latency_vs_reference"]) == pytest.approx(0.025)
    assert table[4]["pareto"] == "False" and table[3]["pareto"] == "True"
    with pytest.raises(UserError, match="no vgg16 fp32 row"):
        reference_row(data[2:])


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "compare.png"
    plot(rows(), path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
