"""`aipl plan --pdf`: the plan as PDF, drawn with the bundled Chinese font (AIPL Sans SC, a subset of Noto Sans CJK
SC) whatever the machine has installed, its Chinese extractable as text, and its charts measured in the font that
draws them (so no label is cut at a chart's edge)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import zlib

from typer.testing import CliRunner

from aipl.cli import app
from aipl.report import charts
from aipl.report.fonts import FONT_FAMILY, cjk_font
from tests.assets.test_states import at


def test_plan_pdf_draws_chinese_with_the_bundled_font(ws, tmp_path):
    root, wh = ws
    wh.close()  # the command opens the workspace itself
    pdf = tmp_path / "out" / "plan.pdf"
    r = CliRunner().invoke(app, ["plan", "--brand", "B", "--campaign", "TY", "--gmv-target", "1300", "--day",
                                 str(at(380).date()), "-w", str(root), "--pdf", str(pdf)])
    assert r.exit_code == 0, r.output
    assert pdf.with_suffix(".html").exists() and f"and{pdf}" in "".join(r.output.split())
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    fonts = set(re.findall(rb"/BaseFont\s*/[A-Z]{6}\+([A-Za-z-]+)", _inflated(data)))
    assert fonts and fonts <= {b"AIPL-Sans-SC", b"AIPL-Sans-SC-Bold"}, fonts  # no other font stood in for a glyph
    if shutil.which("pdftotext"):  # poppler-utils (Debian); the font check above holds without it
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "人群池" in text and "今年" in text and "去年" in text, text[:500]


def _inflated(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (object streams hold the font dictionaries) inflated."""
    parts = [pdf]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(m.group(1)))
    return b"\n".join(parts)


def test_charts_measure_their_labels_in_the_font_the_pdf_draws():
    assert cjk_font() == FONT_FAMILY
    svg = charts.flow({"A": {"A": 8, "P": 2}, "P": {"A": 0, "P": 5}}, title="人群流转 flow",
                      labels={"A": "认知 Awareness", "P": "购买 Purchase"})
    assert "AIPL Sans SC" in svg and "认知 Awareness" in svg
