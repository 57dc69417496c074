"""API tokens: issue (only to someone who has just proved who they are), revoke,
authenticate. Each function owns its transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import authz
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.users.models import ApiToken, User
from cpms.users.scopes import scopes_cover, scopes_normalise
from cpms.users.services import security

TOKEN_PREFIX = "cpms"  # noqa: S105 (a public marker, not a secret)
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is enough to make the stored value useless."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; never stored
    record: ApiToken


class ReauthenticationRequired(PermissionDenied):
    code = "token.reauthentication_required"


def _require_presence(
    *, actor: User, reauthenticated: bool, password: str | None, code: str, ip: str
) -> None:
    """A new credential is issued only to someone who has just proved who they are: a fresh
    console re-authentication, or the password (and two-factor code) given with the request.
    Privileged roles must have two-factor sign-in enrolled; a token alone is never enough."""
    if security.user_is_privileged(actor) and security.mfa_device(actor) is None:
        raise ReauthenticationRequired(
            _("Enrol two-factor sign-in before creating API tokens."),
            fields={"code": _("Two-factor sign-in is required for your role.")},
        )
    if reauthenticated:
        return
    if not password:
        raise ReauthenticationRequired(
            _("Confirm your password (and two-factor code) to create an API token."),
            fields={"password": _("This field is required.")},
        )
    result = security.reauthenticate(user=actor, password=password, code=code or "", ip=ip)
    if result.user is None:
        raise ReauthenticationRequired(
            _("The password or two-factor code is wrong."),
            code="token.reauthentication_failed",
            fields={"password": _("Check the password and the two-factor code.")},
        )


def _check_issuer(
    *,
    actor: User,
    user: User,
    reauthenticated: bool,
    password: str | None,
    code: str,
    ip: str,
) -> None:
    """Who may issue a token for `user`: themselves (present now), or for a service account an
    administrator with `tokens.manage`; never one person for another."""
    if actor.pk != user.pk:
        if not actor.is_service_account:
            authz.require_permission(actor, "tokens.manage")
        if actor.is_service_account or not user.is_service_account:
            raise PermissionDenied(
                _(
                    "A token acts as its owner: each person creates their own tokens. "
                    "Tokens for integrations belong to service accounts."
                ),
                code="token.other_person",
                fields={"user": _("Not a service account.")},
            )
    if not actor.is_service_account:  # it has no password; it renews through its token
        _require_presence(
            actor=actor,
            reauthenticated=reauthenticated,
            password=password,
            code=code,
            ip=ip,
        )


def _check_validity(*, user: User, expires_days: int | None) -> None:
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(
            fields={
                "expires_days": _("Use a number of days from 1 to %(max)d.")
                % {"max": MAX_TOKEN_DAYS}
            }
        )
    if not user.is_active:
        raise ValidationFailed(fields={"user": _("The user is not active.")})


def token_create(
    *,
    actor: User | None,
    user: User,
    name: str = "",
    expires_days: int | None = None,
    scopes: Sequence[str] | None = None,
    via_token: ApiToken | None = None,
    reauthenticated: bool = False,
    password: str | None = None,
    code: str = "",
    ip: str = "",
) -> IssuedToken:
    """A new token for `user`, printed once. `scopes` default to ["*:read"] (read everywhere);
    see `users.scopes` for the grammar.

    Nobody obtains a credential that acts as another person: a person creates tokens only for
    themselves, after proving their presence (`reauthenticated` by the console, or `password`
    and `code` checked here); an administrator with `tokens.manage` may create tokens for a
    *service account* (never for a person). A token (`via_token`) can never mint one with scopes
    it lacks itself. `actor=None` is an operator on the server (`cpms token create`), audited as
    such through the CLI channel (docs/security.md)."""
    scopes = scopes_normalise(scopes)
    if via_token is not None and not scopes_cover(via_token.scopes, scopes):
        raise PermissionDenied(
            _("A token cannot create a token with scopes it does not have itself."),
            code="token.scope_insufficient",
            fields={"scopes": scopes, "token_scopes": list(via_token.scopes)},
        )
    if actor is not None:
        _check_issuer(
            actor=actor,
            user=user,
            reauthenticated=reauthenticated,
            password=password,
            code=code,
            ip=ip,
        )
    _check_validity(user=user, expires_days=expires_days)
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
            scopes=scopes,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_CREATED,
            object_type="api_token",
            object_id=record.pk,
            after={
                "user": user.username,
                "service_account": user.is_service_account,
                "prefix": prefix,
                "name": name,
                "expires_at": record.expires_at.isoformat() if record.expires_at else None,
                "scopes": scopes,
                "created_by": actor.username if actor is not None else None,
            },
        )
    return IssuedToken(token=token, record=record)


def token_revoke(*, actor: User | None, prefix: str) -> ApiToken:
    with transaction.atomic():
        record = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
        if record is None:
            raise NotFound(_("No API token has this prefix."), fields={"prefix": prefix})
        if record.revoked_at is None:
            record.revoked_at = timezone.now()
            record.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action=AuditAction.TOKEN_REVOKED,
                object_type="api_token",
                object_id=record.pk,
                before={"revoked_at": None},
                after={"revoked_at": record.revoked_at.isoformat()},
            )
    return record


def token_authenticate(token: str) -> User | None:
    """The active user a presented token belongs to, or None."""
    record = token_authenticate_record(token)
    return record.user if record is not None else None


def token_authenticate_record(token: str) -> ApiToken | None:
    """The usable token record (with its active user) for a presented token, or None. Records
    the last use at most once a minute so authentication does not write on every request."""
    if not token.startswith(f"{TOKEN_PREFIX}_"):
        return None
    record = ApiToken.objects.select_related("user").filter(token_hash=token_hash(token)).first()
    now = timezone.now()
    if record is None or not record.is_usable(now) or not record.user.is_active:
        return None
    if record.last_used_at is None or now - record.last_used_at >= TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record
