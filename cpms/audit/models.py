from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cpms.audit.choices import AuditAction


class ActionField(models.CharField):
    """The action column. Its choices come from `AuditAction` at run time and are left out of
    migrations, so appending an action to the vocabulary needs no new migration."""

    def deconstruct(self):  # type: ignore[no-untyped-def]
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        return name, "django.db.models.CharField", args, kwargs


# The stored columns of an entry, in the order the raw INSERT and the verifier use them.
ENTRY_COLUMNS = (
    "created_at",
    "actor_id",
    "actor_name",
    "actor_roles",
    "channel",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
    "entry_hash",
)


class AuditEntry(models.Model):
    """One append-only audit record. Written only by `audit.services.audit_record`, inside the
    transaction of the change it records. The database refuses UPDATE and DELETE on this table.
    Its place in the tamper-evident log (the sequence) is given later by the sealer (AuditLeaf)."""

    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=True,
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    actor_roles = models.CharField(_("actor roles"), max_length=400, blank=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    action = ActionField(_("action"), max_length=64, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    entry_hash = models.CharField(_("entry hash"), max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["action", "created_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditLeaf(models.Model):
    """The sealed position of an entry: leaf `sequence` (0-based, gap-free) of the Merkle tree.
    leaf_hash = SHA-256(0x00 || sequence (8 bytes) || entry id (8 bytes) || entry hash)."""

    sequence = models.BigIntegerField(_("sequence"), unique=True)
    entry = models.OneToOneField(
        AuditEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="leaf"
    )
    leaf_hash = models.BinaryField(_("leaf hash"), max_length=32)

    class Meta:
        verbose_name = _("audit leaf")
        verbose_name_plural = _("audit leaves")

    def __str__(self) -> str:
        return f"leaf {self.sequence} -> entry #{self.entry_id}"


class AuditNode(models.Model):
    """Stored roots of complete perfect subtrees at levels 4, 8, 12, ... (tiles of 16), so an
    inclusion proof reads about a hundred hashes in one query instead of every leaf."""

    level = models.PositiveSmallIntegerField(_("level"))
    index = models.BigIntegerField(_("index"))
    node_hash = models.BinaryField(_("hash"), max_length=32)

    class Meta:
        verbose_name = _("audit tree node")
        verbose_name_plural = _("audit tree nodes")
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="audit_node_level_index_uniq")
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class AuditCheckpoint(models.Model):
    """A signed tree head: Ed25519 over (tree size, root hash, time). Append-only."""

    tree_size = models.BigIntegerField(_("tree size"))
    root_hash = models.CharField(_("root hash"), max_length=64)
    created_at = models.DateTimeField(_("time"), db_index=True)
    key_id = models.CharField(_("key id"), max_length=16)
    signature = models.CharField(_("signature"), max_length=128)

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:12]}"
