"""Demo documents: for a few demo customers (tags `demo-finance` / `demo-retail`), a KYC
summary PDF (made with reportlab, with Chinese text) and a plain-text correspondence note,
uploaded through the service by the customer's relationship manager. Idempotent: a customer
that already has a document of that title is skipped."""

from __future__ import annotations

import io
import random
from typing import Any

from cpms.access.checks import user_has_permission
from cpms.customers.models import Customer
from cpms.documents import services
from cpms.documents.choices import Classification, RetentionClass
from cpms.documents.models import Document

DEMO_TAGS = ("demo-finance", "demo-retail")
CUSTOMERS_WITH_DOCUMENTS = 6
KYC_TITLE = "KYC summary"
NOTE_TITLE = "Correspondence note"


def _pdf(customer: Customer, lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)  # same bytes on every run
    page.setTitle(f"{KYC_TITLE} {customer.customer_number}")
    page.setFont("STSong-Light", 14)
    y = 800
    for line in [
        f"客户尽职调查摘要 / {KYC_TITLE}",
        f"{customer.customer_number} {customer.legal_name}",
    ]:
        page.drawString(60, y, line)
        y -= 24
    page.setFont("STSong-Light", 11)
    for line in lines:
        page.drawString(60, y, line)
        y -= 18
    page.showPage()
    page.save()
    return buffer.getvalue()


def _note(customer: Customer, rng: random.Random) -> bytes:
    topics = ["季度对账单已寄出", "客户来电更新联系方式", "预约下次拜访", "确认托管物品清单"]
    lines = [
        f"客户 {customer.customer_number} {customer.legal_name}",
        f"事项: {rng.choice(topics)}",
        f"Reference: NOTE-{rng.randint(10000, 99999)}",
    ]
    return ("\n".join(lines) + "\n").encode()


def _demo_customers() -> list[Customer]:
    found = []
    for customer in Customer.objects.select_related("relationship_manager").order_by("pk"):
        if any(tag in (customer.tags or []) for tag in DEMO_TAGS):
            found.append(customer)
        if len(found) >= CUSTOMERS_WITH_DOCUMENTS:
            break
    return found


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    created: list[str] = []
    for customer in _demo_customers():
        actor = customer.relationship_manager
        if actor is None or not user_has_permission(actor, "documents.manage"):
            continue
        risk = rng.choice(["low", "medium", "high"])
        files = (
            (
                KYC_TITLE,
                "kyc-summary.pdf",
                _pdf(customer, [f"Risk rating: {risk}", "Identity verified in branch."]),
                Classification.CONFIDENTIAL,
                RetentionClass.KYC,
            ),
            (
                NOTE_TITLE,
                "note.txt",
                _note(customer, rng),
                Classification.INTERNAL,
                RetentionClass.CORRESPONDENCE,
            ),
        )
        for title, name, data, classification, retention in files:
            if Document.objects.filter(customer=customer, title=title).exists():
                continue
            document = services.document_upload(
                actor=actor,
                customer=customer,
                file=io.BytesIO(data),
                title=title,
                classification=classification,
                retention_class=retention,
                original_name=name,
            )
            created.append(f"document {document.pk} {customer.customer_number} {title}")
    return created
