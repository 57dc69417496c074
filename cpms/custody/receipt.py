"""The intake receipt PDF. Labels are bilingual (Chinese / English) so the receipt reads the
same whatever the console language; the CJK font and the page come from `cpms.core.pdf`."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cpms.core import pdf
from cpms.core.money import format_minor


def receipt_rows(item: Any, *, photos: int) -> list[tuple[str, str]]:
    """The (label, value) lines of the receipt: what a person reads, never a code or minor
    units (the declared value is formatted with separators and the currency)."""
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
    """The receipt of `item` (one page of A4): what was received, its condition and where it
    is kept, with lines for the customer's and the staff member's signatures."""
    styles = pdf.text_styles(size=10, leading=14)

    def cell(text: Any) -> Any:
        return pdf.paragraph(text, styles.cjk, line_breaks=True)

    rows = receipt_rows(item, photos=photos)
    table = pdf.grid_table(
        [[cell(label), cell(value)] for label, value in rows],
        widths_mm=(50, 120),
        shade_first_column=True,
    )
    signatures = pdf.grid_table(
        [
            [cell("客户签字 Customer signature"), cell("经办人签字 Staff signature")],
            [cell("\n\n______________________"), cell("\n\n______________________")],
            [cell("日期 Date: ____________"), cell("日期 Date: ____________")],
        ],
        widths_mm=(85, 85),
        grid=None,
        valign_top=False,
    )
    issued = timezone.localtime(issued_at).strftime("%Y-%m-%d %H:%M")
    story = [
        pdf.paragraph("托管物品接收单 Custody intake receipt", styles.title),
        cell(
            "本单据确认我方已接收下列客户财产并负责妥善保管（ISO 9001:2015 8.5.3）。"
            " We confirm receipt of the customer property below and will take care of it."
        ),
        pdf.space(6),
        table,
        pdf.space(12),
        signatures,
        pdf.space(8),
        cell(f"打印时间 Issued {issued} · {issued_by}"),
    ]
    return pdf.render(story, title=f"Custody receipt {item.holding.holding_number}", margins_mm=20)
