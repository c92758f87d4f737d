"""The Chinese font of the reports: AIPL Sans SC, a subset of Noto Sans CJK SC (SIL OFL 1.1) bundled in
aipl/data, so that every PDF and chart draws Chinese on any machine; fonts installed on the machine (fontconfig)
cover the rare characters the subset lacks."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

FONT_FAMILY = "AIPL Sans SC"
FONT_FILE = Path(__file__).resolve().parents[1] / "data" / "AIPLSansSC-Regular.otf"


def cjk_font() -> str | None:
    """The family that draws the reports' Chinese: the bundled one, else an installed font that covers Chinese
    (None: neither).

    >>> cjk_font()
    'AIPL Sans SC'
    """
    if FONT_FILE.exists():
        return FONT_FAMILY
    found = _cjk_fonts()
    return found[0][1] if found else None


def cjk_font_file() -> str | None:
    """The file of the font that `cjk_font` names, or None.

    >>> cjk_font_file().endswith("AIPLSansSC-Regular.otf")
    True
    """
    if FONT_FILE.exists():
        return str(FONT_FILE)
    found = _cjk_fonts()
    return found[0][0] if found else None


def installed_cjk_fonts() -> tuple[str, ...]:
    """The families of the fonts installed on the machine that cover Chinese, proportional ones first.

    >>> isinstance(installed_cjk_fonts(), tuple)
    True
    """
    return tuple(dict.fromkeys(family for _, family in _cjk_fonts()))


def pdf_css() -> str:
    """The style every PDF adds to its page: the bundled font by file, then the installed Chinese fonts, and
    charts whose labels are never cut at their edge.

    >>> "@font-face" in pdf_css() and "AIPL Sans SC" in pdf_css()
    True
    """
    families = ", ".join(f'"{f}"' for f in (FONT_FAMILY, *installed_cjk_fonts()[:2]))
    face = (f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{FONT_FILE.as_uri()}"); }}\n'
            if FONT_FILE.exists() else "")
    return (f"{face}body, body * {{ font-family: {families}, sans-serif !important; }}\n"
            "svg.chart { overflow: visible; }\n")


@cache
def _cjk_fonts() -> tuple[tuple[str, str], ...]:
    """(file, family) of each installed font that covers Chinese: proportional fonts first, simplified Chinese
    before other variants."""
    if not shutil.which("fc-list"):
        return ()
    res = subprocess.run(["fc-list", ":lang=zh", "file", "family"], capture_output=True, text=True, check=False)
    fonts = []
    for line in res.stdout.splitlines():
        path, _, families = line.partition(": ")
        if families:
            fonts.append((path, families.split(",")[0]))
    return tuple(sorted(fonts, key=lambda f: ("Mono" in f[1], not f[1].endswith((" SC", " CN", "Hei")), f[1])))
