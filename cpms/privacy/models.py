from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DataKey(models.Model):
    """The AES-256 key that encrypts one subject's personal data (a customer, a person), stored
    only wrapped (AES-256-GCM) under a master key. Destroying it (the wrapped key is wiped)
    erases every value encrypted with it, wherever it is stored: crypto-shredding."""

    subject_type = models.CharField(_("subject type"), max_length=64)
    subject_id = models.CharField(_("subject id"), max_length=64)
    key_id = models.CharField(_("key id"), max_length=32, unique=True)
    wrapped_key = models.TextField(_("wrapped key"), blank=True)
    master_key_id = models.CharField(_("master key id"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    rotated_at = models.DateTimeField(_("re-wrapped at"), null=True, blank=True)
    destroyed_at = models.DateTimeField(_("destroyed at"), null=True, blank=True)
    destroyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("destroyed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("data key")
        verbose_name_plural = _("data keys")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"], name="privacy_datakey_one_per_subject"
            ),
            models.CheckConstraint(
                condition=(Q(destroyed_at__isnull=True) & ~Q(wrapped_key="") & ~Q(master_key_id=""))
                | (Q(destroyed_at__isnull=False) & Q(wrapped_key="") & Q(master_key_id="")),
                name="privacy_datakey_live_or_wiped",
            ),
        ]
        indexes = [models.Index(fields=["master_key_id", "id"], name="privacy_datakey_master_idx")]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.subject_type}:{self.subject_id})"

    @property
    def is_destroyed(self) -> bool:
        return self.destroyed_at is not None
