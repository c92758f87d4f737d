"""The machine's Chinese font, which the PDF and the charts need to draw Chinese labels."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache


def cjk_font() -> str | None:
    """The family of an installed font that covers Chinese (fontconfig), or None.

    >>> cjk_font() is None or isinstance(cjk_font(), str)
    True
    """
    found = _cjk_fonts()
    return found[0][1] if found else None


def cjk_font_file() -> str | None:
    """The file of the font that `cjk_font` names, or None."""
    found = _cjk_fonts()
    return found[0][0] if found else None


@cache
def _cjk_fonts() -> tuple[tuple[str, str], ...]:
    """(file, family) of each installed font that covers Chinese, proportional fonts first."""
    if not shutil.which("fc-list"):
        return ()
    res = subprocess.run(["fc-list", ":lang=zh", "file", "family"], capture_output=True, text=True, check=False)
    fonts = []
    for line in res.stdout.splitlines():
        path, _, families = line.partition(": ")
        if families:
            fonts.append((path, families.split(",")[0]))
    return tuple(sorted(fonts, key=lambda f: ("Mono" in f[1], f[1])))
