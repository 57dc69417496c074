"""Intake, photos, the receipt PDF, disposal through maker-checker, permissions and scope."""

from __future__ import annotations

import ast
import datetime
import hashlib
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.utils import timezone

import cpms.custody
from cpms.approvals.errors import SelfApproval
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_approve, approval_reject
from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.custody import selectors, services
from cpms.custody.errors import DisposalPending, PhotoRefused
from cpms.custody.models import CustodyEvent, CustodyItem, CustodyPhoto
from cpms.holdings.models import Holding
from tests.custody.conftest import png_bytes, receive


def test_item_receive__creates_holding_details_event_and_audit(rm1, customer, audit_log):
    item = receive(
        rm1, customer, serial="SN-001", value_minor=1_000_000, valued_on=datetime.date(2026, 1, 5)
    )
    holding = Holding.objects.get(pk=item.holding_id)
    assert (holding.kind, holding.identifier, holding.customer_id) == (
        "custody_item",
        "SN-001",
        customer.pk,
    )
    assert (holding.location, holding.custodian_id, holding.status) == (
        "金库 A-01",
        rm1.pk,
        "active",
    )
    assert (item.state, item.category, item.condition_grade) == ("received", "collateral", "good")
    event = CustodyEvent.objects.get(item=item)
    assert (event.kind, event.from_state, event.to_state) == ("receive", "", "received")
    assert audit_log.actions() == ["holding.registered", "custody.received"]
    entry = audit_log.new()[-1]
    assert entry.object_type == "custody.item" and entry.object_id == str(item.pk)
    assert entry.after["customer_id"] == customer.pk
    assert entry.after["serial"] == "SN-001"


def test_item_receive__without_serial_gets_a_generated_identifier(rm1, customer):
    item = receive(rm1, customer)
    assert item.holding.identifier.startswith("CUST-")


