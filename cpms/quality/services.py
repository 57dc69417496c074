"""Every write of the data-quality app: the duplicate scan, dismissals, merge requests, the merge
itself (the executor of the approved `customers.merge` request) and the nightly summary. Each
public function checks the actor, owns its transaction and records its audit entries inside it.
`actor=None` is the system (the nightly job, `cpms quality` without `--actor`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import DatabaseError, models, transaction
from django.db.models import Avg, Count, Q, UniqueConstraint
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import has_scope_all, require_permission
from cpms.access.scopes import scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.customers.choices import CustomerKind, CustomerStatus, KycStatus
from cpms.customers.models import Consent, Customer
from cpms.privacy.protected import pii_read_many
from cpms.privacy.services import pii_assign, value_digest
from cpms.quality import matching, selectors
from cpms.quality.choices import ACTIONABLE, CandidateStatus
from cpms.quality.errors import (
    CandidateClosed,
    MergeClash,
    MergePending,
    MergeRefused,
    SurvivorInvalid,
)
from cpms.quality.models import CustomerMerge, DuplicateCandidate, QualitySummary

REVIEW_PERMISSION = selectors.REVIEW_PERMISSION
MERGE_ACTION = "customers.merge"
CANDIDATE_OBJECT = "quality.candidate"
CUSTOMER_OBJECT = "customers.customer"
SUMMARY_OBJECT = "quality.summary"
PROTECTED = ("phone", "email", "address")
MAX_REASON = 2000
MAX_TAGS = 20


# --- duplicate scan -----------------------------------------------------------------------


@dataclass
class ScanReport:
    customers: int = 0
    flagged: int = 0  # new pairs
    refreshed: int = 0  # open pairs whose reasons or score changed
    skipped_blocks: int = 0  # blocks above matching.MAX_BLOCK


def duplicate_scan(*, actor: Any = None) -> ScanReport:
    """Find possible duplicates among customers that are not closed (an actor's scan covers the
    customers in their `quality.review` scope; the system's covers all). New pairs are stored
    once; open pairs are refreshed; dismissed and merged pairs are left alone."""
    if actor is not None:
        require_permission(actor, REVIEW_PERMISSION)
    customers = Customer.objects.exclude(status=CustomerStatus.CLOSED)
    if actor is not None:
        customers = scoped(customers, user=actor, permission=REVIEW_PERMISSION)
    rows = list(customers.values_list(*matching.ROW_FIELDS).order_by("pk"))
    found, skipped = matching.find_duplicates(rows)
    report = ScanReport(customers=len(rows), skipped_blocks=skipped)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (row.customer_a_id, row.customer_b_id): row
            for row in DuplicateCandidate.objects.select_for_update().only(
                "pk",
                "customer_a_id",
                "customer_b_id",
                "reasons",
                "score",
                "status",
                "name_similarity",
            )
        }
        new: list[DuplicateCandidate] = []
        for pair in sorted(found):
            match = found[pair]
            reasons = sorted(match.reasons)
            similarity = round(match.similarity * 100)
            current = existing.get(pair)
            if current is None:
                new.append(
                    DuplicateCandidate(
                        customer_a_id=pair[0],
                        customer_b_id=pair[1],
                        reasons=reasons,
                        name_similarity=similarity,
                        score=match.score(),
                        first_found_at=now,
                    )
                )
            elif current.status == CandidateStatus.OPEN and (
                current.reasons != reasons or current.score != match.score()
            ):
                before = {"reasons": current.reasons, "score": current.score}
                current.reasons = reasons
                current.score = match.score()
                current.name_similarity = similarity
                current.save(update_fields=["reasons", "score", "name_similarity"])
                audit_record(
                    actor=actor,
                    action=AuditAction.DUPLICATE_FLAGGED,
                    object_type=CANDIDATE_OBJECT,
                    object_id=current.pk,
                    before=before,
                    after={"reasons": reasons, "score": current.score},
                )
                report.refreshed += 1
        for candidate in DuplicateCandidate.objects.bulk_create(new, batch_size=500):
            if candidate.pk is None:  # backends without RETURNING
                candidate = DuplicateCandidate.objects.get(
                    customer_a_id=candidate.customer_a_id, customer_b_id=candidate.customer_b_id
                )
            audit_record(
                actor=actor,
                action=AuditAction.DUPLICATE_FLAGGED,
                object_type=CANDIDATE_OBJECT,
                object_id=candidate.pk,
                after={
                    "customer_a": candidate.customer_a_id,
                    "customer_b": candidate.customer_b_id,
                    "reasons": candidate.reasons,
                    "score": candidate.score,
                },
            )
        report.flagged = len(new)
    return report


# --- review -------------------------------------------------------------------------------


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    if len(text) > MAX_REASON:
        raise ValidationFailed(
            fields={"reason": _("Use at most %(max)d characters.") % {"max": MAX_REASON}}
        )
    return text


def _locked_candidate(actor: Any, pk: int) -> DuplicateCandidate:
    """The pair, locked, if both customers are in the actor's scope (404 otherwise)."""
    selectors.candidate_get_for_user(user=actor, pk=pk)
    return DuplicateCandidate.objects.select_for_update().get(pk=pk)


def _still_pending(candidate: DuplicateCandidate) -> bool:
    request = candidate.approval_request
    return (
        candidate.status == CandidateStatus.MERGE_REQUESTED
        and request is not None
        and request.status == "pending"
    )


def _actionable(candidate: DuplicateCandidate) -> None:
    """Open pairs can be decided; so can merge-requested ones whose request was rejected,
    cancelled or expired. A pending merge blocks everything else."""
    if candidate.status not in ACTIONABLE:
        raise CandidateClosed()
    if _still_pending(candidate):
        raise MergePending()


def candidate_dismiss(
    *, actor: Any, candidate: DuplicateCandidate, reason: str
) -> DuplicateCandidate:
    """Not a duplicate: the pair is closed for good (re-scans do not reopen it)."""
    require_permission(actor, REVIEW_PERMISSION)
    text = _clean_reason(reason)
    with transaction.atomic():
        candidate = _locked_candidate(actor, candidate.pk)
        _actionable(candidate)
        before = candidate.status
        candidate.status = CandidateStatus.DISMISSED
        candidate.decided_at = timezone.now()
        candidate.decided_by = actor
        candidate.decision_reason = text
        candidate.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.DUPLICATE_DISMISSED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            before={"status": before},
            after={"status": candidate.status},
            reason=text,
        )
    return candidate


