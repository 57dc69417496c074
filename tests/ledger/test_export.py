"""Journal export cross-checked by independent tools: hledger, ledger and beancount read the
exported journal with exactly the per-account balances CPMS reports (trial balance)."""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import CpmsError, ValidationFailed
from cpms.ledger import export, selectors, services
from cpms.ledger.assets import format_minor
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.users.choices import Role

pytestmark = pytest.mark.django_db

HLEDGER = shutil.which("hledger")
LEDGER = shutil.which("ledger")
BEAN_CHECK = shutil.which("bean-check") or shutil.which(
    "bean-check", path=str(Path(sys.executable).parent)
)
try:
    from beancount import loader as bean_loader
except ImportError:  # pragma: no cover - depends on the environment
    bean_loader = None

DAY = datetime.date(2026, 3, 2)


def test_cross_check_tools__present_when_required():
    """CI sets CPMS_REQUIRE_LEDGER_TOOLS=1: there the cross-checks must run, never skip."""
    if os.environ.get("CPMS_REQUIRE_LEDGER_TOOLS") != "1":
        pytest.skip("CPMS_REQUIRE_LEDGER_TOOLS is not set")
    missing = [
        name
        for name, found in (
            ("hledger", HLEDGER),
            ("ledger", LEDGER),
            ("bean-check", BEAN_CHECK),
            ("beancount", bean_loader),
        )
        if found is None
    ]
    assert missing == []


def _open(customer=None, **kwargs) -> Account:
    with transaction.atomic():
        if customer is not None:
            return services.customer_account(customer=customer, **kwargs)
        return services.internal_account(**kwargs)


def _post(actor, debit, credit, amount, *, days=0, **extra):
    with transaction.atomic():
        return services.post_internal(
            actor=actor,
            specs=[
                services.TransferSpec(
                    debit_account=debit,
                    credit_account=credit,
                    amount=amount,
                    reference=extra.pop("reference", f"T {amount}"),
                    value_date=DAY + datetime.timedelta(days=days),
                    **extra,
                )
            ],
        ).transfers[0]


@pytest.fixture
def generated(finance, customer, other_customer):
    """A small ledger over CNY, KWD (3 decimals), JPY (0 decimals), points and units, with
    holds (open, posted, voided, awaiting approval), reversals and a linked batch."""
    accounts = {}
    for code in ("CNY", "KWD", "JPY"):
        accounts[f"bank:{code}"] = _open(asset_code=code, purpose=AccountPurpose.CLIENT_BANK)
        accounts[f"fees:{code}"] = _open(asset_code=code, purpose=AccountPurpose.FEES)
        for who, person in (("a", customer), ("b", other_customer)):
            accounts[f"{who}:{code}"] = _open(
                person, asset_code=code, purpose=AccountPurpose.CUSTOMER_CASH
            )
    accounts["issuance"] = _open(asset_code="PTS", purpose=AccountPurpose.POINTS_ISSUANCE)
    accounts["breakage"] = _open(asset_code="PTS", purpose=AccountPurpose.POINTS_BREAKAGE)
    accounts["a:PTS"] = _open(customer, asset_code="PTS", purpose=AccountPurpose.CUSTOMER_POINTS)
    accounts["custody"] = _open(asset_code="U:600519.SH", purpose=AccountPurpose.UNITS_CUSTODY)
    accounts["a:U"] = _open(
        customer, asset_code="U:600519.SH", purpose=AccountPurpose.CUSTOMER_UNITS
    )
    a = accounts
    _post(finance, a["bank:CNY"], a["a:CNY"], 1_234_567, reference='Deposit "one"; x')
    _post(finance, a["bank:CNY"], a["b:CNY"], 99, days=1)
    _post(finance, a["a:CNY"], a["fees:CNY"], 1_001, days=2)
    _post(finance, a["bank:KWD"], a["a:KWD"], 10_505, days=1)  # 10.505 KWD
    _post(finance, a["a:KWD"], a["b:KWD"], 1, days=3)  # 0.001 KWD
    _post(finance, a["bank:JPY"], a["b:JPY"], 150_000, days=2)
    wrong = _post(finance, a["b:JPY"], a["fees:JPY"], 777, days=3)
    _post(finance, a["issuance"], a["a:PTS"], 5_000, days=1)
    _post(finance, a["a:PTS"], a["breakage"], 120, days=5)
    _post(finance, a["custody"], a["a:U"], 1_234_5678, days=4)  # 1,234.5678 units
    # reversals
    services.transfer_reverse(actor=finance, transfer_id=wrong.pk, reason="wrong fee")
    # holds: one posted, one voided, one still open
    later = timezone.now() + datetime.timedelta(days=1)
    held = [
        _post(finance, a["a:CNY"], a["fees:CNY"], amount, pending=True, expires_at=later)
        for amount in (300, 400, 500)
    ]
    services.hold_post(actor=finance, transfer_id=held[0].pk)
    services.hold_void(actor=finance, transfer_id=held[1].pk, reason="no")
    # a linked batch through the public service
    services.transfers_post(
        actor=finance,
        items=[
            {
                "debit_account": a["bank:CNY"].code,
                "credit_account": a["b:CNY"].code,
                "amount_minor": 2_000,
                "reference": "batch 1",
            },
            {
                "debit_account": a["b:CNY"].code,
                "credit_account": a["fees:CNY"].code,
                "amount_minor": 50,
                "reference": "batch 2",
            },
        ],
    )
    # above the approval threshold: held awaiting approval (not a posting)
    services.transfer_post(
        actor=finance,
        data={
            "debit_account": a["bank:CNY"].code,
            "credit_account": a["a:CNY"].code,
            "amount_minor": 6_000_000,
            "reference": "big",
        },
    )
    assert Transfer.objects.filter(kind="pending").count() == 4
    return accounts