def test_item_receive__validation_changes_nothing(rm1, customer):
    before = (Holding.objects.count(), AuditEntry.objects.exclude(action="access.denied").count())
    with pytest.raises(ValidationFailed) as failed:
        receive(
            rm1, customer, category="spaceship", condition_grade="", description=" ", location=""
        )
    assert set(failed.value.fields) == {"category", "condition_grade", "description", "location"}
    assert (
        Holding.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_item_receive__needs_custody_operate(auditor, customer):
    before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(PermissionDenied):
        receive(auditor, customer)
    assert AuditEntry.objects.exclude(action="access.denied").count() == before
    assert not CustodyItem.objects.exists()


def test_scope__other_rm_and_other_branch_get_404_and_see_nothing(rm1, rm2, far_rm, customer):
    item = receive(rm1, customer)
    for other in (rm2, far_rm):
        with pytest.raises(NotFound):
            receive(other, customer, serial="X")
        with pytest.raises(NotFound):
            services.item_put_away(actor=other, item=item)
        with pytest.raises(NotFound):
            selectors.item_get_for_user(user=other, pk=item.pk)
        assert not selectors.item_list(user=other).exists()
    assert CustodyItem.objects.get(pk=item.pk).state == "received"
    assert list(selectors.item_list(user=rm1)) == [item]


def test_check_out__due_date_in_the_past_is_refused(rm1, item_in):
    item = item_in("in_custody")
    with pytest.raises(ValidationFailed) as failed:
        services.item_check_out(
            actor=rm1,
            item=item,
            to_whom="x",
            purpose="y",
            due_on=timezone.localdate() - datetime.timedelta(days=1),
        )
    assert "due_on" in failed.value.fields
    assert CustodyItem.objects.get(pk=item.pk).state == "in_custody"


def test_check_in__records_condition_on_return(rm1, item_in, audit_log):
    item = item_in("checked_out")
    audit_log.mark()
    services.item_check_in(actor=rm1, item=item, condition_grade="poor", condition_notes="屏幕裂")
    item.refresh_from_db()
    assert (item.state, item.condition_grade, item.condition_notes) == (
        "in_custody",
        "poor",
        "屏幕裂",
    )
    assert item.checked_out_to == "" and item.due_back_on is None
    entry = audit_log.new()[-1]
    assert entry.after["condition_before"] == "good"
    assert entry.after["condition_grade"] == "poor"


def test_return__needs_the_identity_check_and_a_name(rm1, item_in):
    item = item_in("in_custody")
    with pytest.raises(ValidationFailed) as failed:
        services.item_return(actor=rm1, item=item, collected_by="", id_checked=False)
    assert set(failed.value.fields) == {"collected_by", "id_checked"}
    assert CustodyItem.objects.get(pk=item.pk).state == "in_custody"


def test_move__updates_the_holding_location(rm1, item_in):
    item = item_in("in_custody")
    services.item_move(actor=rm1, item=item, location="金库 Z-9")
    assert Holding.objects.get(pk=item.holding_id).location == "金库 Z-9"
    event = CustodyEvent.objects.filter(item=item).order_by("-pk").first()
    assert event.details == {"location": "金库 Z-9", "from_location": "金库 A-01"}


# --- disposal: maker-checker ---------------------------------------------------------------


def test_dispose__needs_consent_reference(rm1, item_in):
    item = item_in("in_custody")
    with pytest.raises(ValidationFailed) as failed:
        services.item_dispose_request(
            actor=rm1, item=item, consent_reference=" ", method="回收", reason="r"
        )
    assert "consent_reference" in failed.value.fields
    assert not ApprovalRequest.objects.exists()


def test_dispose__waits_for_a_checker_then_runs_in_the_makers_name(
    rm1, checker, item_in, audit_log
):
    item = item_in("in_custody")
    audit_log.mark()
    request = services.item_dispose_request(
        actor=rm1, item=item, consent_reference="CONSENT-7", method="回收", reason="客户书面同意"
    )
    assert isinstance(request, ApprovalRequest)
    assert (request.action, request.object_type, request.object_id) == (
        "holdings.dispose",
        "custody.item",
        str(item.pk),
    )
    assert CustodyItem.objects.get(pk=item.pk).state == "in_custody"
    assert audit_log.actions() == ["approval.requested"]
    with pytest.raises(DisposalPending):
        services.item_dispose_request(
            actor=rm1, item=item, consent_reference="CONSENT-7", method="x", reason="again"
        )
    with pytest.raises(SelfApproval):
        approval_approve(actor=rm1, request_id=request.pk)
    approval_approve(actor=checker, request_id=request.pk, reason="同意")
    item.refresh_from_db()
    assert item.state == "disposed"
    assert Holding.objects.get(pk=item.holding_id).status == "disposed"
    disposed = next(e for e in audit_log.new() if e.action == "custody.disposed")
    assert disposed.actor_id == rm1.pk
    assert disposed.after["consent_reference"] == "CONSENT-7"
    assert disposed.after["approval_id"] == request.pk
    assert disposed.after["approved_by_id"] == checker.pk


def test_dispose__rejected_leaves_the_item_in_custody(rm1, checker, item_in):
    item = item_in("in_custody")
    request = services.item_dispose_request(
        actor=rm1, item=item, consent_reference="C", method="m", reason="r"
    )
    approval_reject(actor=checker, request_id=request.pk, reason="无书面同意原件")
    assert CustodyItem.objects.get(pk=item.pk).state == "in_custody"


# --- photos ---------------------------------------------------------------------------------


def test_photo_add__stores_image_under_generated_name_with_sha256(rm1, item_in, audit_log):
    item = item_in("received")
    data = png_bytes()
    audit_log.mark()
    photo = services.photo_add(
        actor=rm1, item=item, data=data, stage="intake", original_name="../../etc/passwd.png"
    )
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert (photo.content_type, photo.width, photo.height, photo.size) == (
        "image/png",
        8,
        6,
        len(data),
    )
    assert photo.file.name.startswith(f"custody/{item.pk}/") and "passwd" not in photo.file.name
    with default_storage.open(photo.file.name, "rb") as stored:
        assert stored.read() == data
    assert audit_log.actions() == ["custody.photo_added"]
    assert audit_log.new()[0].after["sha256"] == photo.sha256


def test_photo_add__jpeg_and_webp_accepted(rm1, item_in):
    item = item_in("received")
    for fmt, content_type in (("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        photo = services.photo_add(actor=rm1, item=item, data=png_bytes(fmt=fmt), stage="other")
        assert photo.content_type == content_type


@pytest.mark.parametrize(
    "data",
    [
        b"just some text pretending to be a photo\n",
        b"%PDF-1.4 not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # a PNG signature with garbage after it
    ],
    ids=["text", "pdf", "truncated-png"],
)
def test_photo_add__renamed_non_images_are_refused(rm1, item_in, data):
    item = item_in("received")
    before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(PhotoRefused) as refused:
        services.photo_add(actor=rm1, item=item, data=data, stage="intake", original_name="a.jpg")
    assert "file" in refused.value.fields
    assert not CustodyPhoto.objects.exists()
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_photo_add__gif_is_not_an_accepted_format(rm1, item_in):
    item = item_in("received")
    with pytest.raises(PhotoRefused):
        services.photo_add(actor=rm1, item=item, data=png_bytes(fmt="GIF"), stage="intake")


def test_photo_add__size_limit(rm1, item_in, settings):
    item = item_in("received")
    data = png_bytes((200, 200))
    settings.CPMS_UPLOAD_MAX_BYTES = len(data) - 1
    with pytest.raises(PhotoRefused) as refused:
        services.photo_add(actor=rm1, item=item, data=data, stage="intake")
    assert "MiB" in refused.value.fields["file"]
    settings.CPMS_UPLOAD_MAX_BYTES = len(data)
    services.photo_add(actor=rm1, item=item, data=data, stage="intake")


def test_photo_add__bad_stage_and_scope(rm1, rm2, item_in):
    item = item_in("received")
    with pytest.raises(ValidationFailed):
        services.photo_add(actor=rm1, item=item, data=png_bytes(), stage="selfie")
    with pytest.raises(NotFound):
        services.photo_add(actor=rm2, item=item, data=png_bytes(), stage="intake")
    assert not CustodyPhoto.objects.exists()


# --- receipt --------------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_receipt__pdf_with_chinese_text(rm1, customer, audit_log):
    item = receive(
        rm1, customer, serial="SN-9", description="名人字画一幅", condition_notes="画框轻微磨损"
    )
    services.photo_add(actor=rm1, item=item, data=png_bytes(), stage="intake")
    audit_log.mark()
    pdf = services.receipt_issue(actor=rm1, item=item)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in (
        "托管物品接收单",
        "名人字画一幅",
        "张三",
        customer.customer_number,
        item.holding.holding_number,
        "画框轻微磨损",
        "金库 A-01",
        "客户签字",
        "经办人签字",
        "照片数量",
    ):
        assert expected in text, expected
    assert audit_log.actions() == ["custody.receipt_issued"]
    assert audit_log.new()[0].after == {"sha256": hashlib.sha256(pdf).hexdigest(), "photos": 1}


def test_receipt__fallback_cid_font_also_renders(rm1, customer, monkeypatch):
    from cpms.core import pdf as core_pdf

    core_pdf.cjk_font.cache_clear()
    monkeypatch.setattr(core_pdf, "FONT_CANDIDATES", ())
    try:
        assert core_pdf.cjk_font() == "STSong-Light"
        item = receive(rm1, customer, description="房产证原件")
        pdf = services.receipt_issue(actor=rm1, item=item)
        assert b"STSong-Light" in pdf
        assert "房产证原件" in pdf_text(pdf)
    finally:
        core_pdf.cjk_font.cache_clear()


# ownership -----------------------------------------------------------------------------------

WRITES = {"save", "delete", "create", "update", "bulk_create", "bulk_update", "update_or_create"}


def _model_writes(root: Path, models: set[str], *, holding_attribute: bool) -> list[str]:
    """Calls under `root` that write one of `models` through its manager or a queryset (or,
    with `holding_attribute`, through an `.holding.save()`-like attribute of a row)."""
    found = []
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITES
            ):
                continue
            chain = node.func.value
            if holding_attribute and isinstance(chain, ast.Attribute) and chain.attr == "holding":
                found.append(f"{path}:{node.lineno}")
                continue
            while isinstance(chain, ast.Attribute | ast.Call):
                chain = chain.func if isinstance(chain, ast.Call) else chain.value
            if isinstance(chain, ast.Name) and chain.id in models:
                found.append(f"{path}:{node.lineno}")
    return found


def test_ownership__custody_writes_holdings_only_through_holdings_services():
    models = {model.__name__ for model in apps.get_app_config("holdings").get_models()}
    root = Path(cpms.custody.__file__).parent

    assert _model_writes(root, models, holding_attribute=True) == []


def test_ownership__only_custody_writes_custody_models():
    models = {model.__name__ for model in apps.get_app_config("custody").get_models()}
    custody = Path(cpms.custody.__file__).parent
    offenders = [
        line
        for line in _model_writes(custody.parent, models, holding_attribute=False)
        if not line.startswith(str(custody))
    ]

    assert offenders == []
