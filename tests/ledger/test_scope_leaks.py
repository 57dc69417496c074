"""Rows outside the caller's scope answer exactly like missing ones (issue 10, item 2).

finance1 (branch T01) asks about the accounts and transfers of a customer of another branch
(FAR): every reply must equal, in status, code, message and fields, the reply for an id that
does not exist, and must not name the other branch's account or transfer. Idempotency keys are
unique across the whole ledger, so a key another branch used cannot behave like an unused one:
it answers the same conflict as any clash with one of finance1's own keys, naming nothing."""

from __future__ import annotations

import json
import re

import pytest
from django.db import transaction
from django.db.models import Max
from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.customers.services import customer_register
from cpms.ledger import services
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Balance, Transfer
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.customers.conftest import individual

FAR_RESIDENT_ID = "440304198506120035"  # not the nearby customer's: one document, one customer


@pytest.fixture
def far_branch(db):
    return user_services.branch_ensure(actor=None, code="FAR", name="远方分行")


@pytest.fixture
def far_finance(make_user, far_branch):
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far_branch)


@pytest.fixture
def far_customer(make_user, far_branch):
    far_rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-far", branch=far_branch)
    return customer_register(
        actor=far_rm,
        data=individual(
            legal_name="王五",
            identity_number=FAR_RESIDENT_ID,
            phone="13700137000",
            email="wang.wu@example.com",
            relationship_manager_id=far_rm.pk,
        ),
    )


@pytest.fixture
def far_cash(far_customer) -> Account:
    with transaction.atomic():
        return services.customer_account(
            customer=far_customer, purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )


@pytest.fixture
def far_deposit(far_finance, bank, far_cash) -> Transfer:
    return services.transfer_post(
        actor=far_finance,
        data={
            "debit_account": bank.code,
            "credit_account": far_cash.code,
            "amount_minor": 5000,
            "reference": "FAR-DEP",
            "idempotency_key": "far:deposit:1",
        },
    ).transfer


@pytest.fixture
def far_hold(far_finance, far_cash, fees, far_deposit) -> Transfer:
    return services.transfer_post(
        actor=far_finance,
        data={
            "debit_account": far_cash.code,
            "credit_account": fees.code,
            "amount_minor": 10,
            "pending": True,
        },
    ).transfer


def _api(user, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['ledger:write'])}")


def _post(client: Client, path: str, data) -> object:
    return client.post(
        f"/api/v1/ledger{path}", data=json.dumps(data), content_type="application/json"
    )


def _missing_transfer_id() -> int:
    return (Transfer.objects.aggregate(top=Max("pk"))["top"] or 0) + 10_000


def _missing_account_id() -> int:
    return (Account.objects.aggregate(top=Max("pk"))["top"] or 0) + 10_000


def _reply(response, sent: str | None = None) -> tuple[int, str]:
    """Status and whole body; the value the caller sent (if echoed) becomes <sent>."""
    text = json.dumps(response.json(), ensure_ascii=False, sort_keys=True)
    if sent is not None:
        text = re.sub(rf"(?<![\w:]){re.escape(sent)}(?![\w:])", "<sent>", text)
    return response.status_code, text


def _state() -> tuple:
    return (
        Transfer.objects.count(),
        AuditEntry.objects.filter(action__startswith="ledger.").count(),
        tuple(
            Balance.objects.order_by("pk").values_list(
                "debits_posted", "credits_posted", "debits_pending", "credits_pending"
            )
        ),
    )


# ------------------------------------------------------------------------ posting


@pytest.mark.parametrize("side", ["debit_account", "credit_account"])
@pytest.mark.parametrize("by", ["id", "code"])
def test_transfer_post__out_of_scope_account_answers_like_a_missing_one(
    finance, bank, cash, far_cash, far_deposit, token_for, side, by
):
    client = _api(finance, token_for)
    other = "credit_account" if side == "debit_account" else "debit_account"
    hidden = str(far_cash.pk) if by == "id" else far_cash.code
    missing = str(_missing_account_id()) if by == "id" else "C999999:CUSTOMER_CASH:CNY"
    before = _state()

    out_of_scope = _post(client, "/transfers", {side: hidden, other: bank.code, "amount_minor": 1})
    absent = _post(client, "/transfers", {side: missing, other: bank.code, "amount_minor": 1})

    assert out_of_scope.status_code == 404
    assert out_of_scope.json()["error"]["code"] == "ledger.account_not_found"
    assert _reply(out_of_scope, hidden) == _reply(absent, missing)
    assert far_cash.code not in out_of_scope.content.decode() or by == "code"
    assert _state() == before


