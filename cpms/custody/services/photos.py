"""Photos of an item (images only, checked on their content, stored through Django's default
storage under a generated name) and the intake receipt PDF."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.custody.choices import PhotoStage
from cpms.custody.errors import PhotoRefused
from cpms.custody.models import OPERATE_PERMISSION, CustodyItem, CustodyPhoto
from cpms.custody.receipt import render_receipt
from cpms.custody.services._common import ITEM_OBJECT, _locked_item, _raise, _text

PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


def _image_facts(data: bytes) -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of an image checked by Pillow on its content."""
    from PIL import Image, UnidentifiedImageError  # lazy: Pillow loads only for uploads

    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused(
            fields={"file": _("This file is not an image (JPEG, PNG or WebP).")}
        ) from None
    if image_format not in PHOTO_FORMATS:
        raise PhotoRefused(fields={"file": _("Use a JPEG, PNG or WebP image.")})
    content_type, extension = PHOTO_FORMATS[image_format]
    return content_type, extension, width, height


def _photo_size_check(data: bytes) -> None:
    """Refuse an empty file or one over CPMS_UPLOAD_MAX_BYTES before Pillow reads it."""
    limit = settings.CPMS_UPLOAD_MAX_BYTES
    if not data:
        raise PhotoRefused(fields={"file": _("The file is empty.")})
    if len(data) > limit:
        raise PhotoRefused(
            fields={"file": _("The file is larger than %(mb)d MiB.") % {"mb": limit // 1048576}}
        )


def photo_add(
    *,
    actor: Any,
    item: Any,
    data: bytes,
    stage: str,
    original_name: str = "",
    note: str = "",
    now: Any = None,
) -> CustodyPhoto:
    """Attach a photo: images only (checked on the content), at most CPMS_UPLOAD_MAX_BYTES,
    SHA-256 recorded, stored through Django's default storage under a generated name."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    if stage not in PhotoStage.values:
        errors["stage"] = _("Choose a stage.")
    note = _text(note, "note", errors, required=False, limit=300)
    _raise(errors)
    _photo_size_check(data)
    content_type, extension, width, height = _image_facts(data)
    digest = hashlib.sha256(data).hexdigest()
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_item(actor, item)
        name = default_storage.save(
            f"custody/{locked.pk}/{uuid.uuid4().hex}.{extension}", ContentFile(data)
        )
        # a rolled-back upload must not leave its file behind
        try:
            photo = CustodyPhoto.objects.create(
                item=locked,
                stage=stage,
                file=name,
                sha256=digest,
                size=len(data),
                content_type=content_type,
                width=width,
                height=height,
                original_name=(original_name or "")[:200],
                note=note,
                uploaded_by=actor,
                uploaded_at=now,
            )
            audit_record(
                actor=actor,
                action=AuditAction.CUSTODY_PHOTO_ADDED,
                object_type=ITEM_OBJECT,
                object_id=locked.pk,
                after={
                    "photo_id": photo.pk,
                    "stage": stage,
                    "sha256": digest,
                    "size": len(data),
                    "content_type": content_type,
                },
            )
        except Exception:
            default_storage.delete(name)
            raise
    return photo


def receipt_issue(*, actor: Any, item: Any, now: Any = None) -> bytes:
    """The intake receipt PDF of an item (recorded as `custody.receipt_issued`)."""
    require_permission(actor, OPERATE_PERMISSION)
    now = now or timezone.now()
    with transaction.atomic():
        locked: CustodyItem = _locked_item(actor, item)
        photos = locked.photos.count()
        pdf = render_receipt(locked, photos=photos, issued_at=now, issued_by=actor)
        audit_record(
            actor=actor,
            action=AuditAction.CUSTODY_RECEIPT_ISSUED,
            object_type=ITEM_OBJECT,
            object_id=locked.pk,
            after={"sha256": hashlib.sha256(pdf).hexdigest(), "photos": photos},
        )
    return pdf