@dataclass(frozen=True)
class MergeOutcome:
    candidate: DuplicateCandidate
    approval_request: Any = None  # the pending request, when approval is required
    merge: CustomerMerge | None = None  # the merge, when it ran at once (policy disabled)


def customers_merge_request(
    *, actor: Any, candidate: DuplicateCandidate, survivor_id: int, reason: str
) -> MergeOutcome:
    """Propose merging the pair into `survivor_id` (one of the two). The merge goes through the
    maker-checker (`customers.merge`): it runs when an approver holding `approvals.decide`, not
    the maker, approves. If the policy is disabled it runs now."""
    from cpms.approvals.services import approval_submit

    require_permission(actor, REVIEW_PERMISSION)
    text = _clean_reason(reason)
    with transaction.atomic():
        candidate = _locked_candidate(actor, candidate.pk)
        _actionable(candidate)
        if survivor_id not in (candidate.customer_a_id, candidate.customer_b_id):
            raise SurvivorInvalid(fields={"survivor_id": _("Choose one of the two customers.")})
        merged_id = candidate.other(survivor_id)
        survivor, merged = _customers(survivor_id, merged_id)
        payload = {
            "candidate_id": candidate.pk,
            "survivor_id": survivor.pk,
            "survivor_number": survivor.customer_number,
            "merged_id": merged.pk,
            "merged_number": merged.customer_number,
        }
        submission = approval_submit(
            actor=actor,
            action=MERGE_ACTION,
            payload=payload,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            reason=text,
        )
        if not submission.required:
            merge = _merge(
                actor=actor,
                candidate=candidate,
                survivor=survivor,
                merged=merged,
                reason=text,
                approval_request=None,
                approved_by=None,
            )
            return MergeOutcome(candidate=candidate, merge=merge)
        before = candidate.status
        candidate.status = CandidateStatus.MERGE_REQUESTED
        candidate.survivor = survivor
        candidate.approval_request = submission.request
        candidate.save(update_fields=["status", "survivor", "approval_request"])
        audit_record(
            actor=actor,
            action=AuditAction.MERGE_REQUESTED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            before={"status": before},
            after={
                "status": candidate.status,
                "survivor_id": survivor.pk,
                "merged_id": merged.pk,
                "approval_request_id": submission.request.pk,
            },
            reason=text,
        )
    return MergeOutcome(candidate=candidate, approval_request=submission.request)