def test_transfer_post__out_of_scope_account_in_a_batch_answers_like_a_missing_one(
    finance, bank, cash, far_cash, far_deposit, token_for
):
    client = _api(finance, token_for)
    missing = str(_missing_account_id())

    def batch(ref: str) -> dict:
        return {
            "transfers": [
                {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 1},
                {"debit_account": bank.code, "credit_account": ref, "amount_minor": 1},
            ]
        }

    out_of_scope = _post(client, "/transfers", batch(str(far_cash.pk)))
    absent = _post(client, "/transfers", batch(missing))

    assert out_of_scope.status_code == 404
    assert _reply(out_of_scope, str(far_cash.pk)) == _reply(absent, missing)
    assert far_cash.code not in out_of_scope.content.decode()


# ------------------------------------------------------------------------ reversal and holds


def test_transfer_reverse__out_of_scope_transfer_answers_like_a_missing_one(
    finance, far_deposit, far_cash, token_for
):
    client = _api(finance, token_for)
    missing = _missing_transfer_id()
    before = _state()

    shown = client.get(f"/api/v1/ledger/transfers/{far_deposit.pk}")
    out_of_scope = _post(client, f"/transfers/{far_deposit.pk}/reverse", {"reason": "scope"})
    absent = _post(client, f"/transfers/{missing}/reverse", {"reason": "scope"})

    assert shown.status_code == 200  # visible: the bank side is an internal account
    assert out_of_scope.status_code == 404
    assert _reply(out_of_scope) == _reply(absent)
    assert far_cash.code not in out_of_scope.content.decode()
    assert _state() == before


def test_transfer_reverse__hidden_transfer_answers_like_a_missing_one(
    finance, far_finance, far_cash, far_deposit, token_for
):
    """A transfer between two accounts of another branch: GET and reverse both say missing."""
    with transaction.atomic():
        far_points = services.customer_account(
            customer=far_cash.customer, purpose=AccountPurpose.LOAN_PRINCIPAL, asset_code="CNY"
        )
    hidden = services.transfer_post(
        actor=far_finance,
        data={"debit_account": far_points.code, "credit_account": far_cash.code, "amount_minor": 7},
    ).transfer
    client = _api(finance, token_for)
    missing = _missing_transfer_id()

    replies = [
        (
            _reply(client.get(f"/api/v1/ledger/transfers/{ref}")),
            _reply(_post(client, f"/transfers/{ref}/reverse", {"reason": "scope"})),
        )
        for ref in (hidden.pk, missing)
    ]

    assert replies[0] == replies[1]
    assert replies[0][0][0] == 404


@pytest.mark.parametrize("action", ["post", "void"])
def test_hold_resolve__out_of_scope_hold_answers_like_a_missing_one(
    finance, far_hold, far_cash, token_for, action
):
    client = _api(finance, token_for)
    missing = _missing_transfer_id()
    before = _state()

    out_of_scope = _post(client, f"/holds/{far_hold.pk}/{action}", {"reason": "scope"})
    absent = _post(client, f"/holds/{missing}/{action}", {"reason": "scope"})

    assert out_of_scope.status_code == 404
    assert _reply(out_of_scope) == _reply(absent)
    assert far_cash.code not in out_of_scope.content.decode()
    assert _state() == before


# ------------------------------------------------------------------------ idempotency keys


def test_transfer_post__other_branch_key_answers_like_any_key_clash(
    finance, bank, cash, fees, fund, far_deposit, far_cash, token_for
):
    """Keys are unique across the ledger, so another branch's key cannot be reused: the reply
    is the conflict any clash gives (one of finance1's own keys), naming no transfer."""
    fund(cash, 100, idempotency_key="t01:deposit:1")
    client = _api(finance, token_for)
    before = _state()

    def body(key: str) -> dict:
        return {
            "debit_account": bank.code,
            "credit_account": cash.code,
            "amount_minor": 3,
            "idempotency_key": key,
        }

    other_branch = _post(client, "/transfers", body("far:deposit:1"))
    own = _post(client, "/transfers", body("t01:deposit:1"))

    assert other_branch.status_code == 409
    assert other_branch.json()["error"]["code"] == "ledger.idempotency_conflict"
    assert _reply(other_branch) == _reply(own)
    text = other_branch.content.decode()
    assert str(far_deposit.pk) not in re.findall(r"\d+", text)
    assert far_cash.code not in text
    assert _state() == before


