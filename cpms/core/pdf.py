"""The one place PDFs for people are made (reportlab): the custody receipt, account statements
and the reports render through it, so Chinese text always draws with the same font.

Chinese renders with a CJK TrueType font found on the system (Debian fonts-wqy-zenhei,
fonts-noto-cjk, ...), embedded as a subset so the file reads the same on any machine, or,
when none is installed, with reportlab's built-in CID font STSong-Light (not embedded: the
reader supplies it). The font is registered once per process (`cjk_font`).

A document is a list of flowables ("story") rendered by `render`:

    from cpms.core import pdf

    styles = pdf.text_styles(size=10, leading=14)
    story = [
        pdf.paragraph("托管物品接收单 Custody intake receipt", styles.title),
        pdf.paragraph(note, styles.cjk),
        pdf.space(6),
        pdf.grid_table(
            [[pdf.paragraph(label, styles.cjk), pdf.paragraph(value, styles.cjk)] for ...],
            widths_mm=(50, 120),
            shade_first_column=True,
        ),
    ]
    content = pdf.render(story, title="Custody receipt P-1", margins_mm=20)

Text handed to `paragraph` is plain text (escaped here; reportlab would read `<`, `>` and
`&` as markup); an empty value prints as a dash so a blank cell reads as "nothing", not as
something missing. `styles.for_text(text)` picks the wrapping: Chinese wraps between
characters, other text only between words (so "Counterparty" never breaks mid-word).

reportlab is imported inside the functions: loading it costs more than a tenth of a second and
most processes never draw a PDF."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# (path, index of the face inside a .ttc collection), first found wins
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
# prefix of the registered name of an embedded TrueType font
EMBEDDED_FONT = "CPMS-CJK"
FALLBACK_FONT = "STSong-Light"
AUTHOR = "CPMS"
EMPTY = "—"

# CJK scripts, Hangul, compatibility ideographs and full-width forms
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


@functools.cache
def cjk_font() -> str:
    """The name of a registered font that draws Chinese: `EMBEDDED_FONT`-<file>-<index> (the
    first system TTF of `FONT_CANDIDATES` that loads) or, when none does, the CID font
    `FALLBACK_FONT`. Registered on the first call; later calls answer from the cache."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            # named after the file: reportlab keeps the first TrueType font registered under
            # a name, so one name per file keeps this answer true if the candidates change
            name = f"{EMBEDDED_FONT}-{Path(path).stem}-{index}"
            try:
                pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
            except (TTFError, OSError):
                continue
            return name
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def cjk_font_face() -> str:
    """The name the CJK font carries inside a PDF (the TrueType face's PostScript name, e.g.
    `WenQuanYiZenHei`, which the file prefixes with a subset tag; or `STSong-Light`)."""
    from reportlab.pdfbase import pdfmetrics

    font = pdfmetrics.getFont(cjk_font())
    face = getattr(font, "face", None)
    name = getattr(face, "name", None) if face is not None else None
    if isinstance(name, bytes):
        return name.decode("latin-1")
    return str(name or font.fontName)


def has_cjk(text: str) -> bool:
    """True when `text` holds a Chinese (or other CJK) character."""
    return _CJK.search(text) is not None


def escape(text: Any) -> str:
    """`text` as literal paragraph text: markup characters escaped, None or "" as a dash."""
    return (
        str(text if text not in (None, "") else EMPTY)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


@dataclass(frozen=True)
class TextStyles:
    """The paragraph styles of one document, all in the CJK font: `title`, `text` (wraps
    between words), `cjk` (wraps between characters, for Chinese), `right` (right-aligned,
    for amounts)."""

    title: Any
    text: Any
    cjk: Any
    right: Any

    def for_text(self, text: Any) -> Any:
        """`cjk` for text with Chinese in it, else `text`."""
        return self.cjk if has_cjk(escape(text)) else self.text


def text_styles(
    *, size: float = 10, leading: float = 14, title_size: float = 16, title_leading: float = 22
) -> TextStyles:
    """Styles for body text of `size` points on lines `leading` points apart."""
    from reportlab.lib.styles import ParagraphStyle

    font = cjk_font()
    text = ParagraphStyle("text", fontName=font, fontSize=size, leading=leading)
    return TextStyles(
        title=ParagraphStyle(
            "title", fontName=font, fontSize=title_size, leading=title_leading, spaceAfter=6
        ),
        text=text,
        cjk=ParagraphStyle("cjk", parent=text, wordWrap="CJK"),
        right=ParagraphStyle("right", parent=text, alignment=2),
    )


def paragraph(text: Any, style: Any, *, line_breaks: bool = False) -> Any:
    """A paragraph of plain `text` (escaped; `line_breaks`: each newline starts a new line,
    else newlines are spaces)."""
    from reportlab.platypus import Paragraph

    escaped = escape(text)
    if line_breaks:
        escaped = escaped.replace("\n", "<br/>")
    return Paragraph(escaped, style)


def space(height_mm: float) -> Any:
    """Vertical space of `height_mm` millimetres."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    return Spacer(1, height_mm * mm)


def grid_table(
    rows: Sequence[Sequence[Any]],
    *,
    widths_mm: Sequence[float],
    grid: float | None = 0.5,
    shade_first_column: bool = False,
    shade_first_row: bool = False,
    shade_last_row: bool = False,
    valign_top: bool = True,
    repeat_header: bool = False,
) -> Any:
    """A table of `rows` (cells are paragraphs) with columns `widths_mm` wide: grey grid lines
    `grid` points thick (None: no lines), shaded label column / header row / totals row,
    cells aligned to the top, the header row repeated on every page (`repeat_header`)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    commands: list[tuple[Any, ...]] = []
    if grid is not None:
        commands.append(("GRID", (0, 0), (-1, -1), grid, colors.grey))
    if shade_first_column:
        commands.append(("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke))
    if shade_first_row:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
    if shade_last_row:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke))
    if valign_top:
        commands.append(("VALIGN", (0, 0), (-1, -1), "TOP"))
    table = Table(
        [list(row) for row in rows],
        colWidths=[width * mm for width in widths_mm],
        repeatRows=1 if repeat_header else 0,
    )
    if commands:
        table.setStyle(TableStyle(commands))
    return table


def render(
    story: Sequence[Any],
    *,
    title: str,
    landscape: bool = False,
    margins_mm: float = 20,
    invariant: bool = False,
) -> bytes:
    """The PDF of `story` on A4 (portrait, or `landscape`), `margins_mm` on every side, with
    `title` and author CPMS in its properties. `invariant`: the same story gives the same bytes
    (no creation time or random file id), for files that are compared or hashed."""
    from reportlab.lib import pagesizes
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    options: dict[str, Any] = {"invariant": 1} if invariant else {}
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesizes.landscape(pagesizes.A4) if landscape else pagesizes.A4,
        title=title,
        author=AUTHOR,
        leftMargin=margins_mm * mm,
        rightMargin=margins_mm * mm,
        topMargin=margins_mm * mm,
        bottomMargin=margins_mm * mm,
        **options,
    )
    document.build(list(story))
    return buffer.getvalue()
