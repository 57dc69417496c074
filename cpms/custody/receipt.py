"""The intake receipt PDF (reportlab). Labels are bilingual (Chinese / English) so the receipt
reads the same whatever the console language. Chinese renders with a CJK TrueType font found on
the system (embedded, subset) or, failing that, reportlab's built-in CID font STSong-Light."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from django.utils import timezone

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
FALLBACK_FONT = "STSong-Light"


@functools.cache
def cjk_font() -> str:
    """The name of a registered font that draws Chinese: an embedded system TTF if one is
    installed (Debian fonts-wqy-zenhei / fonts-noto-cjk), else the CID font STSong-Light."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            try:
                pdfmetrics.registerFont(TTFont("CPMS-CJK", path, subfontIndex=index))
            except (TTFError, OSError):
                continue
            return "CPMS-CJK"
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def receipt_rows(item: Any, *, photos: int) -> list[tuple[str, str]]:
    """The (label, value) lines of the receipt: what a person reads, never a code or minor
    units (the declared value is formatted with separators and the currency)."""
    from cpms.core.money import format_minor

    holding = item.holding
    customer = holding.customer
    local = timezone.localtime(item.received_at)
    if holding.value_minor is not None:
        value = format_minor(holding.value_minor, holding.currency)
        if holding.valued_on:
            value = f"{value} ({holding.valued_on:%Y-%m-%d})"
    else:
        value = "未申报 Not declared"
    return [
        ("物品编号 Item number", holding.holding_number),
        ("物品 Item", holding.description),
        ("类别 Category", str(item.get_category_display())),
        ("序列号 Serial", item.serial),
        ("物主 Owner", f"{customer.legal_name} ({customer.customer_number})"),
        ("申报价值 Declared value", value),
        ("状况 Condition", str(item.get_condition_grade_display())),
        ("状况说明 Condition notes", item.condition_notes),
        ("存放位置 Location", holding.location),
        ("保管人 Custodian", str(holding.custodian) if holding.custodian_id else ""),
        ("照片数量 Photos", str(photos)),
        ("接收日期 Date received", local.strftime("%Y-%m-%d %H:%M")),
        ("经办人 Received by", str(item.received_by)),
    ]


def render_receipt(item: Any, *, photos: int, issued_at: Any, issued_by: Any) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    normal = ParagraphStyle("normal", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    holding = item.holding

    def cell(text: Any) -> Paragraph:
        escaped = (
            str(text if text not in (None, "") else "—")
            .replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
        )
        return Paragraph(escaped.replace("\n", "<br/>"), normal)

    rows = receipt_rows(item, photos=photos)
    table = Table(
        [[cell(label), cell(value)] for label, value in rows], colWidths=(50 * mm, 120 * mm)
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    signatures = Table(
        [
            [cell("客户签字 Customer signature"), cell("经办人签字 Staff signature")],
            [cell("\n\n______________________"), cell("\n\n______________________")],
            [cell("日期 Date: ____________"), cell("日期 Date: ____________")],
        ],
        colWidths=(85 * mm, 85 * mm),
    )
    issued = timezone.localtime(issued_at).strftime("%Y-%m-%d %H:%M")
    story = [
        Paragraph("托管物品接收单 Custody intake receipt", title),
        cell(
            "本单据确认我方已接收下列客户财产并负责妥善保管（ISO 9001:2015 8.5.3）。"
            " We confirm receipt of the customer property below and will take care of it."
        ),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 12 * mm),
        signatures,
        Spacer(1, 8 * mm),
        cell(f"打印时间 Issued {issued} · {issued_by}"),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Custody receipt {holding.holding_number}",
        author="CPMS",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    document.build(story)
    return buffer.getvalue()