def test_transfer_reverse__other_branch_key_answers_like_any_key_clash(
    finance, bank, cash, fund, far_deposit, token_for
):
    mine = fund(cash, 100, idempotency_key="t01:deposit:1")
    fund(cash, 50, idempotency_key="t01:deposit:2")
    client = _api(finance, token_for)
    before = _state()

    other_branch = _post(
        client, f"/transfers/{mine.pk}/reverse", {"reason": "x", "idempotency_key": "far:deposit:1"}
    )
    own = _post(
        client, f"/transfers/{mine.pk}/reverse", {"reason": "x", "idempotency_key": "t01:deposit:2"}
    )

    assert other_branch.status_code == 409
    assert _reply(other_branch, "far:deposit:1") == _reply(own, "t01:deposit:2")
    assert str(far_deposit.pk) not in re.findall(r"\d+", _reply(other_branch, "far:deposit:1")[1])
    assert _state() == before


# ------------------------------------------------------------------------ opening accounts


def test_account_open__out_of_scope_customer_answers_like_a_missing_one(
    finance, far_customer, token_for
):
    client = _api(finance, token_for)
    missing = far_customer.pk + 10_000

    def body(customer_id: int) -> dict:
        return {"purpose": "customer_points", "asset": "PTS", "customer_id": customer_id}

    out_of_scope = _post(client, "/accounts", body(far_customer.pk))
    absent = _post(client, "/accounts", body(missing))

    assert out_of_scope.status_code == 404
    assert _reply(out_of_scope, str(far_customer.pk)) == _reply(absent, str(missing))


def test_account_open__other_customers_property_item_answers_like_a_missing_one(
    finance, customer, far_customer, token_for
):
    from cpms.holdings.models import Holding
    from cpms.holdings.services import holding_register

    far_rm = far_customer.relationship_manager
    item = holding_register(actor=far_rm, customer=far_customer, kind="contract", identifier="F1")
    missing = (Holding.objects.aggregate(top=Max("pk"))["top"] or 0) + 10_000
    client = _api(finance, token_for)

    def body(holding_id: int) -> dict:
        return {
            "purpose": "customer_points",
            "asset": "PTS",
            "customer_id": customer.pk,
            "holding_id": holding_id,
        }

    out_of_scope = _post(client, "/accounts", body(item.pk))
    absent = _post(client, "/accounts", body(missing))

    assert out_of_scope.status_code >= 400
    assert _reply(out_of_scope, str(item.pk)) == _reply(absent, str(missing))


# ------------------------------------------------------------------------ console


def _console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _visible_errors(response) -> str:
    html = response.content.decode()
    found = re.findall(r'<p class="(?:form-error|message)[^"]*"[^>]*>(.*?)</p>', html, flags=re.S)
    found += re.findall(r'<article class="error-page">(.*?)</footer>', html, flags=re.S)
    text = " ".join(re.sub(r"<small>.*?</small>", "", part, flags=re.S) for part in found)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


@pytest.mark.parametrize("side", ["debit_account", "credit_account"])
def test_console_transfer_new__out_of_scope_account_reads_like_a_missing_one(
    finance, bank, cash, far_cash, far_deposit, side
):
    client = _console(finance)
    other = "credit_account" if side == "debit_account" else "debit_account"
    missing = str(_missing_account_id())
    before = _state()

    def post(ref: str):
        return client.post(
            reverse("ledger:transfer-new"),
            {side: ref, other: bank.pk, "amount": "1.00", "idempotency_key": f"c:{ref}"},
        )

    out_of_scope = post(str(far_cash.pk))
    absent = post(missing)

    assert out_of_scope.status_code == absent.status_code == 200
    errors = _visible_errors(out_of_scope)
    assert errors
    assert errors.replace(str(far_cash.pk), "<sent>") == _visible_errors(absent).replace(
        missing, "<sent>"
    )
    assert far_cash.code not in out_of_scope.content.decode()
    assert _state() == before


