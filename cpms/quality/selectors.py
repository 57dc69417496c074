"""Scoped reads of the data-quality app. Every function takes the acting user first; a user
reaches a possible-duplicate pair only when BOTH customers are in their `quality.review` scope."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.access.checks import has_scope_all
from cpms.access.scopes import scoped
from cpms.core.errors import NotFound
from cpms.customers.choices import CustomerKind, CustomerStatus, KycStatus
from cpms.customers.models import Consent, Customer
from cpms.privacy.protected import pii_masked_many
from cpms.quality.choices import ACTIONABLE, CandidateStatus, StaleReason
from cpms.quality.models import CustomerMerge, DuplicateCandidate, QualitySummary

REVIEW_PERMISSION = "quality.review"
MASKED_FIELDS = ("identity_number", "phone", "email", "address")
DEFAULT_STALE_MONTHS = 12
# Holdings in these statuses count as property a dormant customer still has with the firm.
LIVE_HOLDING_STATUSES = ("active", "suspended")


# --- completeness -------------------------------------------------------------------------

# Points per element of a complete record (docs/data_quality.md). The score is the share of
# the points that apply to the customer, 0-100, rounded down; date of birth does not apply to
# organisations.
WEIGHTS: dict[str, int] = {
    "phone": 15,
    "email": 10,
    "address": 15,
    "date_of_birth": 10,
    "kyc": 25,
    "relationship_manager": 10,
    "consent": 15,
}

ELEMENT_LABELS = {
    "phone": _("Phone"),
    "email": _("Email"),
    "address": _("Address"),
    "date_of_birth": _("Date of birth"),
    "kyc": _("KYC verified and not overdue"),
    "relationship_manager": _("Relationship manager"),
    "consent": _("An active consent"),
}


def completeness_rows(result: Completeness) -> list[dict[str, Any]]:
    """The breakdown for display: label, points, present."""
    return [
        {"element": name, "label": ELEMENT_LABELS[name], "points": points, "present": present}
        for name, points, present in result.items
    ]


def _kyc_current(today: datetime.date) -> Q:
    return Q(kyc_status=KycStatus.VERIFIED, kyc_reviewed_at__isnull=False) & (
        Q(kyc_next_review_at__isnull=True) | Q(kyc_next_review_at__gte=today)
    )


def _points(condition: Q, points: int) -> Case:
    return Case(When(condition, then=Value(points)), default=Value(0), output_field=IntegerField())


def completeness_expression(today: datetime.date | None = None) -> ExpressionWrapper:
    """An integer expression over Customer rows: the completeness score (0-100)."""
    today = today or timezone.localdate()
    active_consent = Exists(
        Consent.objects.filter(customer=OuterRef("pk"), withdrawn_at__isnull=True)
    )
    earned = (
        _points(~Q(phone_encrypted=""), WEIGHTS["phone"])
        + _points(~Q(email_encrypted=""), WEIGHTS["email"])
        + _points(~Q(address_encrypted=""), WEIGHTS["address"])
        + _points(
            Q(kind=CustomerKind.INDIVIDUAL, date_of_birth__isnull=False), WEIGHTS["date_of_birth"]
        )
        + _points(_kyc_current(today), WEIGHTS["kyc"])
        + _points(Q(relationship_manager__isnull=False), WEIGHTS["relationship_manager"])
        + _points(Q(active_consent), WEIGHTS["consent"])
    )
    total = sum(WEIGHTS.values())
    possible = Case(
        When(kind=CustomerKind.ORGANISATION, then=Value(total - WEIGHTS["date_of_birth"])),
        default=Value(total),
        output_field=IntegerField(),
    )
    return ExpressionWrapper(earned * Value(100) / possible, output_field=IntegerField())


@dataclass(frozen=True)
class Completeness:
    score: int
    items: list[tuple[str, int, bool]]  # (element, points, present); only applicable ones


def completeness_breakdown(
    customer: Customer, *, has_consent: bool, today: datetime.date | None = None
) -> Completeness:
    """The same score as `completeness_expression`, element by element, for one customer."""
    today = today or timezone.localdate()
    present = {
        "phone": bool(customer.phone_encrypted),
        "email": bool(customer.email_encrypted),
        "address": bool(customer.address_encrypted),
        "date_of_birth": customer.date_of_birth is not None,
        "kyc": customer.kyc_status == KycStatus.VERIFIED
        and customer.kyc_reviewed_at is not None
        and (customer.kyc_next_review_at is None or customer.kyc_next_review_at >= today),
        "relationship_manager": customer.relationship_manager_id is not None,
        "consent": has_consent,
    }
    items = [
        (name, points, present[name])
        for name, points in WEIGHTS.items()
        if not (name == "date_of_birth" and customer.kind == CustomerKind.ORGANISATION)
    ]
    possible = sum(points for _name, points, _present in items)
    earned = sum(points for _name, points, ok in items if ok)
    return Completeness(score=earned * 100 // possible, items=items)


def visible_customers(user: Any) -> QuerySet[Customer]:
    """Customers the user reaches with `quality.review`."""
    return scoped(Customer.objects.all(), user=user, permission=REVIEW_PERMISSION)


def completeness_list(
    *, user: Any, below: int | None = None, branch: int | None = None
) -> QuerySet[Customer]:
    """Customers in scope (not closed) with a `completeness` annotation; order it by
    ("completeness", "pk") for the lowest scores first."""
    customers = (
        visible_customers(user)
        .exclude(status=CustomerStatus.CLOSED)
        .annotate(completeness=completeness_expression())
        .select_related("branch", "relationship_manager")
    )
    if below is not None:
        customers = customers.filter(completeness__lt=below)
    if branch:
        customers = customers.filter(branch_id=branch)
    return customers


def completeness_get(*, user: Any, customer_id: Any) -> tuple[Customer, Completeness]:
    customer = visible_customers(user).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    has_consent = customer.consents.filter(withdrawn_at__isnull=True).exists()
    return customer, completeness_breakdown(customer, has_consent=has_consent)


# --- stale records ------------------------------------------------------------------------


def _months_ago(today: datetime.date, months: int) -> datetime.date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    day = min(today.day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day)


def _live_property() -> Exists | None:
    if not apps.is_installed("cpms.holdings"):
        return None
    holding = apps.get_model("holdings", "Holding")
    return Exists(
        holding._default_manager.filter(customer=OuterRef("pk"), status__in=LIVE_HOLDING_STATUSES)
    )


def stale_conditions(
    months: int = DEFAULT_STALE_MONTHS, today: datetime.date | None = None
) -> dict[str, Q]:
    """StaleReason -> condition on Customer rows."""
    today = today or timezone.localdate()
    cutoff = datetime.datetime.combine(
        _months_ago(today, months), datetime.time.min, tzinfo=timezone.get_current_timezone()
    )
    dormant = Q(status=CustomerStatus.DORMANT)
    live = _live_property()
    return {
        StaleReason.NOT_UPDATED: Q(updated_at__lt=cutoff),
        StaleReason.KYC_OVERDUE: Q(kyc_next_review_at__lt=today),
        StaleReason.DORMANT_WITH_PROPERTY: dormant & Q(live) if live is not None else Q(pk__in=[]),
    }


def stale_condition(months: int = DEFAULT_STALE_MONTHS, today: datetime.date | None = None) -> Q:
    condition = Q(pk__in=[])
    for part in stale_conditions(months, today).values():
        condition |= part
    return condition


def stale_list(
    *, user: Any, months: int = DEFAULT_STALE_MONTHS, reason: str | None = None
) -> QuerySet[Customer]:
    """Customers in scope, not closed, that are stale for at least one reason; each row carries
    a boolean annotation per StaleReason value."""
    conditions = stale_conditions(months)
    customers = (
        visible_customers(user)
        .exclude(status=CustomerStatus.CLOSED)
        .annotate(
            **{
                name: ExpressionWrapper(condition, output_field=BooleanField())
                for name, condition in conditions.items()
            }
        )
        .select_related("branch", "relationship_manager")
    )
    if reason in conditions:
        return customers.filter(conditions[reason])
    return customers.filter(stale_condition(months))


def stale_reasons(row: Customer) -> list[str]:
    return [value for value in StaleReason.values if getattr(row, value, False)]


# --- possible duplicates ------------------------------------------------------------------


def candidate_list(
    *, user: Any, status: str | None = None, customer_id: int | None = None
) -> QuerySet[DuplicateCandidate]:
    """Pairs whose two customers are both in the user's scope. Default: the review queue (open
    and merge-requested pairs)."""
    visible = visible_customers(user)
    candidates = scoped(
        DuplicateCandidate.objects.all(), user=user, permission=REVIEW_PERMISSION
    ).filter(customer_b__in=visible.values("pk"))
    if status:
        candidates = candidates.filter(status=status)
    else:
        candidates = candidates.filter(status__in=ACTIONABLE)
    if customer_id is not None:
        candidates = candidates.filter(Q(customer_a_id=customer_id) | Q(customer_b_id=customer_id))
    return candidates.select_related("customer_a", "customer_b", "approval_request", "decided_by")


def candidate_get_for_user(*, user: Any, pk: Any) -> DuplicateCandidate:
    """One pair, whatever its status; NotFound when missing or not entirely in scope."""
    visible = visible_customers(user)
    candidate = (
        scoped(DuplicateCandidate.objects.all(), user=user, permission=REVIEW_PERMISSION)
        .filter(customer_b__in=visible.values("pk"), pk=pk)
        .select_related(
            "customer_a__branch",
            "customer_a__relationship_manager",
            "customer_b__branch",
            "customer_b__relationship_manager",
            "approval_request",
            "decided_by",
            "survivor",
        )
        .first()
    )
    if candidate is None:
        raise NotFound()
    return candidate


def candidate_sides(candidate: DuplicateCandidate) -> list[dict[str, Any]]:
    """Both customers side by side: the row, masked personal data, completeness."""
    customers = [candidate.customer_a, candidate.customer_b]
    masked = pii_masked_many(customers, MASKED_FIELDS)
    consenting = set(
        Consent.objects.filter(
            customer_id__in=[c.pk for c in customers], withdrawn_at__isnull=True
        ).values_list("customer_id", flat=True)
    )
    return [
        {
            "customer": customer,
            "masked": pii,
            "completeness": completeness_breakdown(customer, has_consent=customer.pk in consenting),
        }
        for customer, pii in zip(customers, masked, strict=True)
    ]


def candidate_masked(rows: list[DuplicateCandidate]) -> list[dict[str, dict[str, str]]]:
    """Masked personal data of both customers of each pair (one key query per page)."""
    customers = [customer for row in rows for customer in (row.customer_a, row.customer_b)]
    masked = pii_masked_many(customers, MASKED_FIELDS)
    return [{"a": masked[2 * index], "b": masked[2 * index + 1]} for index in range(len(rows))]


def merge_list(*, user: Any) -> QuerySet[CustomerMerge]:
    return scoped(
        CustomerMerge.objects.all(), user=user, permission=REVIEW_PERMISSION
    ).select_related("survivor", "merged", "requested_by", "approval_request")


# --- summaries ----------------------------------------------------------------------------


def summary_list(*, user: Any) -> QuerySet[QualitySummary]:
    """Stored nightly summaries cover the whole firm, so only users whose `quality.review`
    reaches every customer see them; others get `overview` of their own scope."""
    if not has_scope_all(user, REVIEW_PERMISSION):
        return QualitySummary.objects.none()
    return QualitySummary.objects.all()


def overview(*, user: Any, months: int = DEFAULT_STALE_MONTHS) -> dict[str, Any]:
    """Live figures of the user's scope: customers, average completeness, open pairs, stale."""
    from django.db.models import Avg, Count

    customers = visible_customers(user).exclude(status=CustomerStatus.CLOSED)
    figures = customers.annotate(completeness=completeness_expression()).aggregate(
        customers=Count("pk"), average=Avg("completeness")
    )
    return {
        "customers": figures["customers"],
        "average_completeness": round(float(figures["average"] or 0), 1),
        "open_duplicates": candidate_list(user=user, status=CandidateStatus.OPEN).count(),
        "stale": customers.filter(stale_condition(months)).count(),
    }


def completeness_map(*, user: Any, ids: list[int]) -> dict[int, int]:
    """Completeness scores of the given customers that are in scope (one query)."""
    return dict(
        visible_customers(user)
        .filter(pk__in=ids)
        .annotate(completeness=completeness_expression())
        .values_list("pk", "completeness")
    )
