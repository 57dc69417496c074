"""Kind-specific details, written with their holding in the caller's transaction: account
numbers (checked, encrypted with the owner customer's data key and blind-indexed), portfolio
positions, loan terms (a new repayment schedule whenever they change) and the simple detail
rows of the other kinds. Shared by registration, update and the loan schedule refresh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import crypto
from cpms.core.errors import ValidationFailed
from cpms.customers import validators
from cpms.holdings import loans
from cpms.holdings.choices import AccountType, HoldingKind
from cpms.holdings.models import (
    AccountDetail,
    ContractDetail,
    DataAssetDetail,
    Holding,
    IntellectualPropertyDetail,
    LoanDetail,
    LoanInstalment,
    MembershipDetail,
    PortfolioPosition,
)
from cpms.holdings.schemas import AccountDetails, PositionIn, parse_details
from cpms.holdings.services._common import LOAN_TERMS, OBJECT_TYPE, POSITION_FIELDS, _plain
from cpms.privacy.services import blind_index_root, pii_assign, value_digest

# kind -> (detail model, fields copied from the schema)
SIMPLE_DETAILS: dict[str, tuple[Any, tuple[str, ...]]] = {
    HoldingKind.MEMBERSHIP: (MembershipDetail, ("programme", "member_number", "tier", "joined_on")),
    HoldingKind.INTELLECTUAL_PROPERTY: (
        IntellectualPropertyDetail,
        ("ip_type", "registration_number", "jurisdiction", "expires_on"),
    ),
    HoldingKind.CONTRACT: (
        ContractDetail,
        ("contract_number", "counterparty", "signed_on", "expires_on"),
    ),
    HoldingKind.DATA_ASSET: (
        DataAssetDetail,
        ("category", "system", "record_count", "lawful_basis", "retention_until"),
    ),
}


# --- accounts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _AccountNumber:
    value: str
    warnings: list[dict[str, str]]


def _check_account_number(account_type: str, number: str) -> _AccountNumber:
    """An IBAN (two letters first) or a card / account number of digits (Luhn failure is a
    warning: some real numbers fail it)."""
    compact = "".join(number.split()).replace("-", "").upper()
    try:
        if account_type != AccountType.CARD and compact[:2].isalpha():
            checked = validators.check_iban(compact)
        else:
            checked = validators.check_bank_card(compact)
    except validators.IdentifierInvalid as exc:
        raise ValidationFailed(
            _("Check the highlighted fields."), fields={"details.number": str(exc.message)}
        ) from None
    warnings = [
        {"field": "number", "code": warning.code, "message": str(warning.message)}
        for warning in checked.warnings
    ]
    return _AccountNumber(checked.value, warnings)


def account_identifier(number: str, *, actor: Any = None) -> str:
    """The identifier of an account holding: the last four digits and a keyed digest of the
    number (stable, so imports find the same holding; never the number itself)."""
    root = blind_index_root(actor=actor)
    digest = crypto.blind_index(root, "holdings.account.identifier", "bank_account", number)
    return f"****{number[-4:]}-{digest[:12]}"


# --- details ------------------------------------------------------------------------------


def _prepare_details(
    kind: str, details: Any, *, creating: bool
) -> tuple[Any, _AccountNumber | None]:
    parsed = parse_details(kind, details)
    number = None
    if isinstance(parsed, AccountDetails):
        if parsed.number:
            number = _check_account_number(parsed.account_type, parsed.number)
        elif creating:
            raise ValidationFailed(
                _("Check the highlighted fields."),
                fields={"details.number": _("Give the account number.")},
            )
    return parsed, number


def _schedule_write(loan: LoanDetail) -> list[LoanInstalment]:
    loan.instalments.all().delete()
    lines = loans.schedule(
        principal_minor=loan.principal_minor,
        annual_rate_percent=loan.annual_rate_percent,
        term_months=loan.term_months,
        method=loan.method,
        start_date=loan.start_date,
    )
    rows = LoanInstalment.objects.bulk_create(
        LoanInstalment(loan=loan, **line.__dict__) for line in lines
    )
    loan.schedule_generated_at = timezone.now()
    loan.save(update_fields=["schedule_generated_at"])
    return rows


def _schedule_audit(actor: Any, loan: LoanDetail, rows: list[LoanInstalment]) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.LOAN_SCHEDULE_GENERATED,
        object_type=OBJECT_TYPE,
        object_id=loan.holding_id,
        after={
            **{name: _plain(getattr(loan, name)) for name in LOAN_TERMS},
            "instalments": len(rows),
            "total_interest_minor": sum(row.interest_minor for row in rows),
            "total_payment_minor": sum(row.payment_minor for row in rows),
        },
    )


def _position_values(position: PositionIn | PortfolioPosition) -> dict[str, Any]:
    return {name: _plain(getattr(position, name)) for name in POSITION_FIELDS}


def _account_write(
    actor: Any, holding: Holding, parsed: Any, number: _AccountNumber | None
) -> tuple[dict[str, Any], str | None]:
    """The account row; a number given is encrypted and its digest returned for the audit."""
    digest = None
    account = AccountDetail.objects.filter(holding=holding).first() or AccountDetail(
        holding=holding, customer_id=holding.customer_id
    )
    account.account_type = parsed.account_type
    account.institution = parsed.institution
    if account.pk is None:
        account.save()
    fields = ["account_type", "institution"]
    if number is not None:
        fields += pii_assign(actor=actor, instance=account, values={"number": number.value})
        account.data_warnings = number.warnings
        fields.append("data_warnings")
        digest = value_digest(number.value, actor=actor)
    account.save(update_fields=fields)
    return {"account_type": account.account_type, "institution": account.institution}, digest


def _positions_write(holding: Holding, parsed: Any) -> dict[str, Any]:
    """The opening positions of a portfolio (later changes go through the position services)."""
    now = timezone.now()
    PortfolioPosition.objects.bulk_create(
        PortfolioPosition(holding=holding, created_at=now, updated_at=now, **dict(position))
        for position in parsed.positions
    )
    return {"positions": [_position_values(position) for position in parsed.positions]}


def _loan_write(actor: Any, holding: Holding, parsed: Any) -> tuple[dict[str, Any], bool]:
    """The loan terms; a new schedule (and its audit entry) only when they change."""
    loan = LoanDetail.objects.filter(holding=holding).first()
    values = {name: getattr(parsed, name) for name in LOAN_TERMS}
    changed = loan is None or any(getattr(loan, k) != v for k, v in values.items())
    if loan is None:
        loan = LoanDetail.objects.create(holding=holding, **values)
    else:
        for name, value in values.items():
            setattr(loan, name, value)
        loan.save(update_fields=list(values))
    if changed:
        _schedule_audit(actor, loan, _schedule_write(loan))
    return {name: _plain(value) for name, value in values.items()}, changed


def _details_write(
    *, actor: Any, holding: Holding, parsed: Any, number: _AccountNumber | None
) -> tuple[dict[str, Any], str | None, bool]:
    """Create or change the detail rows of `holding`. Returns the audit snapshot of the
    details, the account-number digest (or None) and whether a loan schedule was generated."""
    kind = holding.kind
    digest = None
    scheduled = False
    if kind == HoldingKind.ACCOUNT:
        snapshot, digest = _account_write(actor, holding, parsed, number)
    elif kind == HoldingKind.PORTFOLIO:
        snapshot = _positions_write(holding, parsed)
    elif kind == HoldingKind.LOAN:
        snapshot, scheduled = _loan_write(actor, holding, parsed)
    else:
        model, names = SIMPLE_DETAILS[kind]
        values = {name: getattr(parsed, name) for name in names}
        model.objects.update_or_create(holding=holding, defaults=values)
        snapshot = {name: _plain(value) for name, value in values.items()}
    return snapshot, digest, scheduled


def details_snapshot(holding: Holding) -> dict[str, Any] | None:
    """The stored details of a holding as plain values (no account number)."""
    kind = holding.kind
    if kind == HoldingKind.ACCOUNT:
        account = AccountDetail.objects.filter(holding=holding).first()
        if account is None:
            return None
        return {"account_type": account.account_type, "institution": account.institution}
    if kind == HoldingKind.LOAN:
        loan = LoanDetail.objects.filter(holding=holding).first()
        return None if loan is None else {name: getattr(loan, name) for name in LOAN_TERMS}
    if kind in SIMPLE_DETAILS:
        model, names = SIMPLE_DETAILS[kind]
        row = model.objects.filter(holding=holding).first()
        return None if row is None else {name: getattr(row, name) for name in names}
    return None
