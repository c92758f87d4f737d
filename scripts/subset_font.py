"""Make src/aipl/data/AIPLSansSC-Regular.otf: Noto Sans CJK SC Regular (SIL OFL 1.1, Debian's fonts-noto-cjk)
cut down to the characters aipl's reports need: the GB2312 level-1 hanzi (the 3,755 commonest), every Chinese
character in aipl's own source (labels, templates), Latin, and the punctuation and symbols the charts use.
Renamed (OFL: a modified version takes another name). Run again when labels gain rare characters:

    apt-get install fonts-noto-cjk && python scripts/subset_font.py
"""

from __future__ import annotations

import re
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
OUT = ROOT / "src" / "aipl" / "data" / "AIPLSansSC-Regular.otf"
FAMILY = "AIPL Sans SC"


def characters() -> str:
    level1 = bytes(b for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF) for b in (hi, lo))
    common = level1.decode("gb2312", errors="ignore")
    own = "".join(p.read_text(encoding="utf-8") for ext in ("py", "j2", "js", "html", "toml")
                  for p in (ROOT / "src" / "aipl").rglob(f"*.{ext}"))
    cjk = "".join(sorted(set(re.findall(r"[\u2000-\u206f\u2190-\u21ff\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", own))))
    latin = "".join(chr(c) for c in range(0x20, 0x250))
    extra = "·—–…‰←↑→↓↗↘±×÷−≈≤≥■□▲△▼▽●○★☆✓✗⚠、。，；：？！（）【】《》“”‘’￥"
    return common + cjk + latin + extra


def main() -> None:
    font = TTCollection(SOURCE).fonts[2]  # Noto Sans CJK SC
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(text=characters())
    sub.subset(font)
    names = font["name"]
    for rec in names.names:
        if rec.nameID in (1, 4, 16):
            rec.string = FAMILY
        elif rec.nameID == 6:
            rec.string = FAMILY.replace(" ", "") + "-Regular"
        elif rec.nameID == 3:
            rec.string = "aipl subset of Noto Sans CJK SC 2.004"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT}: {OUT.stat().st_size / 1e6:.2f} MB, {len(font.getGlyphOrder())} glyphs")


if __name__ == "__main__":
    main()
