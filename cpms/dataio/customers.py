"""The customers dataset: row validation, the plan of each row against the register, and export
(its columns are in `customer_columns`).

Validation is the registry's: the row is parsed by `customers.schemas.CustomerData`, identity
documents and contacts are checked by `customers.validators`, and the derived rules of
`customers.services` (date of birth from the resident ID, organisations have none, next KYC
review from the risk rating, branch and relationship manager active) are applied the same way,
but with lookups cached per import instead of one query per row. Nothing here writes: the
plans are written by `dataio.services.customers_import` through the registry's bulk services
(`customers.bulk`), which also define the plain and protected fields a row may set."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
from django.contrib.auth import get_user_model
from django.utils import timezone

from cpms.access.checks import permission_scopes
from cpms.access.choices import Scope
from cpms.access.scopes import scoped
from cpms.core import crypto
from cpms.customers import validators
from cpms.customers.bulk import PLAIN_FIELDS, PROTECTED
from cpms.customers.choices import (
    IDENTITY_KINDS_FOR,
    CustomerKind,
    IdentityKind,
    KycStatus,
    RiskRating,
)
from cpms.customers.models import MANAGE_PERMISSION, Customer
from cpms.customers.schemas import CustomerData
from cpms.customers.services import kyc_next_review, kyc_verification_needs_approval, name_pinyin
from cpms.dataio.choices import RowOutcome
from cpms.dataio.columns import (
    CellInvalid,
    choice_lookup,
    given_values,
    normalise_header,
    parse_date,
    text,
)
from cpms.dataio.customer_columns import CHOICES, COLUMNS
from cpms.dataio.messages import _
from cpms.privacy.protected import index_purpose, masked, pii_read_many
from cpms.users.models import Branch

INDEXED = {"identity_number": "identity", "phone": "phone", "email": "email"}


@dataclass
class Context:
    """What an import of customers caches: lookups, keys and the actor's scope."""

    actor: Any
    root: bytes | None
    lookups: dict[str, dict[str, str]]
    branches: dict[str, int]  # code (normalised) -> id, active only
    branch_codes: dict[int, str]
    managers: dict[str, int | None] = field(default_factory=dict)  # username -> id (None: unknown)
    manager_names: dict[int, str] = field(default_factory=dict)
    scopes: list[tuple[str, int | None]] = field(default_factory=list)
    indexers: dict[str, Any] = field(default_factory=dict)
    digest: Any = None
    pinyin_cache: dict[str, str] = field(default_factory=dict)
    today: datetime.date = field(default_factory=timezone.localdate)
    kyc_needs_approval: bool = True

    def index(self, name: str, value: str) -> str:
        if not value or self.root is None:
            return ""
        entry = self.indexers.get(name)
        if entry is None:
            kind = INDEXED[name]
            entry = self.indexers[name] = (
                crypto.blind_index_for(self.root, index_purpose(Customer, name), kind),
                crypto.NORMALISERS[kind],
            )
        indexer, normalise = entry
        normalised = normalise(value)
        return indexer.raw(normalised) if normalised else ""

    def pinyin(self, name: str) -> str:
        """The registry's `name_pinyin`, remembered per name (names repeat in real lists)."""
        found = self.pinyin_cache.get(name)
        if found is None:
            if len(self.pinyin_cache) > 50_000:
                self.pinyin_cache.clear()
            found = self.pinyin_cache[name] = name_pinyin(name)
        return found

    def allows(self, branch_id: int | None, manager_id: int | None) -> bool:
        """Would a customer with this branch and manager be inside the actor's manage scope
        (the customers scope rule: branch, assigned relationship manager)?"""
        for scope, scope_branch in self.scopes:
            if scope == Scope.ALL:
                return True
            if scope == Scope.BRANCH and scope_branch is not None and scope_branch == branch_id:
                return True
            if scope == Scope.ASSIGNED and manager_id is not None and manager_id == self.actor.pk:
                return True
        return False

    def manager_id(self, username: str) -> int | None:
        if username not in self.managers:
            user = (
                get_user_model()
                ._default_manager.filter(username=username, is_active=True, is_staff=True)
                .values_list("pk", flat=True)
                .first()
            )
            self.managers[username] = user
            if user is not None:
                self.manager_names[user] = username
        return self.managers[username]

    def manager_name(self, pk: int | None) -> str:
        if pk is None:
            return ""
        if pk not in self.manager_names:
            name = (
                get_user_model()._default_manager.filter(pk=pk).values_list("username", flat=True)
            ).first()
            self.manager_names[pk] = name or ""
        return self.manager_names[pk]


