"""Fixtures for the reconciliation app: finance staff, client-money bank accounts with the
identifiers of the statement fixtures, and helpers to post bank transfers and run the CLI."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account
from tests.ledger.conftest import (  # noqa: F401 (fixtures)
    _fast_passwords,
    _fresh_key_cache,
    cash,
    customer,
    finance,
    rm,
)
from tests.reconciliation.fixture_files import statements_dir

FIXTURES = statements_dir()
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"statement fixtures missing: {FIXTURES}"
)


def fixture_path(relative: str) -> Path:
    return FIXTURES / relative


def open_bank(actor, asset: str, code: str, identifier: str = "") -> Account:
    return ledger.account_open(
        actor=actor,
        purpose=AccountPurpose.CLIENT_BANK,
        asset=asset,
        code=code,
        bank_account_identifier=identifier,
    )


@pytest.fixture
def cny_bank(finance) -> Account:  # noqa: F811
    return open_bank(finance, "CNY", "BANK:BOC:CNY", "3167")


@pytest.fixture
def eur_bank(finance) -> Account:  # noqa: F811
    return open_bank(finance, "EUR", "BANK:NL:EUR", "NL71 RABO 0123 4567 89")


@pytest.fixture
def post(finance, cash) -> Callable[..., object]:  # noqa: F811
    """Post a transfer on `bank`: amount > 0 money in (bank debited), < 0 money out."""
    counter = iter(range(1, 10_000))

    def make(bank: Account, amount: int, day: datetime.date, reference: str = ""):
        other = cash
        if other.asset_id != bank.asset_id:
            with transaction.atomic():
                other = ledger.internal_account(
                    asset_code=bank.asset.code, purpose=AccountPurpose.SETTLEMENT
                )
        debit, credit = (bank, other) if amount > 0 else (other, bank)
        with transaction.atomic():
            posted = ledger.post_internal(
                actor=finance,
                specs=[
                    ledger.TransferSpec(
                        debit_account=debit,
                        credit_account=credit,
                        amount=abs(amount),
                        reference=reference,
                        value_date=day,
                        metadata={},
                        idempotency_key=f"test:recon:{next(counter)}",
                    )
                ],
            )
        return posted.transfers[0]

    return make


@pytest.fixture
def run_cli() -> Callable[..., tuple[int, str, str]]:
    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        try:
            call_command("reconcile", *args, stdout=out, stderr=err)
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()

    return run
