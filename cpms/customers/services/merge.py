"""The customers' side of a merge of two customer records (the data-quality app decides which
pairs are duplicates and runs the merge behind maker-checker `customers.merge`; it calls
`customer_merge_apply` here, so only this app writes customers' rows).

What it does, inside the caller's transaction: moves every relation pointing at the merged
customer to the survivor (`customer_relations_move`, generic over every app), fills the
survivor's gaps from the merged customer, and closes the merged customer."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, models, transaction
from django.db.models import Q, UniqueConstraint
from django.utils import timezone

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.customers.choices import CUSTOMER_STATES, CustomerKind, CustomerStatus, KycStatus
from cpms.customers.errors import MergeClash
from cpms.customers.models import Consent, Customer
from cpms.customers.services._common import OBJECT_TYPE, _plain
from cpms.customers.services.derived import kyc_next_review
from cpms.privacy.protected import pii_read_many
from cpms.privacy.services import pii_assign, value_digest

# Personal data copied to the survivor when it has none (the identity number never is).
FILLED_PII = ("phone", "email", "address")
MAX_TAGS = 20

ClashRule = Callable[..., list[dict[str, Any]]]
_CLASH_RULES: dict[str, ClashRule] = {}


@dataclass(frozen=True)
class MergeApplied:
    """What `customer_merge_apply` did: rows moved per relation ("app.model.field": count), the
    clash resolutions, and the survivor fields filled from the merged customer."""

    moved: dict[str, int] = field(default_factory=dict)
    resolutions: list[dict[str, Any]] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)


def customer_merge_apply(
    *,
    actor: Any,
    survivor: Customer,
    merged: Customer,
    reason: str,
    now: datetime.datetime | None = None,
    leave_apps: Collection[str] = (),
) -> MergeApplied:
    """Merge `merged` into `survivor`: move every relation (except those of the models of
    `leave_apps`, the caller's own bookkeeping), fill the survivor's gaps (`customer.updated`),
    close the merged customer (`customer.status_changed` with `after.merged_into`).

    The caller has authorised the actor (the data-quality merge checks `quality.review` and the
    scope of both customers, behind maker-checker) and locked both rows; this runs inside the
    caller's transaction, so any failure undoes the whole merge."""
    now = now or timezone.now()
    with transaction.atomic():
        moved, resolutions = customer_relations_move(
            actor=actor,
            survivor=survivor,
            merged=merged,
            reason=reason,
            now=now,
            leave_apps=leave_apps,
        )
        filled = _survivor_fill(actor=actor, survivor=survivor, merged=merged, reason=reason)
        _merged_close(actor=actor, survivor=survivor, merged=merged, reason=reason, now=now)
    return MergeApplied(moved=moved, resolutions=resolutions, filled=filled)


# --- moving relations ---------------------------------------------------------------------


def register_clash_rule(model_label: str, rule: ClashRule) -> None:
    """How to free a clashing row of `model_label` (e.g. "customers.consent") before it moves:
    `rule(rows, *, actor, survivor, merged, now, reason) -> [resolution, ...]`. Call from an
    AppConfig.ready(); rows are the merged customer's rows that clash with the survivor's. A
    rule writes only rows of its own app (through that app's services)."""
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
            object_type=OBJECT_TYPE,
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


def customer_relations_move(
    *,
    actor: Any,
    survivor: Customer,
    merged: Customer,
    reason: str,
    now: datetime.datetime,
    leave_apps: Collection[str] = (),
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Move every row of any app that points at `merged` to `survivor`.

    THE ONE SANCTIONED CROSS-APP BULK WRITE. Everywhere else a model is written only by the
    services of the app that defines it; a customer merge cannot work that way without the
    customers app (layer 7) knowing every app above it. So this function, and only this one,
    walks `Customer`'s reverse foreign keys and one-to-ones generically (no app is named) and
    writes other apps' rows directly: one `UPDATE` of the customer column per relation, each in
    a savepoint; a many-to-many through row the survivor already has is deleted; a clashing
    row's first plain text field of the unique constraint is suffixed with
    ` ~<merged customer number>`. Clashes of a model with a registered clash rule
    (`register_clash_rule`) are left to that rule, which belongs to the model's own app. A
    one-to-one the survivor already has stays on the merged customer. No rule → MergeClash, as
    does any refusal of the database (an unanalysable constraint, a trigger), naming the
    relation. Runs inside the caller's transaction; returns (rows moved per relation,
    resolutions)."""
    moved: dict[str, int] = {}
    resolutions: list[dict[str, Any]] = []
    for model, link in _links(leave_apps):
        label = f"{model._meta.label_lower}.{link.name}"
        done: list[dict[str, Any]] = []
        try:
            with transaction.atomic():  # a savepoint: a refused UPDATE names its relation
                keep: set[Any] = set()
                for clashing, others in _clashes(model, link, survivor, merged, keep):
                    rule = _CLASH_RULES.get(model._meta.label_lower)
                    if rule is not None:
                        items = rule(
                            clashing,
                            actor=actor,
                            survivor=survivor,
                            merged=merged,
                            now=now,
                            reason=reason,
                        )
                    elif model._meta.auto_created:  # a many-to-many link the survivor has
                        for row in clashing:
                            row.delete()
                        items = [
                            {"rule": "dropped", "row": r_pk} for r_pk in (r.pk for r in clashing)
                        ]
                    elif not others:  # one-to-one: the survivor keeps its own, this one stays
                        keep |= {row.pk for row in clashing}
                        items = [{"rule": "kept", "row": row.pk} for row in clashing]
                    else:
                        text_field = _text_field(model, others)
                        if text_field is None:
                            raise MergeClash(fields={"relation": label})
                        items = []
                        for row in clashing:
                            old = getattr(row, text_field.attname)
                            new = _suffixed(
                                old, f" ~{merged.customer_number}", text_field.max_length
                            )
                            setattr(row, text_field.attname, new)
                            row.save(update_fields=[text_field.attname])
                            items.append(_renamed(row.pk, text_field.name, old, new))
                    done.extend({"relation": label, **item} for item in items)
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


def _links(leave_apps: Collection[str]) -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every foreign key and one-to-one pointing at Customer, from any app (hidden ones and
    many-to-many through tables included), except those of `leave_apps`."""
    links = []
    for relation in Customer._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        model = relation.related_model
        if model._meta.app_label in leave_apps or model._meta.proxy:
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


def _clashes(
    model: type[models.Model],
    link: models.ForeignKey,
    survivor: Customer,
    merged: Customer,
    keep: set[Any],
) -> Iterator[tuple[list[models.Model], list[str]]]:
    """For each unique set containing the link: the merged customer's rows (not in `keep`)
    whose other values already exist on the survivor, with the set's other field names. Lazy:
    each set is read after the previous one's clashes were resolved."""
    sets, _opaque = _unique_sets(model, link)
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
        if clashing:
            yield clashing, others


def _text_field(model: type[models.Model], names: list[str]) -> models.CharField | None:
    """The first plain text field (no choices) among `names`: the one a clash suffixes."""
    return next(
        (
            model._meta.get_field(name)
            for name in names
            if isinstance(model._meta.get_field(name), models.CharField)
            and not model._meta.get_field(name).choices
        ),
        None,
    )


def _suffixed(value: str, suffix: str, max_length: int | None) -> str:
    if max_length is not None and len(value) + len(suffix) > max_length:
        value = value[: max(0, max_length - len(suffix))]
    return value + suffix


def _renamed(pk: Any, name: str, old: str, new: str) -> dict[str, Any]:
    return {"rule": "renamed", "row": pk, "field": name, "from": old, "to": new}


# --- the survivor and the merged customer -------------------------------------------------


def _survivor_fill(*, actor: Any, survivor: Customer, merged: Customer, reason: str) -> list[str]:
    """Copy what the survivor lacks from the merged customer and record it
    (`customer.updated`, personal data as keyed digests). Returns the filled field names."""
    filled, before, after = _gaps_fill(actor=actor, survivor=survivor, merged=merged)
    if filled:
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_UPDATED,
            object_type=OBJECT_TYPE,
            object_id=survivor.pk,
            before=before,
            after=after,
            reason=reason,
            pii_fields=FILLED_PII,
        )
    return filled


