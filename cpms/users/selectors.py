"""Reads for users, branches, roles and tokens."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models import QuerySet

from cpms.core import authz
from cpms.core.errors import NotFound
from cpms.users.choices import Role
from cpms.users.models import ApiToken, Branch, User


def branch_list(*, user: User) -> QuerySet[Branch]:
    return Branch.objects.all()


def branch_get(*, user: User, pk: int) -> Branch | None:
    return branch_list(user=user).filter(pk=pk).first()


def role_list(*, user: User) -> QuerySet[Group]:
    return Group.objects.filter(name__in=Role.values)


def staff_list(*, user: User) -> QuerySet[User]:
    return (
        User.objects.filter(is_staff=True)
        .select_related("branch")
        .prefetch_related("groups")
        .order_by("username")
    )


def token_list(*, user: User | None = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user", "created_by").order_by("-created_at", "-pk")
    return tokens if user is None else tokens.filter(user=user)


def token_list_visible(*, user: User, owner: str | None = None) -> QuerySet[ApiToken]:
    """The caller's own tokens, or another user's with `tokens.manage` (404 if unknown)."""
    return token_list(user=token_owner_for(user=user, owner=owner))


def token_owner_for(*, user: User, owner: str | None) -> User:
    """Whom a token is created for: the caller, or (with `tokens.manage`) another user."""
    if owner is None or owner == user.username:
        return user
    authz.require_permission(user, "tokens.manage")
    subject = User.objects.filter(username=owner).first()
    if subject is None:
        raise NotFound()
    return subject


def role_labels(user: User) -> list[str]:
    labels = dict(Role.choices)
    return [str(labels[group.name]) for group in user.groups.all() if group.name in labels]


def token_get_for_user(*, user: User, prefix: str) -> ApiToken | None:
    """A token by prefix if it is the user's own, or any token for holders of `tokens.manage`;
    None otherwise (missing and forbidden look the same)."""
    tokens = token_list()
    if not authz.user_has_permission(user, "tokens.manage"):
        tokens = tokens.filter(user=user)
    return tokens.filter(prefix=prefix).first()


def mfa_status(*, user: User) -> dict[str, object]:
    from cpms.users.models import RecoveryCode, TotpDevice

    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    return {
        "enrolled": device is not None,
        "confirmed_at": device.confirmed_at if device else None,
        "recovery_codes_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
    }


def account_security_list(*, user: User) -> QuerySet[User]:
    """Staff with their lock and two-factor state, for the account security page: currently
    locked accounts first, then by user name."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from cpms.users.models import AccountLock, TotpDevice

    now = timezone.now()
    active_lock = AccountLock.objects.filter(
        user=OuterRef("pk"), lifted_at__isnull=True, locked_until__gt=now
    )
    enrolled = TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    return (
        User.objects.filter(is_staff=True)
        .annotate(is_locked=Exists(active_lock), mfa_enrolled=Exists(enrolled))
        .prefetch_related("groups")
        .order_by("-is_locked", "username")
    )
