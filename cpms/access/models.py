from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.access.choices import Scope
from cpms.users.choices import Role as DefaultRole


class Role(models.Model):
    """A named set of permissions. Built-in roles come from product.md §1; administrators compose
    more in the console."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    builtin = models.BooleanField(_("built in"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["code"]

    def __str__(self) -> str:
        return str(self.display_name)

    @property
    def display_name(self) -> str:
        """Built-in roles show their translated product name; custom roles their own name."""
        if self.builtin:
            labels = dict(DefaultRole.choices)
            if self.code in labels:
                return str(labels[self.code])
        return self.name


class RolePermission(models.Model):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    code = models.CharField(_("permission"), max_length=64)

    class Meta:
        verbose_name = _("role permission")
        verbose_name_plural = _("role permissions")
        constraints = [
            models.UniqueConstraint(fields=["role", "code"], name="access_role_permission_unique")
        ]

    def __str__(self) -> str:
        return f"{self.role.code}:{self.code}"


class Grant(models.Model):
    """A role given to a user with a scope. Revoked grants are kept (revoked_at set)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="grants")
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    branch = models.ForeignKey(
        "users.Branch",
        verbose_name=_("branch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "scope", "branch"],
                condition=Q(revoked_at__isnull=True),
                name="access_grant_active_unique",
            ),
            models.CheckConstraint(
                condition=~Q(scope="branch") | Q(branch__isnull=False),
                name="access_grant_branch_scope_has_branch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role.code} · {self.scope}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PermissionConflict(models.Model):
    """Two permissions no single user may hold together (segregation of duties)."""

    first = models.CharField(_("permission"), max_length=64)
    second = models.CharField(_("conflicting permission"), max_length=64)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)

    class Meta:
        verbose_name = _("permission conflict")
        verbose_name_plural = _("permission conflicts")
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="access_conflict_unique"),
            models.CheckConstraint(
                condition=Q(first__lt=models.F("second")), name="access_conflict_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first} ⟂ {self.second}"
