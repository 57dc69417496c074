"""Classifications, retention classes and integrity states of documents."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Classification(models.TextChoices):
    PUBLIC = "public", pgettext_lazy("classification", "Public")
    INTERNAL = "internal", pgettext_lazy("classification", "Internal")
    CONFIDENTIAL = "confidential", pgettext_lazy("classification", "Confidential")
    RESTRICTED = "restricted", pgettext_lazy("classification", "Restricted")


class RetentionBasis(models.TextChoices):
    UPLOADED = "uploaded", _("from the upload date")
    RELATIONSHIP_END = "relationship_end", _("after the customer relationship ends")


class RetentionClass(models.TextChoices):
    KYC = "kyc", _("KYC and identity")
    CONTRACT = "contract", _("Contract")
    CORRESPONDENCE = "correspondence", _("Correspondence")
    TEMPORARY = "temporary", _("Temporary")


# How long each retention class keeps a document: (years, counted from).
RETENTION_RULES: dict[str, tuple[int, str]] = {
    RetentionClass.KYC: (5, RetentionBasis.RELATIONSHIP_END),
    RetentionClass.CONTRACT: (10, RetentionBasis.UPLOADED),
    RetentionClass.CORRESPONDENCE: (3, RetentionBasis.UPLOADED),
    RetentionClass.TEMPORARY: (1, RetentionBasis.UPLOADED),
}


class IntegrityStatus(models.TextChoices):
    OK = "ok", pgettext_lazy("integrity", "Intact")
    CORRUPTED = "corrupted", pgettext_lazy("integrity", "Corrupted")
    MISSING = "missing", pgettext_lazy("integrity", "Missing")
