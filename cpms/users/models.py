from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Branch(models.Model):
    """An office of the firm. Customers and staff belong to branches; branch scope uses it."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    """Staff member (and, later, portal customer). Custom from the first migration."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    branch = models.ForeignKey(
        Branch,
        verbose_name=_("branch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    # An integration's identity, not a person: it cannot sign in to the console, cannot decide
    # approvals, and is the only kind of user an administrator may issue tokens for.
    is_service_account = models.BooleanField(_("service account"), default=False)
    # Set when an administrator gave a one-time password (new account, password reset): the
    # console lets the person do nothing but choose their own password until they have.
    password_change_required = models.BooleanField(_("must change password"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


def default_token_scopes() -> list[str]:
    return ["*:read"]


class ApiToken(models.Model):
    """A bearer token for the API. Only the SHA-256 of the token is stored; the token itself
    is shown once, when created."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    # "<area>:read" or "<area>:write" (write implies read); area "*" means every area
    scopes = models.JSONField(_("scopes"), default=default_token_scopes)
    # who issued it: the owner themselves, an administrator for a service account, or nobody
    # (an operator on the server, `cpms token create`)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class LoginAttempt(models.Model):
    """One sign-in attempt (password step, second factor or re-authentication). Failures per
    account drive the lockout and failures per IP drive the throttle; kept in the database so
    every process sees the same counts."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        BAD_CREDENTIALS = "bad_credentials", _("Wrong user name or password")
        LOCKED = "locked", _("Account locked")
        MFA_FAILED = "mfa_failed", _("Wrong two-factor code")
        THROTTLED = "throttled", _("Too many attempts from this address")

    username = models.CharField(_("user name attempted"), max_length=150)
    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="login_attempts",
    )
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("sign-in attempt")
        verbose_name_plural = _("sign-in attempts")
        indexes = [
            models.Index(fields=["user", "created_at"], name="users_attempt_user_idx"),
            models.Index(fields=["ip", "created_at"], name="users_attempt_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.outcome} {self.created_at:%Y-%m-%d %H:%M}"


class AccountLock(models.Model):
    """A lockout after repeated failures. Active while `lifted_at` is empty and `locked_until`
    is in the future; lifted by time or by an administrator."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="locks"
    )
    locked_at = models.DateTimeField(_("locked at"), default=timezone.now)
    locked_until = models.DateTimeField(_("locked until"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        User,
        verbose_name=_("lifted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("account lock")
        verbose_name_plural = _("account locks")
        indexes = [models.Index(fields=["user", "locked_until"], name="users_lock_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} until {self.locked_until:%Y-%m-%d %H:%M}"

    def ends_at(self) -> datetime:
        if self.lifted_at is not None and self.lifted_at < self.locked_until:
            return self.lifted_at
        return self.locked_until


class TotpDevice(models.Model):
    """A user's TOTP authenticator. The secret is AES-GCM encrypted (key from the master key);
    `confirmed_at` is empty while enrolment waits for the first code. `last_used_step` blocks
    replay: a code is accepted only for a later time step than the last accepted one."""

    user = models.OneToOneField(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="totp_device"
    )
    secret_encrypted = models.BinaryField(_("encrypted secret"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_step = models.BigIntegerField(_("last accepted time step"), default=0)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return f"TOTP {self.user}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A one-time recovery code, stored as a keyed hash (HMAC-SHA-256); shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(_("code hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"recovery code of {self.user}"