def expected_balances() -> dict[str, Decimal]:
    """Non-zero posted balance (debits - credits) per journal account name, from CPMS."""
    names = export.account_names()
    result = {}
    for row in selectors.trial_balance():
        if row.net_debit:
            result[names[row.account_id].name] = Decimal(format_minor(row.net_debit, row.exponent))
    return result


def write(fmt: str, path: Path, through=None) -> export.ExportResult:
    with path.open("w", encoding="utf-8") as stream:
        return export.write_journal(stream, fmt=fmt, through=through)


_AMOUNT = re.compile(r'^(-?[0-9.]+)\s+"?([A-Z][A-Z0-9\'._-]*)"?$')


def _amount(text: str) -> tuple[Decimal, str]:
    match = _AMOUNT.match(text.strip())
    assert match, text
    return Decimal(match.group(1)), match.group(2)


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def hledger_balances(path: Path) -> dict[str, Decimal]:
    out = _run(HLEDGER, "-f", str(path), "bal", "--flat", "-N", "-O", "csv")
    result = {}
    for row in list(csv.reader(io.StringIO(out)))[1:]:
        value, _ = _amount(row[1])
        if value:
            result[row[0]] = value
    return result


def ledger_balances(path: Path) -> dict[str, Decimal]:
    out = _run(
        LEDGER,
        "-f",
        str(path),
        "bal",
        "--flat",
        "--no-total",
        "--balance-format",
        "%(account)\t%(display_total)\n",
    )
    result = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        name, total = line.split("\t")
        value, _ = _amount(total)
        if value:
            result[name.strip()] = value
    return result


def beancount_balances(path: Path) -> dict[str, Decimal]:
    entries, errors, _options = bean_loader.load_file(str(path))
    assert not errors, errors
    result: dict[str, Decimal] = {}
    for entry in entries:
        for posting in getattr(entry, "postings", None) or ():
            result[posting.account] = result.get(posting.account, Decimal(0)) + (
                posting.units.number
            )
    return {name: value for name, value in result.items() if value}


# ---------------------------------------------------------------------------- mapping


def test_commodity__units_points_and_currencies_are_legal_names():
    assert export.commodity("CNY") == "CNY"
    assert export.commodity("PTS") == "PTS"
    assert export.commodity("U:600519.SH") == "U600519.SH"
    assert export.commodity("U:CN0001234567") == "UCN0001234567"


def test_account_names__follow_purpose_and_customer(generated, customer):
    names = export.account_names()
    a = generated
    assert names[a["bank:CNY"].pk].name == "Assets:ClientBank:CNY"
    assert names[a["a:CNY"].pk].name == f"Liabilities:Customers:C{customer.pk}:Cash:CNY"
    assert names[a["a:U"].pk].name == f"Liabilities:Customers:C{customer.pk}:Units:U600519-SH"
    assert names[a["a:U"].pk].commodity == "U600519.SH"
    assert names[a["fees:KWD"].pk].name == "Income:Fees:KWD"
    assert names[a["issuance"].pk].name == "Expenses:PointsIssuance:PTS"
    assert len({info.name for info in names.values()}) == len(names)


