"""Items in custody: a `holdings.Holding` of kind `custody_item` plus the custody details here,
an append-only event log (the timeline), photos, incidents and stocktakes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.custody.choices import (
    ConditionGrade,
    CountResult,
    CustodyCategory,
    CustodyEventKind,
    CustodyState,
    IncidentKind,
    IncidentStatus,
    PhotoStage,
    StocktakeStatus,
)

VIEW_PERMISSION = "holdings.view"
OPERATE_PERMISSION = "custody.operate"


class CustodyItem(models.Model):
    holding = models.OneToOneField(
        "holdings.Holding",
        on_delete=models.PROTECT,
        related_name="custody",
        verbose_name=_("property"),
    )
    category = models.CharField(_("category"), max_length=32, choices=CustodyCategory.choices)
    serial = models.CharField(_("serial number"), max_length=120, blank=True)
    condition_grade = models.CharField(
        _("condition"), max_length=16, choices=ConditionGrade.choices
    )
    condition_notes = models.TextField(_("condition notes"), blank=True, max_length=2000)
    state = models.CharField(
        _("state"), max_length=16, choices=CustodyState.choices, default=CustodyState.RECEIVED
    )
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("received by"),
    )
    # the current check-out (cleared on check-in)
    checked_out_to = models.CharField(_("checked out to"), max_length=200, blank=True)
    checkout_purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    due_back_on = models.DateField(_("due back on"), null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(_("overdue flagged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("item in custody")
        verbose_name_plural = _("items in custody")
        indexes = [
            models.Index(fields=["state", "due_back_on"], name="custody_state_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=CustodyState.values), name="custody_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(category__in=CustodyCategory.values), name="custody_category_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holding.holding_number} {self.holding.description}".strip()

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return (
            self.state == CustodyState.CHECKED_OUT
            and self.due_back_on is not None
            and self.due_back_on < today
        )


class CustodyEvent(models.Model):
    """One step of an item's life. Only ever inserted (the item's timeline)."""

    item = models.ForeignKey(
        CustodyItem, on_delete=models.PROTECT, related_name="events", verbose_name=_("item")
    )
    kind = models.CharField(_("event"), max_length=16, choices=CustodyEventKind.choices)
    from_state = models.CharField(
        _("from"), max_length=16, choices=CustodyState.choices, blank=True
    )
    to_state = models.CharField(_("to"), max_length=16, choices=CustodyState.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("custody event")
        verbose_name_plural = _("custody events")
        indexes = [models.Index(fields=["item", "at"], name="custody_event_item_idx")]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.kind}"


class CustodyPhoto(models.Model):
    item = models.ForeignKey(
        CustodyItem, on_delete=models.PROTECT, related_name="photos", verbose_name=_("item")
    )
    stage = models.CharField(_("stage"), max_length=16, choices=PhotoStage.choices)
    file = models.FileField(_("file"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=40)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    original_name = models.CharField(_("original name"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("custody photo")
        verbose_name_plural = _("custody photos")

    def __str__(self) -> str:
        return f"{self.item_id}:{self.stage}:{self.sha256[:12]}"


class Stocktake(models.Model):
    location = models.CharField(_("location"), max_length=120)
    branch = models.ForeignKey(
        "users.Branch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=StocktakeStatus.choices, default=StocktakeStatus.OPEN
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stocktake")
        verbose_name_plural = _("stocktakes")

    def __str__(self) -> str:
        return f"#{self.pk} {self.location}"


class StocktakeLine(models.Model):
    stocktake = models.ForeignKey(
        Stocktake, on_delete=models.PROTECT, related_name="lines", verbose_name=_("stocktake")
    )
    item = models.ForeignKey(
        CustodyItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("item")
    )
    result = models.CharField(
        _("result"), max_length=16, choices=CountResult.choices, default=CountResult.PENDING
    )
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("count line")
        verbose_name_plural = _("count lines")
        constraints = [
            models.UniqueConstraint(fields=["stocktake", "item"], name="custody_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.stocktake_id}:{self.item_id}:{self.result}"


class Incident(models.Model):
    item = models.ForeignKey(
        CustodyItem, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("item")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=IncidentKind.choices)
    description = models.TextField(_("description"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    stocktake_line = models.ForeignKey(
        StocktakeLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("stocktake line"),
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notify_due_at = models.DateTimeField(_("notify the customer by"))
    notified_at = models.DateTimeField(_("customer notified at"), null=True, blank=True)
    notification = models.ForeignKey(
        "notifications.Notification",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    notify_late_at = models.DateTimeField(_("notification overdue since"), null=True, blank=True)
    customer_response = models.TextField(_("customer's response"), blank=True, max_length=2000)
    response_recorded_at = models.DateTimeField(_("response recorded at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, max_length=2000)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [
            models.Index(fields=["status", "notified_at", "notify_due_at"], name="custody_inc_idx")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"

    @property
    def notification_overdue(self) -> bool:
        return self.notified_at is None and self.notify_due_at < timezone.now()
