"""`cpms reconcile` with the real statement fixtures.

Fixtures in ../shared/fixtures/statements/: mt940/cmxl_mt940.sta (cmxl, MIT), mt940/jejik_*
(jejik/mt940, MIT), camt/genkgo_* (genkgo/camt, MIT), csv_cn/* (deb-sig/double-entry-generator,
Apache-2.0), self-provided_* (written for this project); see the LICENSE files beside them.
"""

from __future__ import annotations

import pytest

from cpms.audit.models import AuditEntry
from cpms.reconciliation.choices import BreakKind
from cpms.reconciliation.models import BankStatement, BankStatementLine, Break, Match
from tests.reconciliation.conftest import fixture_path, needs_fixtures, open_bank

pytestmark = [needs_fixtures, pytest.mark.django_db]


def _counts() -> tuple[int, int, int, int, int]:
    return (
        BankStatement.objects.count(),
        BankStatementLine.objects.count(),
        Match.objects.count(),
        Break.objects.count(),
        AuditEntry.objects.filter(action__startswith="reconciliation.").count(),
    )


def test_reconcile_import__boc_csv_adds_up_exit_0(run_cli, cny_bank):
    code, out, err = run_cli("import", str(fixture_path("csv_cn/boc_debit.csv")))
    assert (code, err) == (0, "")
    statement = BankStatement.objects.get()
    assert statement.account == cny_bank
    assert (statement.format, statement.profile, statement.consistent) == ("csv", "boc", True)
    assert (statement.opening_minor, statement.closing_minor) == (281358, 324028)
    assert statement.lines.count() == 17
    assert "adds up" in out


def test_reconcile_import__cmb_csv_does_not_add_up_exit_3(run_cli, cny_bank):
    code, out, _err = run_cli(
        "import", str(fixture_path("csv_cn/cmb_debit.csv")), "--account", "BANK:BOC:CNY"
    )
    assert code == 3
    statement = BankStatement.objects.get()
    assert statement.consistent is False
    assert (
        statement.problems[0]
        == "row 5 (2024-01-20): balance 123.45, expected 271.66 - 1,000.00 = -728.34."
    )
    flagged = Break.objects.get(kind=BreakKind.STATEMENT_INCONSISTENT)
    assert flagged.statement == statement
    assert AuditEntry.objects.filter(action="reconciliation.statement_flagged").count() == 1
    assert "DOES NOT ADD UP" in out


def test_reconcile_import__cmb_without_account_refused_exit_2(run_cli, cny_bank):
    code, _out, err = run_cli("import", str(fixture_path("csv_cn/cmb_debit.csv")))
    assert code == 2
    assert "names no bank account" in err
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__camt_multi_statement_exit_0(run_cli, finance):
    bank = open_bank(finance, "EUR", "BANK:VAYB:EUR", "NL26VAYB8060476890")
    code, _out, err = run_cli(
        "import", str(fixture_path("camt/genkgo_camt053.v2.multi.statement.xml"))
    )
    assert (code, err) == (0, "")
    statements = BankStatement.objects.order_by("position")
    assert [s.statement_id for s in statements][:2] == [
        "253EURNL26VAYB8060476890",
        "254EURNL26VAYB8060476890",
    ]
    assert all(s.account == bank and s.consistent for s in statements)
    assert len({s.file_sha256 for s in statements}) == 1


def test_reconcile_import__rabobank_mt940_exit_0(run_cli, eur_bank):
    code, _out, err = run_cli("import", str(fixture_path("mt940/jejik_rabobank-iban.sta")))
    assert (code, err) == (0, "")
    assert BankStatement.objects.filter(account=eur_bank).count() == 2
    assert BankStatementLine.objects.count() == 4


def test_reconcile_import__cmxl_unknown_dem_account_exit_2(run_cli, eur_bank):
    # the first statement is in DEM (no such asset, so no bank account can hold it)
    code, _out, err = run_cli("import", str(fixture_path("mt940/cmxl_mt940.sta")))
    assert code == 2
    assert "45050050/76198810 (DEM)" in err
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__currency_mismatch_with_account_exit_2(run_cli, eur_bank, cny_bank):
    code, _out, err = run_cli(
        "import", str(fixture_path("mt940/jejik_rabobank-iban.sta")), "--account", cny_bank.code
    )
    assert code == 2
    assert "is in EUR but bank account BANK:BOC:CNY is in CNY" in err
    assert _counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("mt940/self-provided_february_30.sta", "line 6: 30 February is not a date"),
        ("mt940/self-provided_invalid_statement.sta", "not a recognised bank statement"),
        ("camt/genkgo_camt053.v2.wrong.xml", "has no <Stmt> element"),
    ],
)
def test_reconcile_import__broken_fixture_refused_exit_2(run_cli, eur_bank, name, message):
    code, out, err = run_cli("import", str(fixture_path(name)), "--account", eur_bank.code)
    assert code == 2
    assert message in err
    assert out == ""
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__unknown_account_exit_2(run_cli, cny_bank):
    code, _out, err = run_cli(
        "import", str(fixture_path("csv_cn/boc_debit.csv")), "--account", "NOPE"
    )
    assert code == 2
    assert "No client-money bank account has the code or id NOPE." in err
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__wrong_format_exit_2(run_cli, eur_bank):
    code, _out, err = run_cli(
        "import", str(fixture_path("mt940/jejik_rabobank-iban.sta")), "--format", "camt053"
    )
    assert code == 2
    assert "use format mt940" in err
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__unknown_profile_exit_2(run_cli, cny_bank):
    code, _out, err = run_cli(
        "import", str(fixture_path("csv_cn/boc_debit.csv")), "--profile", "nope"
    )
    assert code == 2
    assert "No CSV profile is named nope (known: boc, cmb)." in err
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__same_file_twice_refused_exit_2(run_cli, cny_bank):
    path = str(fixture_path("csv_cn/boc_debit.csv"))
    assert run_cli("import", path)[0] == 0
    before = _counts()
    code, _out, err = run_cli("import", path)
    assert code == 2
    assert "was imported already for bank account BANK:BOC:CNY" in err
    assert _counts() == before


def test_reconcile_import__actor_without_permission_exit_2(run_cli, cny_bank, rm):
    code, _out, err = run_cli(
        "import", str(fixture_path("csv_cn/boc_debit.csv")), "--actor", rm.username
    )
    assert code == 2
    assert "You do not have the permission" in err
    assert _counts() == (0, 0, 0, 0, 0)


def test_reconcile_import__actor_audited(run_cli, cny_bank, finance):
    code, _out, _err = run_cli(
        "import", str(fixture_path("csv_cn/boc_debit.csv")), "--actor", finance.username
    )
    assert code == 0
    entry = AuditEntry.objects.get(action="reconciliation.statement_imported")
    assert entry.actor_id == finance.pk
    assert entry.after["lines"] == 17


def test_reconcile_accounts__lists_bank_accounts(run_cli, cny_bank, eur_bank, post):
    import datetime

    post(cny_bank, 12345, datetime.date(2025, 8, 1))
    code, out, _err = run_cli("accounts")
    assert code == 0
    assert out.splitlines() == [
        "BANK:BOC:CNY\tCNY\t3167\t123.45",
        "BANK:NL:EUR\tEUR\tNL71RABO0123456789\t0.00",
    ]
