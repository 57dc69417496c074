"""`core.pdf`: a PDF with Chinese text carries the CJK font (embedded when it is a system
TrueType font, the CID font STSong-Light otherwise), text is taken literally, and the same
story renders to the same bytes when asked to be invariant."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import reportlab
from pypdf import PdfReader

from cpms.core import pdf

CHINESE = "托管物品接收单 张三 北京市朝阳区"
# a TrueType font shipped with reportlab: stands in for a system CJK font to exercise embedding
# on a machine without one (it has no Chinese glyphs; the font is embedded all the same)
VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"


@pytest.fixture
def fresh_font():
    """Each test registers the font again from the candidates it sets; later code gets the
    machine's own font back."""
    pdf.cjk_font.cache_clear()
    yield
    pdf.cjk_font.cache_clear()


def _document(text: str) -> bytes:
    styles = pdf.text_styles()
    story = [
        pdf.paragraph("标题 Title", styles.title),
        pdf.grid_table(
            [[pdf.paragraph("名称", styles.cjk), pdf.paragraph(text, styles.for_text(text))]],
            widths_mm=(40, 120),
            shade_first_column=True,
        ),
        pdf.space(4),
    ]
    return pdf.render(story, title="test", invariant=True)


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_render__chinese_text_carries_the_cjk_font(fresh_font):
    content = _document(CHINESE)

    assert content.startswith(b"%PDF")
    assert pdf.cjk_font_face().encode() in content
    if pdf.cjk_font().startswith(pdf.EMBEDDED_FONT):
        assert b"/FontFile2" in content  # the TrueType font is embedded (as a subset)
    assert "托管物品接收单" in _text(content)


def test_cjk_font__a_system_truetype_font_is_embedded(fresh_font, monkeypatch):
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0), (str(VERA), 0)))

    assert pdf.cjk_font() == f"{pdf.EMBEDDED_FONT}-Vera-0"
    content = _document(CHINESE)

    assert pdf.cjk_font_face() == "BitstreamVeraSans-Roman"
    assert b"BitstreamVeraSans-Roman" in content
    assert b"/FontFile2" in content


def test_cjk_font__without_a_system_font_falls_back_to_stsong(fresh_font, monkeypatch):
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ())

    assert pdf.cjk_font() == pdf.FALLBACK_FONT
    content = _document(CHINESE)

    assert b"STSong-Light" in content
    assert "北京市朝阳区" in _text(content)


def test_cjk_font__registered_once():
    assert pdf.cjk_font() is pdf.cjk_font()
    assert pdf.cjk_font.cache_info().hits >= 1


def test_paragraph__text_is_literal_and_empty_prints_a_dash():
    styles = pdf.text_styles()
    content = pdf.render(
        [
            pdf.paragraph("A <b>not bold</b> & co", styles.text),
            pdf.paragraph("", styles.text),
            pdf.paragraph("line one\nline two", styles.text, line_breaks=True),
        ],
        title="literal",
        invariant=True,
    )

    text = _text(content)
    assert "A <b>not bold</b> & co" in text
    assert pdf.EMPTY in text
    assert "line one\nline two" in text


def test_styles__chinese_wraps_between_characters_other_text_between_words():
    styles = pdf.text_styles(size=9, leading=12)

    assert styles.for_text("对账单") is styles.cjk
    assert styles.for_text("Counterparty") is styles.text
    assert styles.cjk.wordWrap == "CJK"
    assert (styles.text.fontSize, styles.text.leading) == (9, 12)
    assert styles.right.alignment == 2


def test_render__invariant_gives_the_same_bytes_and_landscape_turns_the_page():
    styles = pdf.text_styles()

    def story() -> list:
        return [pdf.paragraph("同一份 same", styles.cjk)]

    first = pdf.render(story(), title="same", invariant=True, landscape=True, margins_mm=12)
    second = pdf.render(story(), title="same", invariant=True, landscape=True, margins_mm=12)

    assert first == second
    page = PdfReader(io.BytesIO(first)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)
    assert PdfReader(io.BytesIO(first)).metadata.title == "same"