def _customers(survivor_id: int, merged_id: int) -> tuple[Customer, Customer]:
    """Both customers, locked in primary-key order; refused when either is closed."""
    rows = {
        row.pk: row
        for row in Customer.objects.select_for_update()
        .filter(pk__in=[survivor_id, merged_id])
        .order_by("pk")
    }
    if len(rows) != 2:
        raise NotFound()
    survivor, merged = rows[survivor_id], rows[merged_id]
    for customer in (survivor, merged):
        if customer.status == CustomerStatus.CLOSED:
            raise MergeRefused(
                _("Customer %(number)s is closed and cannot be merged.")
                % {"number": customer.customer_number}
            )
    return survivor, merged


def customers_merge_describe(payload: dict[str, Any]) -> str:
    return _("Merge customer %(merged)s into %(survivor)s") % {
        "merged": payload.get("merged_number"),
        "survivor": payload.get("survivor_number"),
    }


def customers_merge_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """Executor of an approved `customers.merge` request, inside the final approval's
    transaction. The merge is made in the maker's name (their permission and scope are checked
    again now); the approver is recorded with it."""
    payload = request.payload
    maker = request.maker
    require_permission(maker, REVIEW_PERMISSION)
    with transaction.atomic():
        try:
            candidate = _locked_candidate(maker, payload["candidate_id"])
        except NotFound:
            raise MergeRefused(_("The customers are no longer in the requester's scope.")) from None
        if candidate.status != CandidateStatus.MERGE_REQUESTED or (
            candidate.approval_request_id != request.pk
        ):
            raise CandidateClosed()
        survivor, merged = _customers(payload["survivor_id"], payload["merged_id"])
        merge = _merge(
            actor=maker,
            candidate=candidate,
            survivor=survivor,
            merged=merged,
            reason=f"{request.reason} (approval #{request.pk})",
            approval_request=request,
            approved_by=actor,
        )
    return {"merge_id": merge.pk, "survivor_id": survivor.pk, "merged_id": merged.pk}


# --- the merge ----------------------------------------------------------------------------

ClashRule = Callable[..., list[dict[str, Any]]]
_CLASH_RULES: dict[str, ClashRule] = {}


def register_clash_rule(model_label: str, rule: ClashRule) -> None:
    """How to free a clashing row of `model_label` (e.g. "customers.consent") before it moves:
    `rule(rows, *, actor, survivor, merged, now, reason) -> [resolution, ...]`. Call from an
    AppConfig.ready(); rows are the merged customer's rows that clash with the survivor's."""
    _CLASH_RULES[model_label.lower()] = rule


def _withdraw_consents(
    rows: list[Consent], *, actor: Any, survivor: Customer, merged: Customer, now: Any, reason: str
) -> list[dict[str, Any]]:
    """The survivor already has an active consent for the purpose: the merged customer's one is
    withdrawn first (its history moves with it, withdrawn)."""
    resolutions = []
    for consent in rows:
        consent.withdrawn_at = now
        consent.withdrawn_by = actor
        consent.withdrawal_channel = ""
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_channel"])
        audit_record(
            actor=actor,
            action=AuditAction.CONSENT_WITHDRAWN,
            object_type=CUSTOMER_OBJECT,
            object_id=merged.pk,
            before={"consent_id": consent.pk, "purpose": consent.purpose, "withdrawn_at": None},
            after={
                "consent_id": consent.pk,
                "purpose": consent.purpose,
                "withdrawn_at": now.isoformat(),
                "channel": "",
            },
            reason=reason,
        )
        resolutions.append({"rule": "withdrawn", "row": consent.pk})
    return resolutions


register_clash_rule("customers.consent", _withdraw_consents)


def _links() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every foreign key and one-to-one pointing at Customer, from any app (hidden ones and
    many-to-many through tables included), except this app's own bookkeeping."""
    links = []
    for relation in Customer._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        model = relation.related_model
        if model._meta.app_label == "quality" or model._meta.proxy:
            continue
        links.append((model, relation.field))
    return sorted(links, key=lambda link: (link[0]._meta.label_lower, link[1].name))


def _unique_sets(
    model: type[models.Model], link: models.ForeignKey
) -> tuple[list[tuple[list[str], Q | None]], bool]:
    """(unique field sets containing the link, with their condition; whether some constraint
    could not be analysed)."""
    sets: list[tuple[list[str], Q | None]] = []
    opaque = False
    if link.unique:
        sets.append(([link.name], None))
    for together in model._meta.unique_together:
        names = [model._meta.get_field(name).name for name in together]
        if link.name in names:
            sets.append((names, None))
    for constraint in model._meta.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        if constraint.fields and link.name in constraint.fields:
            sets.append((list(constraint.fields), constraint.condition))
        elif not constraint.fields:
            opaque = True
    return sets, opaque


