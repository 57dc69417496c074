"""Telling people about approval requests: the checkers who may decide a request when it is
submitted (and again when it still needs another approver), the maker when it is approved,
rejected or expires.

Each notice is an in-app notification written in the caller's transaction (rolled back with it)
plus an e-mail sent after commit (`services.staff_notices_send`). Subscribed to approvals'
events (`approvals.listeners`) in `NotificationsConfig.ready`. Bounded: a
checker gets at most one e-mail per request, and at most `MAX_CHECKERS` checkers are told.
Texts are written in the site's default language (the recipients are not the person acting)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.selectors import action_label, approval_context
from cpms.core.money import format_minor
from cpms.core.permissions import BY_CODE
from cpms.notifications.models import EmailStatus, Notification
from cpms.notifications.services import staff_notices_send
from cpms.users.models import User

logger = logging.getLogger(__name__)

RELATED_TYPE = "approval_request"
MAX_CHECKERS = 200


def eligible_checkers(request: ApprovalRequest) -> list[Any]:
    """The people who may decide `request` now: active, not service accounts, holding the
    request's approver permission through an active grant of an active role; never the maker
    nor whoever issued the API token the maker submitted with (`services._check_checker`), nor
    anyone who already decided. One query."""
    code = request.approver_permission
    if code not in BY_CODE:
        return []
    users = User.objects.filter(
        is_active=True,
        is_service_account=False,
        grants__revoked_at__isnull=True,
        grants__role__is_active=True,
        grants__role__permissions__code=code,
    ).exclude(pk=request.maker_id)
    if request.maker_token_id is not None:
        issuer = request.maker_token.created_by_id
        if issuer is not None:
            users = users.exclude(pk=issuer)
    if request.pk is not None:
        users = users.exclude(approval_decisions__request=request)
    return list(users.distinct().order_by("pk")[:MAX_CHECKERS])


def _link(request: ApprovalRequest) -> str:
    path = reverse("approvals:detail", args=[request.pk])
    base = (getattr(settings, "CPMS_BASE_URL", "") or "").rstrip("/")
    return f"{base}{path}"


def _summary_lines(request: ApprovalRequest) -> list[str]:
    context = approval_context(user=None, request=request)
    lines = [f"{action_label(request.action)} #{request.pk}", *context.text_lines()]
    if not context.amount and request.amount_minor is not None and request.currency:
        lines.append(f"{_('Amount')}: {format_minor(request.amount_minor, request.currency)}")
    return lines


def _body(request: ApprovalRequest, intro: str, summary: list[str]) -> str:
    expires = timezone.localtime(request.expires_at).strftime("%Y-%m-%d %H:%M")
    lines = [
        intro,
        "",
        *summary,
        f"{_('Maker')}: {request.maker}",
        f"{_('Reason')}: {request.reason}",
        f"{_('Expires')}: {expires}",
        "",
        f"{_('Open the request')}: {_link(request)}",
    ]
    return "\n".join(lines)[:4000]


def _send(request: ApprovalRequest, notices: list[tuple[Any, str, str, bool]]) -> None:
    staff_notices_send(notices=notices, related_type=RELATED_TYPE, related_id=request.pk)


def _emailed(request: ApprovalRequest) -> set[int]:
    """Users already sent an e-mail about this request (one e-mail per checker per request)."""
    return set(
        Notification.objects.filter(
            related_type=RELATED_TYPE,
            related_id=str(request.pk),
            user__isnull=False,
            email_status=EmailStatus.QUEUED,
        ).values_list("user_id", flat=True)
    )


def notify_checkers(request: ApprovalRequest, *, actor: Any, approvals: int = 0) -> int:
    """Tell every eligible checker that `request` awaits their decision (in-app; by e-mail once
    per checker per request). `approvals` > 0: it has some approvals and needs another.
    Returns how many were told."""
    checkers = eligible_checkers(request)
    if not checkers:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        summary = _summary_lines(request)
        if approvals:
            subject = _("Approval request #%(id)s needs another approval") % {"id": request.pk}
            intro = _("%(done)s of %(required)s approvals so far; your decision is needed.") % {
                "done": approvals,
                "required": request.approvers_required,
            }
        else:
            subject = _("Approval request #%(id)s awaits your decision") % {"id": request.pk}
            intro = _("%(maker)s asks for your approval.") % {"maker": request.maker}
        body = _body(request, intro, summary)
        if len(summary) > 1:
            subject = f"{subject}: {summary[1]}"
        already = _emailed(request) if approvals else set()
        _send(
            request,
            [(checker, subject, body, checker.pk not in already) for checker in checkers],
        )
    return len(checkers)


_OUTCOMES = {
    ApprovalStatus.EXECUTED: "approved",
    ApprovalStatus.REJECTED: "rejected",
    ApprovalStatus.EXPIRED: "expired",
}


def notify_maker(request: ApprovalRequest, *, actor: Any) -> None:
    """Tell the maker their request was approved (and executed), rejected or expired."""
    outcome = _OUTCOMES.get(request.status)
    maker = request.maker
    if outcome is None or maker is None or not maker.is_active:
        return
    with translation.override(settings.LANGUAGE_CODE):
        subjects = {
            "approved": _("Your approval request #%(id)s was approved"),
            "rejected": _("Your approval request #%(id)s was rejected"),
            "expired": _("Your approval request #%(id)s expired"),
        }
        subject = subjects[outcome] % {"id": request.pk}
        summary = _summary_lines(request)
        if outcome == "approved":
            intro = _("It was approved and carried out.")
        elif outcome == "rejected":
            rejection = request.decisions.filter(decision="rejected").select_related("approver")
            decision = rejection.first()
            intro = _("%(who)s rejected it: %(reason)s") % {
                "who": decision.approver if decision else "-",
                "reason": decision.reason if decision else "-",
            }
        else:
            intro = _("Nobody decided it before it expired; nothing was done.")
        _send(request, [(maker, subject, _body(request, intro, summary), True)])