def _gaps_fill(
    *, actor: Any, survivor: Customer, merged: Customer
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Fill the survivor's empty fields from the merged customer and save it. Returns (filled
    field names, audit before, audit after); personal data appears as keyed digests."""
    survivor_pii, merged_pii = pii_read_many([survivor, merged], FILLED_PII)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    pii_values = {
        name: merged_pii[name] for name in FILLED_PII if not survivor_pii[name] and merged_pii[name]
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

    for name, value in _missing_values(survivor, merged).items():
        take(name, value)
    filled = sorted(set(before))
    if filled:
        survivor.updated_at = timezone.now()
        if "portal_user_id" in filled:  # one-to-one: free it on the merged customer first
            merged.portal_user_id = None
            merged.save(update_fields=["portal_user_id"])
        survivor.save(update_fields=[*update_fields, "updated_at"])
    return filled, before, after


def _missing_values(survivor: Customer, merged: Customer) -> dict[str, Any]:
    """The plain fields the survivor takes from the merged customer, in order: date of birth
    (individuals), segment, relationship manager, KYC (when only the merged one is verified;
    the next review follows the survivor's risk rating), missing custom-field values (same
    kind), the union of tags (at most MAX_TAGS), the portal user."""
    values: dict[str, Any] = {}
    if (
        survivor.kind == CustomerKind.INDIVIDUAL
        and survivor.date_of_birth is None
        and merged.date_of_birth is not None
    ):
        values["date_of_birth"] = merged.date_of_birth
    if not survivor.segment and merged.segment:
        values["segment"] = merged.segment
    if survivor.relationship_manager_id is None and merged.relationship_manager_id is not None:
        values["relationship_manager_id"] = merged.relationship_manager_id
    if survivor.kyc_status != KycStatus.VERIFIED and merged.kyc_status == KycStatus.VERIFIED:
        values["kyc_status"] = merged.kyc_status
        values["kyc_reviewed_at"] = merged.kyc_reviewed_at
        values["kyc_next_review_at"] = kyc_next_review(merged.kyc_reviewed_at, survivor.risk_rating)
    custom = getattr(survivor, "custom_fields", None)
    if isinstance(custom, dict) and survivor.kind == merged.kind:
        extra = {
            key: value
            for key, value in (getattr(merged, "custom_fields", None) or {}).items()
            if custom.get(key) in (None, "")
        }
        if extra:
            values["custom_fields"] = {**custom, **extra}
    tags = list(survivor.tags) + [tag for tag in merged.tags if tag not in survivor.tags]
    if tags[:MAX_TAGS] != list(survivor.tags):
        values["tags"] = tags[:MAX_TAGS]
    if survivor.portal_user_id is None and merged.portal_user_id is not None:
        values["portal_user_id"] = merged.portal_user_id
    return values


def _merged_close(
    *, actor: Any, survivor: Customer, merged: Customer, reason: str, now: datetime.datetime
) -> None:
    """Close the merged customer; its status entry names the survivor (`merged_into`)."""
    previous = CUSTOMER_STATES.move(merged, CustomerStatus.CLOSED)
    merged.status_changed_at = now
    merged.updated_at = now
    merged.save(update_fields=["status", "status_changed_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_STATUS_CHANGED,
        object_type=OBJECT_TYPE,
        object_id=merged.pk,
        before={"status": previous},
        after={"status": CustomerStatus.CLOSED, "merged_into": survivor.pk},
        reason=reason,
    )