def _suffixed(value: str, suffix: str, max_length: int | None) -> str:
    if max_length is not None and len(value) + len(suffix) > max_length:
        value = value[: max(0, max_length - len(suffix))]
    return value + suffix


def _resolve_clashes(
    model: type[models.Model],
    link: models.ForeignKey,
    *,
    actor: Any,
    survivor: Customer,
    merged: Customer,
    now: Any,
    reason: str,
) -> tuple[set[Any], list[dict[str, Any]]]:
    """Free the merged customer's rows that would break a unique constraint on the survivor.
    Returns the pks to leave on the merged customer and what was done."""
    label = f"{model._meta.label_lower}.{link.name}"
    sets, _opaque = _unique_sets(model, link)
    keep: set[Any] = set()
    resolutions: list[dict[str, Any]] = []
    manager = model._base_manager
    for names, condition in sets:
        others = [name for name in names if name != link.name]
        mine = manager.filter(**{link.name: merged}).exclude(pk__in=keep)
        theirs = manager.filter(**{link.name: survivor})
        if condition is not None:
            mine, theirs = mine.filter(condition), theirs.filter(condition)
        if not others:
            clashing = list(mine.order_by("pk")) if theirs.exists() else []
        else:
            attnames = [model._meta.get_field(name).attname for name in others]
            taken = set(theirs.values_list(*attnames))
            clashing = [
                row
                for row in mine.order_by("pk")
                if tuple(getattr(row, name) for name in attnames) in taken
            ]
        if not clashing:
            continue
        rule = _CLASH_RULES.get(model._meta.label_lower)
        if rule is not None:
            done = rule(
                clashing, actor=actor, survivor=survivor, merged=merged, now=now, reason=reason
            )
        elif model._meta.auto_created:  # a many-to-many link the survivor already has
            for row in clashing:
                row.delete()
            done = [{"rule": "dropped", "row": row_pk} for row_pk in (r.pk for r in clashing)]
        elif not others:  # one-to-one: the survivor keeps its own, the merged one stays
            keep |= {row.pk for row in clashing}
            done = [{"rule": "kept", "row": row.pk} for row in clashing]
        else:
            text_field = next(
                (
                    model._meta.get_field(name)
                    for name in others
                    if isinstance(model._meta.get_field(name), models.CharField)
                    and not model._meta.get_field(name).choices
                ),
                None,
            )
            if text_field is None:
                raise MergeClash(fields={"relation": label})
            suffix = f" ~{merged.customer_number}"
            done = []
            for row in clashing:
                old = getattr(row, text_field.attname)
                setattr(row, text_field.attname, _suffixed(old, suffix, text_field.max_length))
                row.save(update_fields=[text_field.attname])
                done.append(
                    {
                        "rule": "renamed",
                        "row": row.pk,
                        "field": text_field.name,
                        "from": old,
                        "to": getattr(row, text_field.attname),
                    }
                )
        resolutions.extend({"relation": label, **item} for item in done)
    return keep, resolutions


