#!/usr/bin/env python3
"""Rebuild the Rapport CJK UI font subset (Noto Sans CJK SC -> "Noto Sans SC Rapport").

Requires: fontTools (pip install fonttools). Source fonts come from Debian packages:

    apt-get install fonts-noto-cjk          # NotoSansCJK-{Regular,Bold}.ttc (v2.004)
    apt-get download fonts-noto-core && dpkg-deb -x fonts-noto-core_*.deb /tmp/nc
                                            # NotoSansSymbols2-Regular.ttf (only for ✔✕✖✗✘)

Typical run (from this directory):

    python make_subset.py \
        --regular /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
        --bold    /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc \
        --symbols /tmp/nc/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf \
        --out-dir .

Character set = union of
  * tongyong_guifan_8105.txt  (通用规范汉字表 2013, 8,105 chars, from Unihan kTGH)
  * GB2312 (every decodable 2-byte code 0xA1A1-0xF7FE: 6,763 hanzi + 682 symbols)
  * Big5 level 1 (0xA440-0xC67E: 5,401 common Traditional hanzi, so Traditional
    customer text renders too; most overlap the sets above)
  * extra_chars.txt           (CJK chars found in project *.json/*.py and the seed text)
  * the non-Han Unicode ranges in UNICODE_RANGES below (only code points the font has)
  * --text / --scan-dir inputs given on the command line (optional; pass
    --update-extra to fold them into extra_chars.txt)

The SC face (font number 2) of the .ttc is used, so Simplified-Chinese glyph forms
are the cmap defaults; 'locl' is not kept. Hinting is removed, vertical-layout
tables are dropped and only the 'kern' feature (Latin kerning) is kept.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
SC_FONT_NUMBER = 2  # 0 JP, 1 KR, 2 SC, 3 TC, 4 HK in NotoSansCJK-*.ttc
FAMILY = "Noto Sans SC Rapport"
PS_FAMILY = "NotoSansSCRapport"

# Non-Han blocks: kept wherever the source font has a glyph.
UNICODE_RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x017F),  # Latin Extended-A
    (0x01CD, 0x01DC),  # pinyin letters with caron (ǎ ǐ ǒ ǔ ǖ ǘ ǚ ǜ)
    (0x01F8, 0x01F9),  # ǹ
    (0x0250, 0x02FF),  # IPA ext. + spacing modifiers (ˇ ˉ ˊ ˋ ˙ ...)
    (0x0300, 0x036F),  # combining diacritics
    (0x0391, 0x03C9),  # Greek
    (0x0401, 0x0451),  # Cyrillic (GB2312 subset area)
    (0x1E3E, 0x1E3F),  # ḿ
    (0x1EA0, 0x1EF9),  # Vietnamese/extra Latin
    (0x2000, 0x206F),  # General Punctuation (– — ‘ ’ “ ” • … ‰ ′ ″ ※ ...)
    (0x2070, 0x209F),  # super/subscripts
    (0x20A0, 0x20CF),  # currency (€ ...)
    (0x2100, 0x214F),  # letterlike (℃ № ™ ...)
    (0x2150, 0x218F),  # number forms (Ⅰ Ⅱ ... ⅰ ⅱ)
    (0x2190, 0x21FF),  # arrows (← ↑ → ↓ ...)
    (0x2200, 0x22FF),  # math operators
    (0x2300, 0x23FF),  # misc technical
    (0x2460, 0x24FF),  # enclosed alphanumerics (① ...)
    (0x2500, 0x257F),  # box drawing
    (0x2580, 0x259F),  # block elements
    (0x25A0, 0x25FF),  # geometric shapes (■ □ ▲ △ ● ○ ◆ ◇ ...)
    (0x2600, 0x26FF),  # misc symbols (★ ☆ ☎ ♀ ♂ ...)
    (0x2700, 0x27BF),  # dingbats (✓ ...)
    (0x2E80, 0x2EFF),  # CJK radicals supplement
    (0x2F00, 0x2FDF),  # Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols & punctuation (、 。 《 》 【 】 「 」 ～ ...)
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31C0, 0x31EF),  # CJK strokes
    (0x3200, 0x32FF),  # enclosed CJK letters & months (㈠ ㈱ ...)
    (0x3300, 0x33FF),  # CJK compatibility (㎡ ㎏ ㏄ ...)
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFE50, 0xFE6F),  # small form variants
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0xFFFD, 0xFFFD),  # replacement character
]

# Dingbats missing from Noto Sans CJK; copied from Noto Sans Symbols 2 (also OFL-1.1).
SYMBOL_SUPPLEMENT = [0x2714, 0x2715, 0x2716, 0x2717, 0x2718]

CJK_RE = re.compile(
    "[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3200-\u33ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
    "\U00020000-\U0003134f]"
)


def gb2312_chars() -> set[str]:
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def big5_level1_chars() -> set[str]:
    """Big5 level-1 hanzi (常用字, 0xA440-0xC67E): 5,401 common Traditional characters."""
    out = set()
    for hi in range(0xA4, 0xC7):
        for lo in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            if hi == 0xC6 and lo > 0x7E:
                break
            try:
                out.add(bytes([hi, lo]).decode("big5"))
            except UnicodeDecodeError:
                pass
    return out


def read_charlist(path: Path) -> set[str]:
    """Characters of a list file; lines starting with '#' are comments."""
    chars = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        chars.update(ch for ch in line if not ch.isspace())
    return chars


def cjk_in_text(text: str) -> set[str]:
    return set(CJK_RE.findall(text))


def scan_dir(root: Path) -> set[str]:
    chars = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in (
            "node_modules", "__pycache__", "venv", "build", "dist")]
        for fn in filenames:
            if fn.endswith((".json", ".py")):
                try:
                    chars |= cjk_in_text(Path(dirpath, fn).read_text(encoding="utf-8"))
                except (UnicodeDecodeError, OSError):
                    pass
    return chars


def write_extra(path: Path, chars: set[str]) -> None:
    body = "".join(sorted(chars))
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    path.write_text(
        "# Extra CJK characters not in GB2312, Big5 level 1 or the 通用规范汉字表, collected from the\n"
        "# project's *.json/*.py files and seed texts (see README.md). Any number of\n"
        "# characters per line; lines starting with # are comments.\n"
        + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


def base_chars() -> set[str]:
    return (gb2312_chars() | big5_level1_chars()
            | read_charlist(HERE / "tongyong_guifan_8105.txt"))


def build_unicodes(extra: set[str]) -> set[int]:
    chars = base_chars() | extra
    extra_file = HERE / "extra_chars.txt"
    if extra_file.exists():
        chars |= read_charlist(extra_file)
    cps = {ord(c) for c in chars}
    for a, b in UNICODE_RANGES:
        cps.update(range(a, b + 1))
    return cps


def rename(font: TTFont, style: str) -> None:
    name = font["name"]
    full = f"{FAMILY} {style}" if style != "Regular" else FAMILY
    ps = f"{PS_FAMILY}-{style}"
    version = name.getDebugName(5) or ""
    for rec in list(name.names):
        if rec.nameID in (16, 17, 21, 22):
            name.removeNames(nameID=rec.nameID)
    # RIBBI family: nameID 1 = family, 2 = Regular/Bold
    for nid, val in {1: FAMILY, 2: style, 3: f"{ps};{version.split(';')[0]};Rapport subset",
                     4: full, 6: ps}.items():
        name.removeNames(nameID=nid)
        name.setName(val, nid, 3, 1, 0x409)
        name.setName(val, nid, 1, 0, 0)
    cff = font["CFF "].cff
    old = cff.fontNames[0]
    cff.fontNames[0] = ps
    top = cff.topDictIndex[0]
    if hasattr(top, "FullName"):
        top.FullName = full
    if hasattr(top, "FamilyName"):
        top.FamilyName = FAMILY
    if hasattr(top, "CIDFontName"):
        top.CIDFontName = ps
    for fd in getattr(top, "FDArray", []) or []:
        if hasattr(fd, "FontName") and fd.FontName.startswith(old):
            fd.FontName = ps + fd.FontName[len(old):]


def add_symbol_glyphs(font: TTFont, symbols_path: str, cps: list[int]) -> list[int]:
    """Append glyphs for `cps` (missing in `font`) drawn from a TrueType font.

    Works on the CID-keyed CFF of Noto Sans CJK: new glyphs get fresh CIDs and use
    FD 0 with no local subroutines. Both fonts are 1000 UPM (checked).
    """
    src = TTFont(symbols_path)
    assert src["head"].unitsPerEm == font["head"].unitsPerEm
    src_cmap = src.getBestCmap()
    gs = src.getGlyphSet()
    cmap = font.getBestCmap()
    todo = [cp for cp in cps if cp not in cmap and cp in src_cmap]
    if not todo:
        return []
    cff = font["CFF "].cff
    top = cff.topDictIndex[0]
    cs = top.CharStrings
    order = list(font.getGlyphOrder())
    is_cid = hasattr(top, "ROS")
    next_cid = max(int(g[3:]) for g in order if g.startswith("cid")) + 1 if is_cid else None
    fd_index = 0
    private = top.FDArray[fd_index].Private if is_cid else top.Private
    for cp in todo:
        gname = src_cmap[cp]
        adv = gs[gname].width
        # CFF encodes width relative to nominalWidthX, omitted when == defaultWidthX
        nominal = getattr(private, "nominalWidthX", 0)
        default = getattr(private, "defaultWidthX", 0)
        pen = T2CharStringPen(None if adv == default else adv - nominal, gs)
        gs[gname].draw(pen)
        bpen = BoundsPen(gs)
        gs[gname].draw(bpen)
        charstring = pen.getCharString(private=private, globalSubrs=cff.GlobalSubrs)
        if is_cid:
            new = f"cid{next_cid:05d}"
            next_cid += 1
        else:
            new = f"uni{cp:04X}"
        cs.charStringsIndex.append(charstring)
        cs.charStrings[new] = len(cs.charStringsIndex) - 1
        if is_cid:
            top.FDSelect.gidArray.append(fd_index)
        top.charset.append(new)
        order.append(new)
        lsb = int(round(bpen.bounds[0])) if bpen.bounds else 0
        font["hmtx"].metrics[new] = (adv, lsb)
        for table in font["cmap"].tables:
            if table.isUnicode():
                if table.format == 4 and cp > 0xFFFF:
                    continue
                table.cmap[cp] = new
    font.setGlyphOrder(order)
    font["maxp"].numGlyphs = len(order)
    return todo


def make_one(src_path: str, style: str, cps: set[int], out_dir: Path,
             symbols_path: str | None) -> Path:
    opts = subset.Options()
    opts.hinting = False
    opts.desubroutinize = False
    opts.layout_features = ["kern"]
    opts.drop_tables += ["vhea", "vmtx", "VORG", "BASE", "DSIG"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.recalc_bounds = True
    opts.font_number = SC_FONT_NUMBER
    font = subset.load_font(src_path, opts, dontLoadGlyphNames=False)
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted(cps))
    sub.subset(font)
    added = []
    if symbols_path:
        added = add_symbol_glyphs(font, symbols_path, SYMBOL_SUPPLEMENT)
    rename(font, style)
    out = out_dir / f"NotoSansSC-Rapport-{style}.otf"
    font.save(str(out))
    print(f"{out.name}: {out.stat().st_size:,} bytes, added from symbols: "
          f"{' '.join(chr(c) for c in added) or '-'}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regular", required=True, help="NotoSansCJK-Regular.ttc")
    ap.add_argument("--bold", help="NotoSansCJK-Bold.ttc (optional)")
    ap.add_argument("--symbols", help="NotoSansSymbols2-Regular.ttf (optional)")
    ap.add_argument("--out-dir", default=str(HERE))
    ap.add_argument("--text", action="append", default=[],
                    help="text file whose CJK characters are added (repeatable)")
    ap.add_argument("--scan-dir", action="append", default=[],
                    help="directory whose *.json/*.py CJK characters are added (repeatable)")
    ap.add_argument("--update-extra", action="store_true",
                    help="merge --text/--scan-dir characters into extra_chars.txt")
    args = ap.parse_args()

    extra = set()
    for t in args.text:
        extra |= cjk_in_text(Path(t).read_text(encoding="utf-8", errors="replace"))
    for d in args.scan_dir:
        extra |= scan_dir(Path(d))
    if args.update_extra:
        path = HERE / "extra_chars.txt"
        old = read_charlist(path) if path.exists() else set()
        write_extra(path, (old | extra) - base_chars())
    cps = build_unicodes(extra)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    make_one(args.regular, "Regular", cps, out_dir, args.symbols)
    if args.bold:
        make_one(args.bold, "Bold", cps, out_dir, args.symbols)
    return 0


if __name__ == "__main__":
    sys.exit(main())
