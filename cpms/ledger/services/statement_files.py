"""Statement files (PDF, XLSX): an audited sensitive read. The PDF carries the customer's
postal address, decrypted through the privacy layer with the reveal recorded and counted."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger import selectors, statements
from cpms.ledger.models import VIEW_PERMISSION, Account
from cpms.ledger.services._shared import ACCOUNT_OBJECT
from cpms.privacy.errors import RateLimited
from cpms.privacy.protected import ERASED, pii_read
from cpms.privacy.services import reveal_budget_charge

STATEMENT_REVEAL_REASON = "account statement for the customer"


def _statement_holder(
    actor: Any, account: Account, *, with_address: bool
) -> statements.Holder | None:
    """The customer a statement is for. The PDF goes to the customer and carries their postal
    address: it is decrypted through the privacy layer and the reveal is recorded
    (`pii.revealed`, field "address", counted against the actor's reveal budget) in the
    caller's transaction."""
    customer = account.customer if account.customer_id else None
    if customer is None:
        return None
    address = ""
    if with_address:
        reveal_budget_charge(
            actor=actor,
            object_type=customer._meta.label_lower,
            object_id=str(customer.pk),
            reason=STATEMENT_REVEAL_REASON,
            details={"field": "address", "purpose": "ledger.statement", "account": account.code},
        )
        address = pii_read(customer, "address") or ""
        if address == ERASED:
            address = ""
    return statements.Holder(
        name=customer.legal_name, number=customer.customer_number, address=address
    )


def _export_audit(actor: Any, account: Account, statement: Any, fmt: str, content: bytes) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.STATEMENT_EXPORTED,
        object_type=ACCOUNT_OBJECT,
        object_id=account.pk,
        after={
            "account": account.code,
            "start": statement.start.isoformat(),
            "end": statement.end.isoformat(),
            "format": fmt,
            "lines": len(statement.lines),
            "opening_minor": statement.opening,
            "closing_minor": statement.closing,
            "bytes": len(content),
        },
    )


def _reveal_refused(actor: Any, account_ref: Any, exc: RateLimited) -> None:
    """The address reveal was refused (reveal budget used up): nothing was exported; the
    refusal is recorded like every refused reveal."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.PII_REVEAL_REFUSED,
            object_type=ACCOUNT_OBJECT,
            object_id=str(account_ref),
            after={"field": "address", "refusal": exc.code, "purpose": "ledger.statement"},
            reason=STATEMENT_REVEAL_REASON,
        )


def statement_export(
    *, actor: Any, account_ref: Any, start: Any, end: Any, fmt: str
) -> statements.StatementFile:
    """The statement of one account in scope as a PDF or XLSX file; records
    `ledger.statement_exported` (account, period, format, size) in the same transaction."""
    fmt = (fmt or "").lower()
    if fmt not in statements.FORMATS:
        raise ValidationFailed(
            _("Unknown statement format."), fields={"format": _("Use pdf or xlsx.")}
        )
    start, end = statements.validate_period(start, end)
    try:
        with transaction.atomic():
            account = selectors.account_get_for_user(
                user=actor, ref=account_ref, permission=VIEW_PERMISSION
            )
            statement = selectors.account_statement(account, start=start, end=end)
            holder = _statement_holder(actor, account, with_address=fmt == "pdf")
            content = (
                statements.render_pdf(statement, holder=holder)
                if fmt == "pdf"
                else statements.render_xlsx(statement, holder=holder)
            )
            _export_audit(actor, account, statement, fmt, content)
    except RateLimited as exc:
        _reveal_refused(actor, account_ref, exc)
        raise
    return statements.StatementFile(
        statements.filename(statement, fmt), statements.CONTENT_TYPES[fmt], content, statement
    )