def context_for(actor: Any, *, root: bytes | None) -> Context:
    branches = {}
    codes = {}
    for pk, code, active in Branch.objects.values_list("pk", "code", "is_active"):
        codes[pk] = code
        if active:
            branches[normalise_header(code)] = pk
    lookups = {name: choice_lookup(choices, extra) for name, (choices, extra) in CHOICES.items()}
    context = Context(
        actor=actor,
        root=root,
        lookups=lookups,
        branches=branches,
        branch_codes=codes,
        scopes=permission_scopes(actor, MANAGE_PERMISSION),
        kyc_needs_approval=kyc_verification_needs_approval(),
    )
    if root is not None:
        context.digest = crypto.blind_index_for(root, "audit-digest", "text")
    if getattr(actor, "pk", None) is not None:
        context.manager_names[actor.pk] = actor.get_username()
    return context


# --- one row --------------------------------------------------------------------------------


@dataclass
class Row:
    """A row that passed field validation: what the file gives (only its columns), the personal
    data normalised, and the natural key."""

    number: int
    given: dict[str, Any]
    warnings: list[dict[str, str]]
    key_index: str
    customer_number: str


def _choice(context: Context, name: str, value: Any, errors: dict[str, str]) -> str | None:
    raw = text(value)
    if not raw:
        return None
    found = context.lookups[name].get(normalise_header(raw))
    if found is None:
        choices = CHOICES[name][0]
        errors[name] = _("Unknown value “%(value)s”; use one of: %(choices)s.") % {
            "value": raw[:40],
            "choices": ", ".join(choices.values),
        }
    return found


def _pydantic_errors(exc: pydantic.ValidationError, errors: dict[str, str]) -> None:
    for error in exc.errors():
        location = error.get("loc") or ("data",)
        name = str(location[0])
        if name not in errors:
            errors[name] = _translate_pydantic(error)