def test_write_journal__only_postings_are_written(generated, tmp_path):
    result = write("ledger", tmp_path / "x.journal")
    posted = Transfer.objects.filter(kind__in=("posted", "post_pending")).count()
    assert result.transfers == posted == 14
    text = (tmp_path / "x.journal").read_text()
    assert text.count("\n    ; cpms-id: ") == 14
    assert "big" not in text  # held for approval: not a posting
    assert '1234.5678 "U600519.SH"' in text
    assert "10.505 KWD" in text
    assert "150000 JPY" in text


def test_write_journal__account_opened_during_export_is_declared(
    generated, customer, tmp_path, monkeypatch
):
    whole = export.account_names
    late = generated["a:U"].pk

    def without_units(pks=None, used=None):
        names = whole(pks, used)
        if pks is None:  # the header's load misses the account opened "meanwhile"
            names.pop(late)
        return names

    monkeypatch.setattr(export, "account_names", without_units)
    write("beancount", tmp_path / "late.beancount")
    write("ledger", tmp_path / "late.journal")
    monkeypatch.setattr(export, "account_names", whole)
    text = (tmp_path / "late.beancount").read_text()
    name = f"Liabilities:Customers:C{customer.pk}:Units:U600519-SH"
    assert f"\n1970-01-01 open {name} U600519.SH\n" in text
    assert "1970-01-01 commodity" not in text  # U600519.SH was declared for the custody side
    assert text.count("open Liabilities:Customers:") == 8  # each once
    if bean_loader is not None:
        assert beancount_balances(tmp_path / "late.beancount") == expected_balances()
    if HLEDGER is not None:
        assert hledger_balances(tmp_path / "late.journal") == expected_balances()


def test_write_journal__through_date_stops_at_value_date(generated, tmp_path):
    result = write("ledger", tmp_path / "x.journal", through=DAY)
    assert result.transfers == 1


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


def test_journal_export__records_audit_entry(generated, auditor, tmp_path):
    with (tmp_path / "x.bean").open("w") as stream:
        result = export.journal_export(actor=auditor, stream=stream, fmt="beancount")
    entry = AuditEntry.objects.get(action="ledger.exported")
    assert entry.after["transfers"] == result.transfers == 14
    assert entry.after["format"] == "beancount"
    assert entry.after["sha256"] == result.sha256


def test_journal_export__branch_scope_is_refused(generated, finance):
    stream = io.StringIO()
    with pytest.raises(ValidationFailed) as caught:
        export.journal_export(actor=finance, stream=stream, fmt="ledger")
    assert "actor" in caught.value.fields
    assert stream.getvalue() == ""
    assert not AuditEntry.objects.filter(action="ledger.exported").exists()


def test_journal_export__without_ledger_view_is_refused(generated, rm):
    stream = io.StringIO()
    with pytest.raises(CpmsError) as caught:
        export.journal_export(actor=rm, stream=stream, fmt="ledger")
    assert caught.value.code == "permission_denied"
    assert stream.getvalue() == ""
    assert not AuditEntry.objects.filter(action="ledger.exported").exists()


def test_write_journal__unknown_format_is_refused(tmp_path):
    with pytest.raises(ValidationFailed) as caught:
        export.write_journal(io.StringIO(), fmt="gnucash")
    assert "format" in caught.value.fields


# ---------------------------------------------------------------------------- cross-check


@pytest.mark.skipif(HLEDGER is None, reason="hledger is not installed (apt-get install hledger)")
def test_export__hledger_balances_equal_cpms(generated, tmp_path):
    path = tmp_path / "cpms.journal"
    write("ledger", path)
    expected = expected_balances()
    assert len(expected) == 14
    assert hledger_balances(path) == expected


@pytest.mark.skipif(LEDGER is None, reason="ledger is not installed (apt-get install ledger)")
def test_export__ledger_balances_equal_cpms(generated, tmp_path):
    path = tmp_path / "cpms.journal"
    write("ledger", path)
    assert ledger_balances(path) == expected_balances()


@pytest.mark.skipif(
    bean_loader is None or BEAN_CHECK is None,
    reason="beancount is not installed (pip install beancount)",
)
def test_export__beancount_balances_equal_cpms(generated, tmp_path):
    path = tmp_path / "cpms.beancount"
    write("beancount", path)
    done = subprocess.run(
        [BEAN_CHECK, str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert beancount_balances(path) == expected_balances()
