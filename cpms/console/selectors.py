"""Cross-domain reads for the console's home page: one section of figures per role the user
holds (a user with several roles sees each). Every figure is counted through the owning app's
selector, so it covers exactly the rows the user may see, and links to the list it counts
(filtered where that list takes a filter). Read-only."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime as DateTime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cpms.access.checks import active_grants, user_has_permission
from cpms.access.scopes import scoped
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.selectors import approval_request_list, awaiting_decision_count, can_configure
from cpms.audit.choices import AuditAction
from cpms.audit.selectors import audit_status, entry_list
from cpms.core.selectors import heartbeat_get
from cpms.custody.choices import IncidentStatus
from cpms.custody.selectors import incident_list, item_overdue
from cpms.customers.choices import CustomerStatus
from cpms.customers.selectors import customer_list
from cpms.ledger.selectors import hold_list
from cpms.loans.selectors import loan_list
from cpms.quality.selectors import overview
from cpms.reconciliation.choices import AGE_BUCKETS, BreakStatus
from cpms.reconciliation.selectors import age_bucket, age_days, break_list
from cpms.retail.models import PurchaseReturn
from cpms.retail.selectors import purchase_list
from cpms.users.choices import Role
from cpms.users.models import ApiToken, Branch, User

HOLD_EXPIRY_WINDOW = datetime.timedelta(days=2)  # a hold "expires soon" within this


@dataclass(frozen=True)
class DashboardCounts:
    staff: int
    branches: int
    roles: int
    active_tokens: int
    scheduler_beat_at: DateTime | None
    measured_at: DateTime


def dashboard_counts(*, user: User) -> DashboardCounts:
    now = timezone.now()
    heartbeat = heartbeat_get()
    return DashboardCounts(
        staff=User.objects.filter(is_staff=True, is_active=True).count(),
        branches=Branch.objects.filter(is_active=True).count(),
        roles=len(Role.values),
        active_tokens=ApiToken.objects.filter(revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count(),
        scheduler_beat_at=heartbeat.beat_at if heartbeat else None,
        measured_at=now,
    )


# --- role home pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str  # stable, for tests and the page (data-count)
    label: str | Promise
    value: int | str
    url: str
    note: str | Promise = ""
    alert: bool = False  # worth attention (shown highlighted when not zero)


@dataclass(frozen=True)
class HomeSection:
    role: str
    title: str | Promise
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class HomePage:
    sections: tuple[HomeSection, ...]
    measured_at: DateTime
    scheduler_beat_at: DateTime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _url(name: str, **query: Any) -> str:
    base = reverse(name)
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


def _day_start(day: datetime.date) -> DateTime:
    return timezone.make_aware(DateTime.combine(day, datetime.time.min))


def _can(user: Any, *codes: str) -> bool:
    return any(user_has_permission(user, code) for code in codes)


def relationship_manager_figures(user: Any, *, today: datetime.date) -> list[Figure]:
    figures: list[Figure] = []
    if _can(user, "customers.view"):
        mine = customer_list(user=user).filter(relationship_manager=user)
        figures.append(
            Figure("my_customers", _("My customers"), mine.count(), _url("customers:list"))
        )
        due = mine.exclude(status=CustomerStatus.CLOSED).filter(kyc_next_review_at__lte=today)
        figures.append(
            Figure(
                "kyc_due",
                _("KYC reviews due"),
                due.count(),
                _url("quality:stale") if _can(user, "quality.review") else _url("customers:list"),
                note=_("next review date reached"),
                alert=True,
            )
        )
    if _can(user, "holdings.view"):
        figures.append(
            Figure(
                "custody_overdue",
                _("Custody items overdue"),
                item_overdue(user=user, today=today).count(),
                _url("custody:list", overdue=1),
                alert=True,
            )
        )
        to_notify = incident_list(user=user, status=IncidentStatus.OPEN).filter(
            notified_at__isnull=True
        )
        figures.append(
            Figure(
                "incidents_to_notify",
                _("Incidents to notify"),
                to_notify.count(),
                _url("custody:incidents", status=IncidentStatus.OPEN),
                alert=True,
            )
        )
    return figures


def finance_figures(user: Any, *, today: datetime.date, now: DateTime) -> list[Figure]:

    figures: list[Figure] = []
    if _can(user, "approvals.decide"):
        figures.append(
            Figure(
                "approvals_waiting",
                _("Approvals waiting for me"),
                awaiting_decision_count(user),
                _url("approvals:inbox", tab="awaiting"),
                alert=True,
            )
        )
    if not _can(user, "ledger.view"):
        return figures

    expiring = hold_list(user).filter(
        expires_at__isnull=False, expires_at__lte=now + HOLD_EXPIRY_WINDOW
    )
    figures.append(
        Figure(
            "holds_expiring",
            _("Holds expiring within two days"),
            expiring.count(),
            _url("ledger:holds"),
            alert=True,
        )
    )
    buckets = {label: 0 for label, _low, _high in AGE_BUCKETS}
    for opened_at in break_list(user, status=BreakStatus.OPEN).values_list("opened_at", flat=True):
        buckets[age_bucket(age_days(opened_at, today))] += 1
    breaks_url = _url("reconciliation:breaks", status=BreakStatus.OPEN)
    figures.append(
        Figure(
            "breaks_open",
            _("Open reconciliation breaks"),
            sum(buckets.values()),
            breaks_url,
            note=" · ".join(
                _("%(age)s days: %(count)s") % {"age": label, "count": count}
                for label, count in buckets.items()
                if count
            ),
            alert=True,
        )
    )
    figures.append(
        Figure(
            "loans_overdue",
            _("Overdue loans"),
            len(loan_list(user, overdue_only=True)),
            _url("loans:overdue"),
            alert=True,
        )
    )
    return figures


def compliance_figures(user: Any, *, today: datetime.date) -> list[Figure]:
    figures: list[Figure] = []
    if _can(user, "audit.view"):
        since = _day_start(today)
        reveals = entry_list(user=user, filters={"action": AuditAction.PII_REVEALED})
        exports = entry_list(user=user, filters={}).filter(
            action__in=(
                AuditAction.EXPORT_DOWNLOADED,
                AuditAction.AUDIT_EXPORTED,
                AuditAction.REPORT_DOWNLOADED,
            )
        )
        day = today.isoformat()
        figures.append(
            Figure(
                "pii_reveals_today",
                _("Personal data reveals today"),
                reveals.filter(created_at__gte=since).count(),
                _url("audit:entry-list", action=AuditAction.PII_REVEALED, since=day),
            )
        )
        figures.append(
            Figure(
                "exports_today",
                _("Exports today"),
                exports.filter(created_at__gte=since).count(),
                _url("audit:entry-list", action=AuditAction.EXPORT_DOWNLOADED, since=day),
                note=_("downloads, audit and report exports"),
            )
        )
        last = audit_status(user=user)["last_verified"]
        if last is None:
            chain, note, alert = _("Not verified yet"), "", True
        else:
            ok = bool((last.after or {}).get("ok"))
            chain = _("Intact") if ok else _("Problems found")
            note = timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M")
            alert = not ok
        figures.append(
            Figure("audit_chain", _("Audit chain"), chain, _url("audit:status"), note, alert)
        )
    if _can(user, "quality.review"):
        score = overview(user=user)["average_completeness"]
        figures.append(
            Figure(
                "data_quality",
                _("Data-quality score"),
                f"{score:g} %",
                _url("quality:completeness"),
                note=_("average profile completeness"),
            )
        )
    return figures


def administrator_figures(user: Any, *, now: DateTime) -> list[Figure]:
    figures = [
        Figure(
            "staff",
            _("Active staff"),
            User.objects.filter(is_staff=True, is_active=True).count(),
            _url("access:staff-list") if _can(user, "users.view") else _url("console:staff"),
        )
    ]
    if _can(user, "approvals.request", "approvals.decide", "approvals.configure"):
        pending = approval_request_list(user=user, status=ApprovalStatus.PENDING).filter(
            action="access.role_grant", expires_at__gt=now
        )
        figures.append(
            Figure(
                "pending_grants",
                _("Role grants awaiting approval"),
                pending.count(),
                _url(
                    "approvals:inbox",
                    tab="all" if can_configure(user) else None,
                    status=ApprovalStatus.PENDING,
                ),
                alert=True,
            )
        )
    return figures


def service_figures(user: Any, *, today: datetime.date) -> list[Figure]:
    figures: list[Figure] = []
    if _can(user, "customers.view"):
        figures.append(
            Figure(
                "lookups",
                _("Customers I can look up"),
                customer_list(user=user).count(),
                _url("customers:list"),
                note=_("search by name, number, phone or ID"),
            )
        )
    if _can(user, "retail.view"):
        day = today.isoformat()
        figures.append(
            Figure(
                "purchases_today",
                _("Purchases today"),
                purchase_list(user=user, date_from=today, date_to=today).count(),
                _url("retail:list", date_from=day, date_to=day),
            )
        )
        returns = scoped(PurchaseReturn.objects.all(), user=user, permission="retail.view")
        figures.append(
            Figure(
                "returns_today",
                _("Returns and exchanges today"),
                returns.filter(returned_at__gte=_day_start(today)).count(),
                _url("retail:list", date_from=day, date_to=day),
            )
        )
    return figures


SECTIONS: tuple[tuple[str, str | Promise, Callable[..., list[Figure]]], ...] = (
    (
        Role.RELATIONSHIP_MANAGER,
        _("Relationship manager"),
        lambda user, ctx: relationship_manager_figures(user, today=ctx["today"]),
    ),
    (
        Role.FINANCE_OFFICER,
        _("Finance"),
        lambda user, ctx: finance_figures(user, today=ctx["today"], now=ctx["now"]),
    ),
    (
        Role.COMPLIANCE_OFFICER,
        _("Compliance"),
        lambda user, ctx: compliance_figures(user, today=ctx["today"]),
    ),
    (Role.AUDITOR, _("Audit"), lambda user, ctx: compliance_figures(user, today=ctx["today"])),
    (
        Role.ADMINISTRATOR,
        _("Administration"),
        lambda user, ctx: administrator_figures(user, now=ctx["now"]),
    ),
    (
        Role.CUSTOMER_SERVICE,
        _("Customer service"),
        lambda user, ctx: service_figures(user, today=ctx["today"]),
    ),
)


def user_roles(user: Any) -> set[str]:
    return {grant.role for grant in active_grants(user)}


def home_page(*, user: Any, now: DateTime | None = None) -> HomePage:
    """The sections of every role `user` holds, in a fixed order. Compliance officers and
    auditors see the same figures: a user holding both sees them once."""
    now = now or timezone.now()
    ctx = {"now": now, "today": timezone.localdate(now)}
    roles = user_roles(user)
    sections: list[HomeSection] = []
    seen: set[str] = set()
    for role, title, build in SECTIONS:
        if role not in roles:
            continue
        figures = tuple(figure for figure in build(user, ctx) if figure.key not in seen)
        seen.update(figure.key for figure in figures)
        if figures:
            sections.append(HomeSection(role=role, title=title, figures=figures))
    heartbeat = heartbeat_get() if Role.ADMINISTRATOR in roles else None
    return HomePage(
        sections=tuple(sections),
        measured_at=now,
        scheduler_beat_at=heartbeat.beat_at if heartbeat else None,
        extra={"administrator": Role.ADMINISTRATOR in roles},
    )
