"""Import outcomes beyond adds up / does not add up (issue 10 item 12): a statement without
balances is imported and matched but reported "balance not checkable"; a statement whose
currency has no bank account refuses only that statement; messages go through gettext."""

from __future__ import annotations

import base64
import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.core.errors import CpmsError
from cpms.reconciliation import selectors, services
from cpms.reconciliation.choices import BalanceCheck, BreakKind
from cpms.reconciliation.management.commands import reconcile as reconcile_command
from cpms.reconciliation.models import BankStatement, Break, Match
from tests.reconciliation.conftest import open_bank
from tests.reconciliation.helpers import mt940
from tests.reconciliation.test_formats_real_exports import ALIPAY, FILES

pytestmark = pytest.mark.django_db
D = datetime.date


def _two_currencies() -> bytes:
    """One IBAN, a EUR and a USD statement (a multi-currency account)."""
    eur = mt940(
        [(D(2025, 3, 3), 10000, "EUR-1")],
        account="NL71RABO0123456789",
        currency="EUR",
        statement="S-EUR",
    )
    usd = mt940(
        [(D(2025, 3, 3), 2500, "USD-1")],
        account="NL71RABO0123456789",
        currency="USD",
        statement="S-USD",
    )
    return eur + usd


# ------------------------------------------------------------------------ not checkable


def test_statement_import__no_balance_is_not_checkable_not_flagged_and_matched(
    finance, cny_bank, post
):
    services.profile_save(actor=finance, data=ALIPAY)
    transfer = post(cny_bank, 100000, D(2025, 3, 20), "2025032022001")

    result = services.statement_import(
        actor=finance,
        data=(FILES / "alipay_like.csv").read_bytes(),
        filename="alipay.csv",
        account=cny_bank.code,
    )

    (statement,) = result.statements
    assert statement.balance_check == BalanceCheck.NOT_CHECKABLE
    assert (statement.consistent, statement.problems) == (False, [])
    assert result.flagged == [] and result.consistent is True
    assert result.not_checkable == [statement]
    assert statement.lines.count() == 4
    assert Match.objects.get().transfer == transfer
    assert not Break.objects.filter(kind=BreakKind.STATEMENT_INCONSISTENT).exists()
    assert not AuditEntry.objects.filter(action="reconciliation.statement_flagged").exists()
    entry = AuditEntry.objects.get(action="reconciliation.statement_imported")
    assert entry.after["balance_check"] == "not_checkable"


def test_statement_import__balance_check_of_the_other_states(finance, cny_bank):
    good = services.statement_import(actor=finance, data=mt940([(D(2025, 3, 3), 500, "A")]))
    bad = services.statement_import(
        actor=finance, data=mt940([(D(2025, 3, 4), 500, "B")], closing=1, statement="X")
    )
    assert good.statements[0].balance_check == BalanceCheck.ADDS_UP
    assert bad.statements[0].balance_check == BalanceCheck.DOES_NOT_ADD_UP


# ------------------------------------------------------------------ per-statement refusal


def test_statement_import__currency_without_account_refuses_only_that_statement(finance, eur_bank):
    result = services.statement_import(actor=finance, data=_two_currencies(), filename="two.sta")

    (statement,) = result.statements
    assert (statement.statement_id, statement.account, statement.position) == (
        "S-EUR/1",
        eur_bank,
        0,
    )
    (refused,) = result.refused
    assert (refused.position, refused.statement_id, refused.currency) == (1, "S-USD/1", "USD")
    assert refused.reason == (
        "statement 2 (S-USD/1) is in USD but bank account BANK:NL:EUR is in EUR. Open a "
        "client-money bank account in USD with this identifier (cpms ledger open-account) or "
        "give --account CODE."
    )
    assert BankStatement.objects.count() == 1
    entry = AuditEntry.objects.get(action="reconciliation.statement_imported")
    assert entry.after["statement_id"] == "S-EUR/1"


def test_statement_import__refused_statement_imported_once_its_account_exists(finance, eur_bank):
    data = _two_currencies()
    services.statement_import(actor=finance, data=data, filename="two.sta")
    usd_bank = open_bank(finance, "USD", "BANK:NL:USD", "NL71 RABO 0123 4567 89")

    again = services.statement_import(actor=finance, data=data, filename="two.sta")

    assert [(s.statement_id, s.account, s.position) for s in again.statements] == [
        ("S-USD/1", usd_bank, 1)
    ]
    assert [s.statement_id for s in again.already_imported] == ["S-EUR/1"]
    assert again.refused == []
    assert BankStatement.objects.count() == 2
    with pytest.raises(CpmsError) as duplicate:
        services.statement_import(actor=finance, data=data, filename="two.sta")
    assert duplicate.value.code == "reconciliation.duplicate_statement"


