"""`cpms ledger check|post|export|trial-balance|close|expire-holds|accounts`."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.ledger import engine, selectors, services
from cpms.ledger.models import Balance, PeriodClose, Transfer
from cpms.ledger.services import ledger_check_record
from cpms.ledger.tasks import expire_holds, nightly_check
from cpms.users.choices import Role

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ledger", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> tuple[CommandError, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("ledger", *args, stdout=out, stderr=err)
    return caught.value, out.getvalue(), err.getvalue()


def balance(account) -> int:
    return selectors.account_balance(account).posted


# ---------------------------------------------------------------------------- check


def test_check__ok_exits_0_and_records_audit(finance, cash, fund):
    fund(cash, 100)
    out, _ = run("check", "--actor", finance.username)
    assert out.startswith("OK: 2 accounts, 1 transfers")
    entry = AuditEntry.objects.get(action="ledger.checked")
    assert entry.after["ok"] is True
    assert entry.after["problem_count"] == 0
    assert entry.actor_id == finance.pk


def test_check__broken_balance_exits_1_with_one_line_per_problem(finance, cash, fund):
    fund(cash, 100)
    Balance.objects.filter(account=cash).update(credits_posted=150)
    error, out, _ = refused("check")
    assert error.returncode == 1
    lines = out.strip().splitlines()
    assert lines == [
        "asset CNY: posted debits 100 != posted credits 150",
        f"account {cash.code} shard 0: credits_posted is 150 but its transfers sum to 100",
    ]
    assert str(error) == "2 problem(s) found."
    entry = AuditEntry.objects.get(action="ledger.checked")
    assert entry.after["ok"] is False
    assert entry.after["problems"] == lines


def test_check_recorded__nightly_task_audits_without_actor(cash, fund):
    fund(cash, 100)
    assert nightly_check.call_local() == {"ok": True, "problems": 0}
    entry = AuditEntry.objects.get(action="ledger.checked")
    assert entry.actor_id is None
    assert entry.channel == "job"


def test_check_recorded__returns_result(cash, fund):
    fund(cash, 5)
    assert ledger_check_record().ok


# ---------------------------------------------------------------------------- post


def _csv(tmp_path, rows: list[str], name="t.csv"):
    path = tmp_path / name
    path.write_text(
        "debit_account,credit_account,amount_minor,reference,idempotency_key,metadata\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return path


def test_post__csv_posts_one_batch_with_audit(finance, bank, cash, other_cash, tmp_path):
    path = _csv(
        tmp_path,
        [
            f'{bank.code},{cash.code},1000,DEP-1,k1,"{{""src"": ""file""}}"',
            f"{bank.code},{other_cash.pk},250,DEP-2,k2,",
        ],
    )
    out, _ = run("post", str(path), "--actor", finance.username)
    assert out.strip() == (
        "Posted 2 transfer(s) in 1 batch(es); 0 held for approval; 0 replayed (already posted)."
    )
    assert (balance(cash), balance(other_cash), balance(bank)) == (1000, 250, 1250)
    assert Transfer.objects.get(idempotency_key="k1").metadata == {"src": "file"}
    entry = AuditEntry.objects.get(action="ledger.batch_posted")
    assert entry.after["count"] == 2
    # a second run replays and changes nothing
    out, _ = run("post", str(path), "--actor", finance.username)
    assert "0 transfer(s)" in out and "2 replayed" in out
    assert Transfer.objects.count() == 2


def test_post__jsonl_with_dry_run_writes_nothing(finance, bank, cash, tmp_path):
    path = tmp_path / "t.jsonl"
    lines = [
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 7},
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 8},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    out, _ = run("post", str(path), "--actor", finance.username, "--dry-run")
    assert out.strip() == "Dry run: 2 transfer(s) in 1 batch(es) would post; nothing was written."
    assert Transfer.objects.count() == 0
    assert not AuditEntry.objects.filter(action="ledger.batch_posted").exists()


def test_post__bad_rows_are_reported_per_line_and_nothing_posts(finance, bank, cash, tmp_path):
    path = _csv(
        tmp_path,
        [
            f"{bank.code},{cash.code},100,ok,,",
            f"{bank.code},{cash.code},-5,neg,,",
            f"{bank.code},{cash.code},abc,text,,",
        ],
    )
    error, _, err = refused("post", str(path), "--actor", finance.username)
    assert error.returncode == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("line 3: amount_minor: ")
    assert lines[1].startswith("line 4: amount_minor: ")
    assert len(lines) == 2
    assert Transfer.objects.count() == 0


def test_post__service_refusal_names_the_line(finance, bank, cash, fees, tmp_path):
    path = _csv(
        tmp_path,
        [
            f"{bank.code},{cash.code},100,ok,,",
            f"{cash.code},{fees.code},500,too much,,",
            f"{bank.code},NOPE,1,unknown,,",
        ],
    )
    error, _, err = refused("post", str(path), "--actor", finance.username)
    assert error.returncode == 2
    assert err.strip() == "[ledger.account_not_found] line 4: credit_account: No account NOPE."
    assert Transfer.objects.count() == 0


def test_post__insufficient_funds_refuses_the_whole_file(finance, bank, cash, fees, tmp_path):
    path = _csv(tmp_path, [f"{bank.code},{cash.code},100,ok,,", f"{cash.code},{fees.code},500,x,,"])
    error, _, err = refused("post", str(path), "--actor", finance.username)
    assert error.returncode == 2
    assert err.startswith("[ledger.insufficient_funds]")
    assert cash.code in err
    assert (Transfer.objects.count(), balance(cash)) == (0, 0)


def test_post__unknown_column_is_refused(finance, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("debit,credit,amount\nA,B,1\n", encoding="utf-8")
    error, _, _ = refused("post", str(path), "--actor", finance.username)
    assert error.returncode == 2
    assert "line 1: unknown column(s) debit, credit, amount" in str(error)


def test_post__unknown_actor_is_refused(bank, cash, tmp_path):
    path = _csv(tmp_path, [f"{bank.code},{cash.code},100,ok,,"])
    error, _, _ = refused("post", str(path), "--actor", "ghost")
    assert str(error) == "No active user named 'ghost'."
    assert Transfer.objects.count() == 0


def test_post__without_permission_is_refused(make_user, bank, cash, tmp_path):
    auditor = make_user(Role.AUDITOR, username="aud")
    path = _csv(tmp_path, [f"{bank.code},{cash.code},100,ok,,"])
    error, _, err = refused("post", str(path), "--actor", auditor.username)
    assert error.returncode == 2
    assert err.startswith("[permission_denied]")
    assert Transfer.objects.count() == 0


def test_post__above_max_batch_posts_in_several_batches_all_or_nothing(
    finance, bank, cash, fees, tmp_path, monkeypatch
):
    monkeypatch.setattr(engine, "MAX_BATCH", 3)
    rows = [f"{bank.code},{cash.code},10,r{i},k{i}," for i in range(7)]
    path = _csv(tmp_path, rows)
    out, _ = run("post", str(path), "--actor", finance.username)
    assert out.startswith("Posted 7 transfer(s) in 3 batch(es)")
    assert balance(cash) == 70
    # the last batch fails: the earlier batches of the same file roll back too
    rows = [f"{bank.code},{cash.code},10,s{i},s{i}," for i in range(6)]
    rows.append(f"{cash.code},{fees.code},1000,big,s6,")
    error, _, err = refused("post", str(_csv(tmp_path, rows, "u.csv")), "--actor", "finance1")
    assert error.returncode == 2
    assert err.startswith("[ledger.insufficient_funds]")
    assert (Transfer.objects.count(), balance(cash)) == (7, 70)


# ---------------------------------------------------------------------------- export


def test_export__writes_file_and_audits(make_user, cash, fund, tmp_path):
    auditor = make_user(Role.AUDITOR, username="aud")
    fund(cash, 12_345)
    path = tmp_path / "out.journal"
    out, _ = run("export", "--format", "ledger", "--output", str(path), "--actor", auditor.username)
    assert out.startswith(f"Wrote 1 transfer(s) over 2 account(s) to {path} (ledger, sha256 ")
    assert "    Assets:ClientBank:CNY  123.45 CNY\n" in path.read_text()
    assert AuditEntry.objects.get(action="ledger.exported").after["transfers"] == 1


def test_export__refused_leaves_no_file(finance, cash, fund, tmp_path):
    fund(cash, 1)
    path = tmp_path / "out.beancount"
    error, _, _ = refused(
        "export", "--format", "beancount", "--output", str(path), "--actor", finance.username
    )
    assert "scope: all" in str(error)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- reports


def test_trial_balance__lists_accounts_and_balanced_totals(finance, bank, cash, fund):
    fund(cash, 12_345)
    out, _ = run("trial-balance")
    lines = out.splitlines()
    # sorted by asset, then code
    assert lines[1].split() == ["CNY", cash.code, "0.00", "123.45", "-123.45"]
    assert lines[2].split() == ["CNY", bank.code, "123.45", "0.00", "123.45"]
    assert lines[3].split() == ["CNY", "TOTAL", "123.45", "123.45", "0.00", "balanced"]


def test_accounts__lists_balances(finance, bank, cash, fund):
    fund(cash, 500)
    out, _ = run("accounts", "--purpose", "customer_cash")
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[1].split() == [
        str(cash.pk),
        cash.code,
        "customer_cash",
        "CNY",
        "open",
        "5.00",
        "5.00",
    ]


# ---------------------------------------------------------------------------- writes


def test_close__closes_period_as_actor(finance):
    through = timezone.localdate() - datetime.timedelta(days=1)
    out, _ = run(
        "close",
        "--through",
        through.isoformat(),
        "--reason",
        "month end",
        "--actor",
        finance.username,
    )
    assert out.strip() == f"The books are closed through {through.isoformat()}."
    assert PeriodClose.objects.get().closed_by == finance
    assert AuditEntry.objects.get(action="ledger.period_closed").reason == "month end"


def test_close__future_date_is_refused(finance):
    through = timezone.localdate()
    error, _, _ = refused(
        "close", "--through", through.isoformat(), "--reason", "x", "--actor", finance.username
    )
    assert "through: Only a period that has ended can be closed." in str(error)
    assert not PeriodClose.objects.exists()


def test_close__bad_date_is_refused(finance):
    with pytest.raises(CommandError):
        call_command(
            "ledger",
            "close",
            "--through",
            "31/01/2026",
            "--reason",
            "x",
            "--actor",
            finance.username,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert not PeriodClose.objects.exists()


def test_expire_holds__voids_lapsed_holds(finance, bank, cash, fees, fund):
    fund(cash, 1000)
    past = timezone.now() - datetime.timedelta(minutes=1)
    hold = fund(cash, 1, pending=True, expires_at=past.isoformat())
    out, _ = run("expire-holds")
    assert out.strip() == "Voided 1 expired hold(s)."
    assert selectors.hold_state(hold) == "voided"
    assert expire_holds.call_local() == 0


def test_expire_holds__task_runs_as_job(finance, cash, fund):
    fund(cash, 1000)
    past = timezone.now() - datetime.timedelta(minutes=1)
    fund(cash, 3, pending=True, expires_at=past.isoformat())
    assert expire_holds.call_local() == 1
    assert AuditEntry.objects.get(action="ledger.hold_voided").channel == "job"
    assert connection.vendor in {"sqlite", "postgresql"}
    assert services.holds_expire() == 0


# ---------------------------------------------------------------------------- open-account


def test_open_account__client_bank_in_a_new_currency_as_actor(finance):
    from cpms.ledger.models import Account

    out, _ = run(
        "open-account",
        "--purpose",
        "client_bank",
        "--asset",
        "usd",
        "--code",
        "BANK:NL:USD",
        "--name",
        "Client money USD",
        "--bank-account-identifier",
        "NL71 RABO 0123 4567 89",
        "--actor",
        finance.username,
    )
    account = Account.objects.get(code="BANK:NL:USD")
    assert (account.purpose, account.asset.code, account.name) == (
        "client_bank",
        "USD",
        "Client money USD",
    )
    assert account.bank_account_identifier == "NL71RABO0123456789"
    assert out == (
        f"Opened account BANK:NL:USD (id {account.pk}): Client-money bank account, USD, bank "
        "account identifier NL71RABO0123456789.\n"
    )
    entry = AuditEntry.objects.get(action="ledger.account_opened")
    assert (entry.actor_id, entry.object_id) == (finance.pk, str(account.pk))


def test_open_account__dry_run_writes_nothing(finance):
    from cpms.ledger.models import Account

    before = AuditEntry.objects.exclude(action="access.denied").count()
    out, _ = run(
        "open-account", "--purpose", "client_bank", "--asset", "USD", "--code", "BANK:X:USD",
        "--actor", finance.username, "--dry-run",
    )  # fmt: skip
    assert out == (
        "Dry run: account BANK:X:USD (Client-money bank account, USD) would be opened; nothing "
        "was written.\n"
    )
    assert not Account.objects.filter(code="BANK:X:USD").exists()
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_open_account__customer_account_by_customer_number(finance, customer):
    from cpms.ledger.models import Account

    out, _ = run(
        "open-account", "--purpose", "customer_cash", "--asset", "HKD",
        "--customer", customer.customer_number, "--actor", finance.username,
    )  # fmt: skip
    account = Account.objects.get(customer=customer, asset__code="HKD")
    assert out.startswith(f"Opened account {account.code} (id {account.pk}): Customer money, HKD")


def test_open_account__unknown_customer_number_refused(finance):
    from cpms.ledger.models import Account

    count = Account.objects.count()
    error, _, _ = refused(
        "open-account", "--purpose", "customer_cash", "--asset", "CNY",
        "--customer", "C-NOPE", "--actor", finance.username,
    )  # fmt: skip
    assert (str(error), error.returncode) == ("No customer has the number 'C-NOPE'.", 1)
    assert Account.objects.count() == count


def test_open_account__existing_account_and_missing_permission_refused(make_user, finance):
    run(
        "open-account", "--purpose", "client_bank", "--asset", "EUR", "--code", "BANK:A:EUR",
        "--actor", finance.username,
    )  # fmt: skip
    again, _, _ = refused(
        "open-account", "--purpose", "client_bank", "--asset", "EUR", "--code", "BANK:A:EUR",
        "--actor", finance.username,
    )  # fmt: skip
    assert str(again) == "[validation_failed] purpose: Account BANK:A:EUR exists."
    auditor = make_user(Role.AUDITOR, username="aud2")
    denied, _, _ = refused(
        "open-account", "--purpose", "client_bank", "--asset", "GBP",
        "--actor", auditor.username,
    )  # fmt: skip
    assert str(denied).startswith("[permission_denied]")
    assert not AuditEntry.objects.filter(
        action="ledger.account_opened", actor_id=auditor.pk
    ).exists()


def test_open_account__actor_is_required():
    with pytest.raises(CommandError) as caught:
        call_command("ledger", "open-account", "--purpose", "client_bank", "--asset", "USD")
    assert "--actor" in str(caught.value)