@pytest.mark.parametrize("name", ["ledger:transfer", "ledger:reverse"])
def test_console_transfer_pages__hidden_transfer_reads_like_a_missing_one(
    finance, far_finance, far_cash, far_deposit, name
):
    with transaction.atomic():
        far_loan = services.customer_account(
            customer=far_cash.customer, purpose=AccountPurpose.LOAN_PRINCIPAL, asset_code="CNY"
        )
    hidden = services.transfer_post(
        actor=far_finance,
        data={"debit_account": far_loan.code, "credit_account": far_cash.code, "amount_minor": 7},
    ).transfer
    client = _console(finance)

    out_of_scope = client.get(reverse(name, args=[hidden.pk]))
    absent = client.get(reverse(name, args=[_missing_transfer_id()]))

    assert out_of_scope.status_code == absent.status_code == 404
    assert _visible_errors(out_of_scope) == _visible_errors(absent)


def test_console_reverse__visible_but_not_postable_transfer_reads_like_a_missing_one(
    finance, far_deposit
):
    """The bank side makes the deposit visible to finance1; reversing it needs the customer's
    side in scope, which it is not: the post of the reverse form answers like a missing one."""
    client = _console(finance)
    missing = _missing_transfer_id()
    before = _state()

    out_of_scope = client.post(reverse("ledger:reverse", args=[far_deposit.pk]), {"reason": "x"})
    absent = client.post(reverse("ledger:reverse", args=[missing]), {"reason": "x"})

    assert out_of_scope.status_code == absent.status_code == 404
    assert _visible_errors(out_of_scope) == _visible_errors(absent)
    assert _state() == before


# ------------------------------------------------------------------------ domain apps on the ledger


def test_trade_book__other_branch_key_answers_like_any_key_clash(
    finance, rm, customer, far_finance, far_customer
):
    """Trade keys are unique across all portfolios: another branch's key is refused with the
    reply any clash gives, naming no trade."""
    from cpms.core.errors import CpmsError
    from cpms.ledger import engine
    from cpms.portfolios import services as portfolios
    from tests.portfolios.conftest import fund_customer, register_portfolio

    fund_customer(customer, 1_000_000)
    fund_customer(far_customer, 1_000_000)
    mine = register_portfolio(rm, customer)
    theirs = register_portfolio(far_customer.relationship_manager, far_customer, "PF-FAR")

    def book(actor, holding, key: str, quantity: str = "1"):
        data = {
            "side": "buy",
            "instrument_code": "600519",
            "quantity": quantity,
            "price": "10",
            "trade_date": engine.today(),
            "idempotency_key": key,
        }
        return portfolios.trade_book(actor=actor, holding=holding, data=data)

    far_trade = book(far_finance, theirs, "order-far").trade
    book(finance, mine, "order-own")
    refusals = []
    for key in ("order-far", "order-own"):
        with pytest.raises(CpmsError) as caught:
            book(finance, mine, key, quantity="2")
        refusals.append((caught.value.code, caught.value.message, caught.value.fields))

    assert refusals[0] == refusals[1]
    assert refusals[0][0] == "portfolios.idempotency_conflict"
    assert f"#{far_trade.pk}" not in str(refusals[0])


def test_console_transfer_detail__no_actions_on_a_transfer_out_of_posting_scope(
    finance, far_finance, far_deposit, fund, cash
):
    """The deposit to another branch's customer is visible through the bank account, but
    reversing it would answer 404: the page offers no reverse button to finance1."""
    mine = fund(cash, 100)
    page = _console(finance).get(reverse("ledger:transfer", args=[far_deposit.pk]))
    own = _console(finance).get(reverse("ledger:transfer", args=[mine.pk]))
    theirs = _console(far_finance).get(reverse("ledger:transfer", args=[far_deposit.pk]))

    assert page.status_code == 200
    assert reverse("ledger:reverse", args=[far_deposit.pk]) not in page.content.decode()
    assert reverse("ledger:reverse", args=[mine.pk]) in own.content.decode()
    assert reverse("ledger:reverse", args=[far_deposit.pk]) in theirs.content.decode()