def test_statement_import__every_statement_refused_writes_nothing(finance, cny_bank):
    with pytest.raises(CpmsError) as caught:
        services.statement_import(actor=finance, data=_two_currencies())
    assert caught.value.code == "reconciliation.refused"
    assert caught.value.message == (
        "No statement of the file can be imported: statement 1 (S-EUR/1) is for bank account "
        "NL71RABO0123456789 (EUR): no client-money bank account has this identifier. Set it on "
        "the ledger account or give --account CODE. statement 2 (S-USD/1) is for bank account "
        "NL71RABO0123456789 (USD): no client-money bank account has this identifier. Set it on "
        "the ledger account or give --account CODE."
    )
    assert set(caught.value.fields) == {"account"}
    assert BankStatement.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="reconciliation.").exists()


# ------------------------------------------------------------------------------- CLI


def test_reconcile_import__partial_refusal_exit_4_and_not_checkable_exit_0(
    run_cli, finance, eur_bank, cny_bank, tmp_path
):
    path = tmp_path / "two.sta"
    path.write_bytes(_two_currencies())
    code, out, err = run_cli("import", str(path))
    assert code == 4
    assert "S-EUR/1 -> BANK:NL:EUR (EUR): 1 lines, adds up" in out
    assert err.startswith(
        "Not imported: statement 2 (S-USD/1) is in USD but bank account BANK:NL:EUR is in EUR."
    )
    services.profile_save(actor=finance, data=ALIPAY)
    code, out, err = run_cli("import", str(FILES / "alipay_like.csv"), "--account", cny_bank.code)
    assert (code, err) == (0, "")
    assert "-> BANK:BOC:CNY (CNY): 4 lines, balance not checkable" in out


def test_reconcile_import__every_message_goes_through_gettext(
    run_cli, cny_bank, tmp_path, monkeypatch
):
    # given: a gettext that marks what it translated
    monkeypatch.setattr(reconcile_command, "_", lambda text: f"«{text}»", raising=False)
    good = tmp_path / "good.sta"
    good.write_bytes(mt940([(D(2025, 3, 3), 500, "A")]))
    bad = tmp_path / "bad.sta"
    bad.write_bytes(mt940([(D(2025, 3, 3), 500, "A")], closing=1, statement="B"))
    # when
    _code, out_good, _err = run_cli("import", str(good))
    code, out_bad, _err = run_cli("import", str(bad))
    refused_code, _out, err = run_cli("import", str(tmp_path / "missing.sta"))
    # then: no English phrase is printed untranslated
    assert code == 3 and refused_code == 2
    assert "«adds up»" in out_good and "«DOES NOT ADD UP»" in out_bad
    assert err.startswith("«Refused: «no such file: ")
    for line in (out_good + out_bad).splitlines():
        if not line.startswith("  "):  # problem lines come translated from the parser
            assert line.startswith("«"), line


# ------------------------------------------------------------------------ API, console


@pytest.fixture
def api(finance, token_for) -> Client:
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {token_for(finance, scopes=['ledger:write'])}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_api_import__refused_statements_and_balance_check(api, eur_bank):
    response = api.post(
        "/api/v1/reconciliation/statements/base64",
        {"content_base64": base64.b64encode(_two_currencies()).decode(), "filename": "t.sta"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [s["balance_check"] for s in body["statements"]] == ["adds_up"]
    assert body["refused"] == [
        {
            "position": 1,
            "statement_id": "S-USD/1",
            "account_identifier": "NL71RABO0123456789",
            "currency": "USD",
            "reason": "statement 2 (S-USD/1) is in USD but bank account BANK:NL:EUR is in EUR. "
            "Open a client-money bank account in USD with this identifier (cpms ledger "
            "open-account) or give --account CODE.",
        }
    ]


def test_console_upload__not_checkable_and_refused_shown(finance, cny_bank):
    services.profile_save(actor=finance, data=ALIPAY)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(finance)
    upload = io.BytesIO((FILES / "alipay_like.csv").read_bytes())
    upload.name = "alipay.csv"
    response = client.post(
        reverse("reconciliation:upload"), {"file": upload, "account": cny_bank.code}, follow=True
    )
    page = response.content.decode()
    assert "Imported 1 statement(s): 0 line(s) matched." in page
    assert "Balance not checkable" in page
    listed = client.get(reverse("reconciliation:list")).content.decode()
    assert "Balance not checkable" in listed


def test_report_build__counts_statements_by_balance_check(finance, cny_bank):
    services.profile_save(actor=finance, data=ALIPAY)
    services.statement_import(
        actor=finance,
        data=(FILES / "alipay_like.csv").read_bytes(),
        account=cny_bank.code,
    )
    services.statement_import(
        actor=finance, data=mt940([(D(2025, 3, 4), 500, "B")], closing=1, statement="X")
    )
    report = selectors.report_build(finance, datetime.date.today())
    (row,) = report["accounts"]
    assert (row["statements_not_adding_up"], row["statements_not_checkable"]) == (1, 1)