def _translate_pydantic(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "string_too_long":
        return _("At most %(count)s characters.") % {"count": context.get("max_length")}
    if kind in ("string_too_short", "missing"):
        return _("This value is required.")
    if kind.startswith("date"):
        return _("Not a date; write it as YYYY-MM-DD.")
    if kind == "enum":
        return _("Unknown value.")
    if kind == "value_error":
        return str(context.get("error") or error.get("msg"))
    return str(error.get("msg"))


def check_row(
    context: Context, number: int, values: dict[str, Any]
) -> tuple[Row | None, dict[str, str]]:
    """Field validation of one row (no database access except cached lookups). Blank cells
    are not given (an update keeps the stored value); "-" clears a clearable column."""
    errors: dict[str, str] = {}
    values = given_values(values, COLUMNS)
    data = _parsed_cells(context, values, errors)
    given = _assignment(context, values, errors)
    if errors:
        return None, errors
    try:
        parsed = CustomerData.model_validate(data)
    except pydantic.ValidationError as exc:
        _pydantic_errors(exc, errors)
        return None, errors
    clean = parsed.model_dump(include=set(data))
    warnings: list[dict[str, str]] = []
    _check_identifiers(clean, warnings, errors)
    if errors:
        return None, errors
    given.update(clean)
    customer_number = text(values.get("customer_number", ""))
    return (
        Row(
            number=number,
            given=given,
            warnings=warnings,
            key_index=context.index("identity_number", given["identity_number"]),
            customer_number=customer_number,
        ),
        errors,
    )


def _parsed_cells(
    context: Context, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    """The row's registry fields as `CustomerData` takes them: choices looked up (Chinese and
    English labels), dates parsed, text trimmed; the required ones must be there."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name in CHOICES:
            found = _choice(context, name, value, errors)
            if found is not None:
                data[name] = found
        elif name in ("date_of_birth", "kyc_reviewed_at"):
            try:
                data[name] = parse_date(value)
            except CellInvalid as exc:
                errors[name] = exc.args[0]
        elif name in ("branch", "relationship_manager", "customer_number"):
            continue
        else:
            data[name] = text(value)
    for name in ("kind", "legal_name", "identity_kind", "identity_number"):
        if name not in errors and not data.get(name):
            errors[name] = _("This value is required.")
    return data


def _assignment(context: Context, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The branch (by code) and relationship manager (by username) the row gives, as ids:
    an active branch, an active member of staff; a blank cell gives None."""
    given: dict[str, Any] = {}
    if "branch" in values:
        code = text(values["branch"])
        if code:
            branch_id = context.branches.get(normalise_header(code))
            if branch_id is None:
                errors["branch"] = _("No active branch with the code “%(code)s”.") % {
                    "code": code[:40]
                }
            given["branch_id"] = branch_id
        else:
            given["branch_id"] = None
    if "relationship_manager" in values:
        username = text(values["relationship_manager"])
        if username:
            manager_id = context.manager_id(username)
            if manager_id is None:
                errors["relationship_manager"] = _(
                    "The relationship manager must be an active member of staff."
                )
            given["relationship_manager_id"] = manager_id
        else:
            given["relationship_manager_id"] = None
    return given


def _check_identifiers(
    values: dict[str, Any], warnings: list[dict[str, str]], errors: dict[str, str]
) -> None:
    """Identity document and contacts, exactly as customers.services._check_values does."""
    kind, identity_kind = values["kind"], values["identity_kind"]

    def checked(name: str, check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = check(*args, **kwargs)
        except validators.IdentifierInvalid as exc:
            errors[name] = exc.message
            return None
        for warning in result.warnings:
            warnings.append({"field": name, "code": warning.code, "message": str(warning.message)})
        return result

    if identity_kind not in IDENTITY_KINDS_FOR[CustomerKind(kind)]:
        errors["identity_kind"] = _("This identity document does not fit this kind of customer.")
    elif identity_kind == IdentityKind.OTHER:
        values["identity_number"] = values["identity_number"].strip()
        if not values["identity_number"]:
            errors["identity_number"] = _("Give the document number.")
    else:
        options: dict[str, Any] = {}
        if identity_kind == IdentityKind.PASSPORT:
            options["country"] = values.get("identity_country") or None
        result = checked(
            "identity_number",
            validators.check_identity_document,
            identity_kind,
            values["identity_number"],
            **options,
        )
        if result is not None:
            values["identity_number"] = result.details.get("eighteen_digit", result.value)
            if identity_kind == IdentityKind.PASSPORT:
                values["identity_country"] = result.details.get("country") or ""
            birth_date = result.details.get("birth_date")
            if birth_date is not None:
                given = values.get("date_of_birth")
                if given not in (None, birth_date):
                    errors["date_of_birth"] = _(
                        "The date of birth does not match the resident ID number."
                    )
                values["date_of_birth"] = birth_date
    if identity_kind != IdentityKind.PASSPORT:
        values["identity_country"] = ""  # a country belongs to passports only
    if kind == CustomerKind.ORGANISATION and values.get("date_of_birth") is not None:
        errors["date_of_birth"] = _("An organisation has no date of birth.")
    if values.get("date_of_birth") and values["date_of_birth"] > timezone.localdate():
        errors["date_of_birth"] = _("The date of birth is in the future.")
    for name, check in (("phone", validators.check_phone), ("email", validators.check_email)):
        if values.get(name):
            result = checked(name, check, values[name])
            if result is not None:
                values[name] = result.value


# --- the plan of a batch ----------------------------------------------------------------------


@dataclass
class Plan:
    row: Row
    outcome: str
    customer: Customer | None  # the existing row, or None for a new customer
    values: dict[str, Any]  # every plain field as it will be
    pii: dict[str, str | None]  # every protected field as it will be
    before_pii: dict[str, str | None]
    changed: list[str]


def _defaults(context: Context) -> dict[str, Any]:
    return {
        "identity_country": "",
        "date_of_birth": None,
        "branch_id": getattr(context.actor, "branch_id", None),
        "relationship_manager_id": None,
        "kyc_status": KycStatus.PENDING,
        "kyc_reviewed_at": None,
        "risk_rating": RiskRating.LOW,
        "segment": "",
        "tags": [],
        "phone": None,
        "email": None,
        "address": None,
    }


def plan_batch(
    context: Context, rows: Sequence[Row]
) -> tuple[list[Plan], list[tuple[int, str, str]]]:
    """Match each row with the register (customer number, else identity kind + number through
    the blind index), check scope and the derived rules, and say what would change.
    Returns the plans and the errors (row number, field, message)."""
    errors: list[tuple[int, str, str]] = []
    register = _Register.read(context, rows)
    plans: list[Plan] = []
    for row in rows:
        customer, problem = register.match(row)
        if problem is not None:
            errors.append((row.number, *problem))
            continue
        current_pii = register.clear.get(getattr(customer, "pk", 0))
        plan, row_errors = _plan_row(context, row, customer, current_pii)
        if row_errors:
            errors.extend((row.number, name, message) for name, message in row_errors.items())
        elif plan is not None:
            plans.append(plan)
    return plans, errors


@dataclass
class _Register:
    """The customers a batch's rows name, read in two queries: by customer number and by
    identity blind index; which of them the actor may manage, and their personal data."""

    found: dict[Any, list[Customer]]
    in_scope: set[int]
    clear: dict[int, dict[str, str | None]]

    @classmethod
    def read(cls, context: Context, rows: Sequence[Row]) -> _Register:
        by_number = [row.customer_number for row in rows if row.customer_number]
        by_index = [row.key_index for row in rows if not row.customer_number and row.key_index]
        found: dict[Any, list[Customer]] = {}
        existing: dict[int, Customer] = {}
        if by_number:
            for customer in Customer.objects.filter(customer_number__in=by_number):
                existing[customer.pk] = customer
                found[("n", customer.customer_number)] = [customer]
        if by_index:
            matching = Customer.objects.filter(identity_number_index__in=by_index).order_by("pk")
            for customer in matching:
                existing[customer.pk] = customer
                found.setdefault(
                    ("i", customer.identity_number_index, customer.identity_kind), []
                ).append(customer)
        in_scope: set[int] = set()
        clear: dict[int, dict[str, str | None]] = {}
        if existing:
            in_scope = set(
                scoped(
                    Customer.objects.filter(pk__in=list(existing)),
                    user=context.actor,
                    permission=MANAGE_PERMISSION,
                ).values_list("pk", flat=True)
            )
            visible = [existing[pk] for pk in sorted(in_scope)]
            for customer, pii in zip(visible, pii_read_many(visible, PROTECTED), strict=True):
                clear[customer.pk] = pii
        return cls(found, in_scope, clear)

    def match(self, row: Row) -> tuple[Customer | None, tuple[str, str] | None]:
        """The row's customer (None: a new one), or the field and message saying why the row
        cannot be matched: unknown number, several customers, outside the actor's scope."""
        if row.customer_number:
            matches = self.found.get(("n", row.customer_number), [])
            if not matches:
                return None, ("customer_number", _("No customer has this customer number."))
        else:
            matches = self.found.get(("i", row.key_index, row.given["identity_kind"]), [])
        if len(matches) > 1:
            return None, (
                "identity_number",
                _(
                    "Several customers have this identity number; give the customer number "
                    "to say which one."
                ),
            )
        customer = matches[0] if matches else None
        if customer is not None and customer.pk not in self.in_scope:
            return None, ("identity_number", _("This customer is outside your scope."))
        return customer, None


def _plan_row(
    context: Context, row: Row, customer: Customer | None, current_pii: dict[str, Any] | None
) -> tuple[Plan | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if customer is None:
        values = _defaults(context)
        before_pii: dict[str, str | None] = {name: None for name in PROTECTED}
    else:
        values = {name: getattr(customer, name) for name in PLAIN_FIELDS}
        values["tags"] = list(values["tags"] or [])
        before_pii = dict(current_pii or {})
        values.update(before_pii)
    values.update(row.given)
    if values.get("branch_id") is None:
        values["branch_id"] = getattr(context.actor, "branch_id", None)
        if values["branch_id"] is None:
            errors["branch"] = _("Choose an active branch.")
    if (
        customer is None
        and values.get("relationship_manager_id") is None
        and not context.allows(values["branch_id"], None)
    ):
        values["relationship_manager_id"] = context.actor.pk  # new customers: the importer's
    if values["kind"] == CustomerKind.ORGANISATION and values.get("date_of_birth") is not None:
        errors["date_of_birth"] = _("An organisation has no date of birth.")
    if (
        values["kyc_status"] == KycStatus.VERIFIED
        and getattr(customer, "kyc_status", None) != KycStatus.VERIFIED
        and context.kyc_needs_approval
    ):
        # four eyes: a file cannot do what the form may not (customers.kyc_verify policy)
        errors["kyc_status"] = _(
            "Marking KYC as verified needs a second person: use “Request KYC verification” on "
            "the customer's page."
        )
    reviewed = values.get("kyc_reviewed_at")
    if reviewed is None and values["kyc_status"] == KycStatus.VERIFIED:
        reviewed = values["kyc_reviewed_at"] = context.today
    if reviewed is not None and reviewed > context.today:
        errors["kyc_reviewed_at"] = _("The review date is in the future.")
    values["kyc_next_review_at"] = kyc_next_review(reviewed, values["risk_rating"])
    if not errors and not context.allows(values["branch_id"], values["relationship_manager_id"]):
        name = "relationship_manager" if "relationship_manager_id" in row.given else "branch"
        errors[name] = _("The customer would be outside your scope.")
    if errors:
        return None, errors
    if customer is None or "legal_name" in row.given:
        if customer is not None and customer.legal_name == values["legal_name"]:
            values["name_pinyin"] = customer.name_pinyin
        else:
            values["name_pinyin"] = context.pinyin(values["legal_name"])
    pii = {name: (values.pop(name) or None) for name in PROTECTED}
    if customer is None:
        return Plan(row, RowOutcome.CREATED, None, values, pii, before_pii, list(values)), errors
    changed = [name for name in PLAIN_FIELDS if values[name] != getattr(customer, name)]
    changed += [name for name in PROTECTED if pii[name] != (before_pii.get(name) or None)]
    outcome = RowOutcome.UPDATED if changed else RowOutcome.UNCHANGED
    return Plan(row, outcome, customer, values, pii, before_pii, changed), errors


# --- export ----------------------------------------------------------------------------------


def export_rows(
    context: Context, customers: Any, *, include_pii: bool, batch_size: int = 1000
) -> Any:
    """Rows in COLUMNS order for customers (a scoped queryset), keyset-walked in batches."""
    last = 0
    while True:
        batch = list(customers.filter(pk__gt=last).order_by("pk")[:batch_size])
        if not batch:
            return
        last = batch[-1].pk
        clear = pii_read_many(batch, PROTECTED)
        for customer, pii in zip(batch, clear, strict=True):
            if not include_pii:
                pii = {
                    name: masked(Customer.pii.fields[name].kind, value)
                    for name, value in pii.items()
                }
            yield [
                customer.customer_number,
                customer.kind,
                customer.legal_name,
                customer.identity_kind,
                pii["identity_number"] or "",
                customer.identity_country,
                customer.date_of_birth,
                pii["phone"] or "",
                pii["email"] or "",
                pii["address"] or "",
                context.branch_codes.get(customer.branch_id, ""),
                context.manager_name(customer.relationship_manager_id),
                customer.kyc_status,
                customer.kyc_reviewed_at,
                customer.risk_rating,
                customer.segment,
                ",".join(customer.tags or []),
            ]


def example_row() -> list[str]:
    return [column.example for column in COLUMNS]