def _move_links(
    *, actor: Any, survivor: Customer, merged: Customer, now: Any, reason: str
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    moved: dict[str, int] = {}
    resolutions: list[dict[str, Any]] = []
    for model, link in _links():
        label = f"{model._meta.label_lower}.{link.name}"
        try:
            with transaction.atomic():  # a savepoint: a refused UPDATE names its relation
                keep, done = _resolve_clashes(
                    model,
                    link,
                    actor=actor,
                    survivor=survivor,
                    merged=merged,
                    now=now,
                    reason=reason,
                )
                count = (
                    model._base_manager.filter(**{link.name: merged})
                    .exclude(pk__in=keep)
                    .update(**{link.name: survivor})
                )
        except DatabaseError as exc:
            raise MergeClash(fields={"relation": label}) from exc
        resolutions.extend(done)
        if count:
            moved[label] = count
    return moved, resolutions


def _fill_survivor(
    *, actor: Any, survivor: Customer, merged: Customer
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Copy what the survivor lacks from the merged customer. Returns (filled field names,
    audit before, audit after); personal data appears as keyed digests."""
    survivor_pii, merged_pii = pii_read_many([survivor, merged], PROTECTED)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    pii_values = {
        name: merged_pii[name] for name in PROTECTED if not survivor_pii[name] and merged_pii[name]
    }
    for name, value in pii_values.items():
        before[name] = ""
        after[name] = value_digest(value, actor=actor)
    update_fields = pii_assign(actor=actor, instance=survivor, values=pii_values)

    def take(name: str, value: Any) -> None:
        before[name] = _plain(getattr(survivor, name))
        setattr(survivor, name, value)
        after[name] = _plain(value)
        update_fields.append(name)

    if (
        survivor.kind == CustomerKind.INDIVIDUAL
        and survivor.date_of_birth is None
        and merged.date_of_birth is not None
    ):
        take("date_of_birth", merged.date_of_birth)
    if not survivor.segment and merged.segment:
        take("segment", merged.segment)
    if survivor.relationship_manager_id is None and merged.relationship_manager_id is not None:
        take("relationship_manager_id", merged.relationship_manager_id)
    if survivor.kyc_status != KycStatus.VERIFIED and merged.kyc_status == KycStatus.VERIFIED:
        from cpms.customers.services import kyc_next_review

        take("kyc_status", merged.kyc_status)
        take("kyc_reviewed_at", merged.kyc_reviewed_at)
        take("kyc_next_review_at", kyc_next_review(merged.kyc_reviewed_at, survivor.risk_rating))
    custom = getattr(survivor, "custom_fields", None)
    if isinstance(custom, dict) and survivor.kind == merged.kind:
        extra = {
            key: value
            for key, value in (getattr(merged, "custom_fields", None) or {}).items()
            if custom.get(key) in (None, "")
        }
        if extra:
            take("custom_fields", {**custom, **extra})
    tags = list(survivor.tags) + [tag for tag in merged.tags if tag not in survivor.tags]
    if tags[:MAX_TAGS] != list(survivor.tags):
        take("tags", tags[:MAX_TAGS])
    if survivor.portal_user_id is None and merged.portal_user_id is not None:
        take("portal_user_id", merged.portal_user_id)
    filled = sorted(set(before))
    if filled:
        survivor.updated_at = timezone.now()
        if "portal_user_id" in filled:  # one-to-one: free it on the merged customer first
            merged.portal_user_id = None
            merged.save(update_fields=["portal_user_id"])
        survivor.save(update_fields=[*update_fields, "updated_at"])
    return filled, before, after


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _merge(
    *,
    actor: Any,
    candidate: DuplicateCandidate | None,
    survivor: Customer,
    merged: Customer,
    reason: str,
    approval_request: Any,
    approved_by: Any,
) -> CustomerMerge:
    """Move every link of `merged` to `survivor`, fill the survivor's gaps, close `merged`,
    record the merge. Runs inside the caller's transaction; any failure undoes all of it."""
    now = timezone.now()
    moved, resolutions = _move_links(
        actor=actor, survivor=survivor, merged=merged, now=now, reason=reason
    )
    filled, before, after = _fill_survivor(actor=actor, survivor=survivor, merged=merged)
    if filled:
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_UPDATED,
            object_type=CUSTOMER_OBJECT,
            object_id=survivor.pk,
            before=before,
            after=after,
            reason=reason,
            pii_fields=PROTECTED,
        )
    previous = merged.status
    merged.status = CustomerStatus.CLOSED
    merged.status_changed_at = now
    merged.updated_at = now
    merged.save(update_fields=["status", "status_changed_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_STATUS_CHANGED,
        object_type=CUSTOMER_OBJECT,
        object_id=merged.pk,
        before={"status": previous},
        after={"status": CustomerStatus.CLOSED, "merged_into": survivor.pk},
        reason=reason,
    )
    if candidate is not None:
        candidate.status = CandidateStatus.MERGED
        candidate.survivor = survivor
        candidate.decided_at = now
        candidate.decided_by = approved_by or actor
        candidate.decision_reason = reason
        candidate.save(
            update_fields=["status", "survivor", "decided_at", "decided_by", "decision_reason"]
        )
    _dismiss_superseded(actor=actor, survivor=survivor, merged=merged, keep=candidate, now=now)
    merge = CustomerMerge.objects.create(
        survivor=survivor,
        merged=merged,
        candidate=candidate,
        approval_request=approval_request,
        moved=moved,
        resolutions=resolutions,
        filled=filled,
        requested_by=actor,
        merged_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMERS_MERGED,
        object_type=CUSTOMER_OBJECT,
        object_id=survivor.pk,
        after={
            "merge_id": merge.pk,
            "survivor_id": survivor.pk,
            "merged_id": merged.pk,
            "candidate_id": candidate.pk if candidate else None,
            "approval_request_id": approval_request.pk if approval_request else None,
            "approved_by": approved_by.pk if approved_by else None,
            "moved": moved,
            "resolutions": [
                {key: item[key] for key in ("relation", "rule", "row")} for item in resolutions
            ],
            "filled": filled,
        },
        reason=reason,
    )
    return merge


def _dismiss_superseded(
    *, actor: Any, survivor: Customer, merged: Customer, keep: Any, now: Any
) -> None:
    """Other open pairs of the merged (now closed) customer no longer mean anything: they are
    dismissed; the next scan compares the survivor afresh."""
    others = (
        DuplicateCandidate.objects.select_for_update()
        .filter(Q(customer_a=merged) | Q(customer_b=merged), status=CandidateStatus.OPEN)
        .exclude(pk=getattr(keep, "pk", None))
        .order_by("pk")
    )
    text = _("Customer %(merged)s was merged into %(survivor)s.") % {
        "merged": merged.customer_number,
        "survivor": survivor.customer_number,
    }
    for candidate in others:
        candidate.status = CandidateStatus.DISMISSED
        candidate.decided_at = now
        candidate.decided_by = actor
        candidate.decision_reason = text
        candidate.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.DUPLICATE_DISMISSED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            before={"status": CandidateStatus.OPEN},
            after={"status": CandidateStatus.DISMISSED},
            reason=text,
        )


# --- nightly summary ----------------------------------------------------------------------


def _average(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def quality_summary_write(*, actor: Any = None, day: datetime.date | None = None) -> QualitySummary:
    """Write (or rewrite) the summary of `day`: customers not closed, average completeness,
    open possible duplicates and stale records, for the firm and per branch. A person needs
    `quality.review` over every customer (the figures cover the whole firm)."""
    if actor is not None:
        require_permission(actor, REVIEW_PERMISSION)
        if not has_scope_all(actor, REVIEW_PERMISSION):
            raise PermissionDenied(
                _("The summary covers every customer; your review scope is narrower.")
            )
    day = day or timezone.localdate()
    customers = Customer.objects.exclude(status=CustomerStatus.CLOSED).annotate(
        completeness=selectors.completeness_expression(day)
    )
    stale = selectors.stale_condition(today=day)
    branches = {
        row["branch__code"]: row
        for row in customers.values("branch__code")
        .annotate(
            customers=Count("pk"), average=Avg("completeness"), stale=Count("pk", filter=stale)
        )
        .order_by("branch__code")
    }
    open_pairs = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
    per_branch = {}
    for code, row in branches.items():
        per_branch[code] = {
            "customers": row["customers"],
            "average_completeness": str(_average(row["average"])),
            "open_duplicates": open_pairs.filter(
                Q(customer_a__branch__code=code) | Q(customer_b__branch__code=code)
            ).count(),
            "stale": row["stale"],
        }
    totals = customers.aggregate(
        customers=Count("pk"), average=Avg("completeness"), stale=Count("pk", filter=stale)
    )
    values = {
        "customers": totals["customers"],
        "average_completeness": _average(totals["average"]),
        "open_duplicates": open_pairs.count(),
        "stale": totals["stale"],
        "per_branch": per_branch,
    }
    with transaction.atomic():
        summary = QualitySummary.objects.select_for_update().filter(day=day).first()
        before = None
        if summary is None:
            summary = QualitySummary(day=day, **values)
        else:
            before = _summary_snapshot(summary)
            for name, value in values.items():
                setattr(summary, name, value)
        summary.written_at = timezone.now()
        summary.save()
        audit_record(
            actor=actor,
            action=AuditAction.QUALITY_SUMMARY_WRITTEN,
            object_type=SUMMARY_OBJECT,
            object_id=day.isoformat(),
            before=before,
            after=_summary_snapshot(summary),
        )
    return summary


def _summary_snapshot(summary: QualitySummary) -> dict[str, Any]:
    return {
        "customers": summary.customers,
        "average_completeness": str(summary.average_completeness),
        "open_duplicates": summary.open_duplicates,
        "stale": summary.stale,
        "branches": len(summary.per_branch),
    }


def quality_nightly(*, actor: Any = None) -> QualitySummary:
    """What the nightly job does: scan for duplicates, then write the day's summary."""
    duplicate_scan(actor=actor)
    return quality_summary_write(actor=actor)
