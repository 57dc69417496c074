"""Services and selectors of the property register."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.holdings import selectors, services
from cpms.holdings.errors import (
    CustodyOwned,
    HoldingClosed,
    HoldingExists,
    HoldingStatusRefused,
    PositionExists,
    PriceImportFailed,
    WrongKind,
)
from cpms.holdings.models import (
    AccountDetail,
    ContractDetail,
    DataAssetDetail,
    Holding,
    InstrumentPrice,
    IntellectualPropertyDetail,
    LoanDetail,
    LoanInstalment,
    MembershipDetail,
    PortfolioPosition,
)
from cpms.privacy.protected import pii_read
from tests.holdings.conftest import (
    CARD,
    CARD_LUHN_FAIL,
    IBAN,
    account_details,
    loan_details,
)

PRICES = (
    b"instrument_code,price,currency,priced_on,source\n"
    b"600519,1500.50,CNY,2026-01-05,sse\n"
    b"600519,1600.25,CNY,2026-01-06,sse\n"
    b"511010,100.00000001,CNY,2026-01-06,sse\n"
)


def state() -> tuple:
    return (
        Holding.objects.count(),
        AccountDetail.objects.count(),
        LoanDetail.objects.count(),
        LoanInstalment.objects.count(),
        PortfolioPosition.objects.count(),
        InstrumentPrice.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def portfolio(actor, customer, **kwargs):
    return services.holding_register(
        actor=actor,
        customer=customer,
        kind="portfolio",
        identifier=kwargs.pop("identifier", "PF-1"),
        details={
            "positions": kwargs.pop(
                "positions",
                [
                    {
                        "instrument_code": "600519",
                        "instrument_name": "贵州茅台",
                        "asset_class": "equity",
                        "quantity": "10",
                        "cost_minor": 1_500_000,
                    },
                    {
                        "instrument_code": "511010",
                        "instrument_name": "国债ETF",
                        "asset_class": "bond",
                        "quantity": "200.5",
                        "cost_minor": 2_000_000,
                    },
                ],
            )
        },
        **kwargs,
    )


# accounts ----------------------------------------------------------------------------------


def test_holding_register__account_number_encrypted_indexed_masked_and_audited(rm1, customer):
    holding = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="account",
        identifier="",
        description="工资卡",
        details=account_details(),
    )

    account = AccountDetail.objects.get(holding=holding)
    assert account.customer_id == customer.pk
    assert CARD not in account.number_encrypted
    assert account.number_index != ""
    assert pii_read(account, "number") == CARD
    assert account.data_warnings == []
    assert holding.identifier.startswith("****0128-")
    assert CARD not in holding.identifier
    details = selectors.holding_details(user=rm1, holding=holding)
    assert details == {
        "account_type": "card",
        "institution": "中国工商银行",
        "number_masked": "6222 **** **** 0128",
    }
    [entry] = entries("holding.registered")
    assert entry.object_id == str(holding.pk)
    assert entry.after["kind"] == "account"
    assert entry.after["details"] == {"account_type": "card", "institution": "中国工商银行"}
    assert CARD not in str(entry.after)
    assert entry.after["account_number"] != ""


def test_holding_register__same_account_twice_is_refused(rm1, customer):
    services.holding_register(
        actor=rm1, customer=customer, kind="account", details=account_details()
    )
    before = state()

    with pytest.raises(HoldingExists):
        services.holding_register(
            actor=rm1, customer=customer, kind="account", details=account_details(number=CARD)
        )

    assert state() == before


def test_holding_register__luhn_failure_is_a_stored_warning(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="account", details=account_details(number=CARD_LUHN_FAIL)
    )

    [warning] = AccountDetail.objects.get(holding=holding).data_warnings
    assert warning["field"] == "number"
    assert warning["code"] == "bank_card.luhn"
    assert selectors.holding_warnings(user=rm1, holding=holding) == [warning]


def test_holding_register__iban_is_checked(rm1, customer):
    holding = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="account",
        details=account_details(account_type="bank", institution="Westminster", number=IBAN),
    )
    assert pii_read(holding.account, "number") == "GB82WEST12345698765432"

    before = state()
    with pytest.raises(ValidationFailed) as caught:
        services.holding_register(
            actor=rm1,
            customer=customer,
            kind="account",
            details=account_details(account_type="bank", number="GB00 WEST 1234 5698 7654 32"),
        )
    assert set(caught.value.fields) == {"details.number"}
    assert state() == before


def test_holding_register__validation_errors_name_every_field_and_write_nothing(rm1, customer):
    before = state()

    with pytest.raises(ValidationFailed) as caught:
        services.holding_register(
            actor=rm1,
            customer=customer,
            kind="loan",
            identifier="",
            value_minor=-1,
            currency="yuan",
            details=loan_details(principal_minor=0, method="balloon", term_months=0),
        )

    assert set(caught.value.fields) == {
        "identifier",
        "value_minor",
        "valued_on",
        "currency",
        "details.principal_minor",
        "details.method",
        "details.term_months",
    }
    assert state() == before


def test_holding_register__account_needs_a_number(rm1, customer):
    with pytest.raises(ValidationFailed) as caught:
        services.holding_register(
            actor=rm1,
            customer=customer,
            kind="account",
            identifier="A-1",
            details={"account_type": "bank", "institution": "X"},
        )
    assert set(caught.value.fields) == {"details.number"}


def test_holding_register__unknown_detail_field_is_refused(rm1, customer):
    with pytest.raises(ValidationFailed) as caught:
        services.holding_register(
            actor=rm1,
            customer=customer,
            kind="membership",
            identifier="M-1",
            details={"programme": "P", "member_number": "1", "colour": "red"},
        )
    assert set(caught.value.fields) == {"details.colour"}


# other kinds -------------------------------------------------------------------------------


def test_holding_register__simple_kinds_store_their_details(rm1, customer):
    membership = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="membership",
        identifier="VIP-1",
        details={
            "programme": "星享会",
            "member_number": "VIP-1",
            "tier": "gold",
            "joined_on": "2024-05-01",
        },
    )
    patent = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="intellectual_property",
        identifier="ZL202310000001.1",
        details={
            "ip_type": "patent",
            "registration_number": "ZL202310000001.1",
            "jurisdiction": "CN",
            "expires_on": "2043-01-01",
        },
    )
    contract = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="contract",
        identifier="HT-2026-001",
        details={
            "contract_number": "HT-2026-001",
            "counterparty": "某某有限公司",
            "signed_on": "2026-01-01",
            "expires_on": "2027-01-01",
        },
    )
    data = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="data_asset",
        identifier="CRM",
        details={
            "category": "客户联系信息",
            "system": "CRM",
            "record_count": 12000,
            "lawful_basis": "consent",
            "retention_until": "2030-12-31",
        },
    )

    assert MembershipDetail.objects.get(holding=membership).tier == "gold"
    assert IntellectualPropertyDetail.objects.get(holding=patent).jurisdiction == "CN"
    assert ContractDetail.objects.get(holding=contract).expires_on == datetime.date(2027, 1, 1)
    assert DataAssetDetail.objects.get(holding=data).record_count == 12000
    assert selectors.holding_details(user=rm1, holding=contract) == {
        "contract_number": "HT-2026-001",
        "counterparty": "某某有限公司",
        "signed_on": "2026-01-01",
        "expires_on": "2027-01-01",
    }


def test_holding_register__contract_cannot_expire_before_signing(rm1, customer):
    with pytest.raises(ValidationFailed) as caught:
        services.holding_register(
            actor=rm1,
            customer=customer,
            kind="contract",
            identifier="HT-1",
            details={
                "contract_number": "HT-1",
                "counterparty": "X",
                "signed_on": "2026-02-01",
                "expires_on": "2026-01-01",
            },
        )
    assert list(caught.value.fields) == ["details"]


def test_holding_register__without_details_stays_compatible(rm1, customer):
    holding = services.holding_register(
        actor=rm1,
        customer=customer,
        kind="custody_item",
        identifier="SN-1",
        permission="custody.operate",
        value_minor=1000,
        valued_on=datetime.date(2026, 1, 1),
    )
    assert holding.holding_number == f"P{holding.pk:08d}"
    assert selectors.holding_details(user=rm1, holding=holding) is None


# loans -------------------------------------------------------------------------------------


def test_holding_register__loan_generates_its_schedule(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="loan", identifier="L-1", details=loan_details()
    )

    rows = list(selectors.loan_schedule(user=rm1, holding=holding))
    assert len(rows) == 12
    assert sum(row.principal_minor for row in rows) == 120_000
    assert sum(row.interest_minor for row in rows) == 7_800
    assert rows[0].due_on == datetime.date(2026, 2, 28)
    [registered] = entries("holding.registered")
    [generated] = entries("holding.loan_schedule_generated")
    assert registered.after["details"]["annual_rate_percent"] == "12"
    assert generated.object_id == str(holding.pk)
    assert generated.after["instalments"] == 12
    assert generated.after["total_interest_minor"] == 7_800
    assert generated.after["total_payment_minor"] == 127_800


def test_holding_update__loan_terms_change_regenerates_the_schedule(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="loan", identifier="L-1", details=loan_details()
    )

    services.holding_update(
        actor=rm1,
        holding=holding,
        data={"details": {"term_months": 6, "method": "equal_instalment"}},
    )

    rows = list(selectors.loan_schedule(user=rm1, holding=holding))
    assert len(rows) == 6
    assert sum(row.principal_minor for row in rows) == 120_000
    assert len(entries("holding.loan_schedule_generated")) == 2
    [updated] = entries("holding.updated")
    assert updated.before["details"]["term_months"] == 12
    assert updated.after["details"]["term_months"] == 6
    assert updated.after["details"]["method"] == "equal_instalment"


def test_holding_update__same_values_write_nothing(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="loan", identifier="L-1", details=loan_details()
    )
    before = state()

    services.holding_update(
        actor=rm1, holding=holding, data={"description": "", "details": {"term_months": 12}}
    )

    assert state() == before


def test_loan_schedule_generate__refuses_other_kinds(rm1, customer):
    holding = portfolio(rm1, customer)
    with pytest.raises(WrongKind):
        services.loan_schedule_generate(actor=rm1, holding=holding)
    assert list(selectors.loan_schedule(user=rm1, holding=holding)) == []


# updates -----------------------------------------------------------------------------------


def test_holding_update__account_number_change_is_audited_as_digests(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="account", details=account_details()
    )

    services.holding_update(
        actor=rm1,
        holding=holding,
        data={"description": "新卡", "details": {"number": CARD_LUHN_FAIL}},
    )

    account = AccountDetail.objects.get(holding=holding)
    assert pii_read(account, "number") == CARD_LUHN_FAIL
    assert [w["code"] for w in account.data_warnings] == ["bank_card.luhn"]
    [entry] = entries("holding.updated")
    assert entry.before["description"] == ""
    assert entry.after["description"] == "新卡"
    assert CARD not in str(entry.before) and CARD_LUHN_FAIL not in str(entry.after)
    assert entry.before["account_number"] != entry.after["account_number"]


def test_holding_update__custody_items_only_change_description(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="custody_item", identifier="SN-1"
    )
    before = state()

    with pytest.raises(CustodyOwned):
        services.holding_update(actor=rm1, holding=holding, data={"location": "库房 B"})

    assert state() == before
    services.holding_update(actor=rm1, holding=holding, data={"description": "古董花瓶"})
    assert Holding.objects.get(pk=holding.pk).description == "古董花瓶"


def test_holding_update__custodian_must_be_staff(rm1, rm2, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    with pytest.raises(ValidationFailed) as caught:
        services.holding_update(actor=rm1, holding=holding, data={"custodian_id": 987654})
    assert set(caught.value.fields) == {"custodian_id"}

    services.holding_update(actor=rm1, holding=holding, data={"custodian_id": rm2.pk})
    [entry] = entries("holding.updated")
    assert entry.before == {"custodian_id": None}
    assert entry.after == {"custodian_id": rm2.pk}


# status ------------------------------------------------------------------------------------


def test_holding_status_change__follows_the_transition_table(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )

    services.holding_status_change(actor=rm1, holding=holding, status="suspended", reason="核查")
    services.holding_status_change(actor=rm1, holding=holding, status="active")
    services.holding_status_change(actor=rm1, holding=holding, status="closed")
    before = state()
    with pytest.raises(HoldingStatusRefused):
        services.holding_status_change(actor=rm1, holding=holding, status="active")
    with pytest.raises(HoldingClosed):
        services.holding_update(actor=rm1, holding=holding, data={"description": "x"})

    assert state() == before
    changes = entries("holding.status_changed")
    assert [(e.before["status"], e.after["status"]) for e in changes] == [
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "closed"),
    ]
    assert changes[0].reason == "核查"


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("active", "suspended", True),
        ("active", "closed", True),
        ("active", "returned", False),
        ("active", "disposed", False),
        ("suspended", "active", True),
        ("suspended", "closed", True),
        ("suspended", "disposed", False),
    ],
)
def test_holding_status_change__every_transition(rm1, customer, start, target, allowed):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    if start != "active":
        services.holding_status_change(actor=rm1, holding=holding, status=start)
    if allowed:
        services.holding_status_change(actor=rm1, holding=holding, status=target)
        assert Holding.objects.get(pk=holding.pk).status == target
    else:
        with pytest.raises(HoldingStatusRefused):
            services.holding_status_change(actor=rm1, holding=holding, status=target)


def test_holding_status_change__custody_items_are_refused(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="custody_item", identifier="SN-1"
    )
    before = state()
    with pytest.raises(CustodyOwned):
        services.holding_status_change(actor=rm1, holding=holding, status="closed")
    assert state() == before


# the holding side of the custody lifecycle ---------------------------------------------------


def test_holding_custody_place__moves_the_item_without_an_entry_of_its_own(rm1, rm2, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="custody_item", identifier="SN-1", location="库房 A"
    )
    before = state()
    now = timezone.now()

    with transaction.atomic():
        services.holding_custody_place(
            actor=rm1, holding=holding, location="库房 B", custodian=rm2, now=now
        )

    stored = Holding.objects.get(pk=holding.pk)
    assert (stored.location, stored.custodian_id, stored.updated_at) == ("库房 B", rm2.pk, now)
    assert (holding.location, holding.custodian) == ("库房 B", rm2)
    assert state() == before  # the custody step that moved it records the move


def test_holding_custody_status_set__returned_or_disposed_with_its_entry(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="custody_item", identifier="SN-1"
    )
    now = timezone.now()

    with transaction.atomic():
        services.holding_custody_status_set(
            actor=rm1, holding=holding, status="returned", reason="已归还", now=now
        )

    stored = Holding.objects.get(pk=holding.pk)
    assert (stored.status, stored.status_changed_at, stored.updated_at) == ("returned", now, now)
    [entry] = entries("holding.status_changed")
    assert (entry.before, entry.after, entry.reason) == (
        {"status": "active"},
        {"status": "returned"},
        "已归还",
    )


def test_holding_custody_services__only_custody_items_and_their_end_statuses(rm1, customer):
    contract = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    item = services.holding_register(
        actor=rm1, customer=customer, kind="custody_item", identifier="SN-1"
    )
    before = state()
    now = timezone.now()

    with pytest.raises(WrongKind):
        services.holding_custody_place(actor=rm1, holding=contract, location="库房 B", now=now)
    with pytest.raises(WrongKind):
        services.holding_custody_status_set(
            actor=rm1, holding=contract, status="disposed", reason="", now=now
        )
    with pytest.raises(HoldingStatusRefused):
        services.holding_custody_status_set(
            actor=rm1, holding=item, status="closed", reason="", now=now
        )

    assert state() == before
    assert Holding.objects.get(pk=contract.pk).location == ""


# scope and permission ----------------------------------------------------------------------


def test_scope__other_rm_and_other_branch_see_nothing(rm1, rm2, far_finance, finance, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="loan", identifier="L-1", details=loan_details()
    )

    assert list(selectors.holding_list(user=rm1)) == [holding]
    assert list(selectors.holding_list(user=finance)) == [holding]  # same branch
    for outsider in (rm2, far_finance):
        assert list(selectors.holding_list(user=outsider)) == []
        assert list(selectors.holding_list(user=outsider, q="L-1")) == []
        with pytest.raises(NotFound):
            selectors.holding_get_for_user(user=outsider, pk=holding.pk)
        with pytest.raises(NotFound):
            selectors.loan_schedule(user=outsider, holding=holding)


def test_scope__writes_outside_scope_are_not_found(rm1, rm2, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    before = state()

    with pytest.raises(NotFound):
        services.holding_register(actor=rm2, customer=customer, kind="contract", identifier="C-2")
    with pytest.raises(NotFound):
        services.holding_update(actor=rm2, holding=holding, data={"description": "x"})
    with pytest.raises(NotFound):
        services.holding_status_change(actor=rm2, holding=holding, status="closed")

    assert state() == before


def test_permission__view_only_roles_cannot_write(finance, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    before = state()

    with pytest.raises(PermissionDenied):
        services.holding_update(actor=finance, holding=holding, data={"description": "x"})
    with pytest.raises(PermissionDenied):
        services.prices_import(actor=finance, content=PRICES)

    assert state() == before


def test_account_reveal_scope_follows_the_holding(rm1, rm2, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="account", details=account_details()
    )
    account = AccountDetail.objects.get(holding=holding)
    spec = AccountDetail.pii
    assert list(spec.scope(rm1, AccountDetail.objects.all())) == [account]
    assert list(spec.scope(rm2, AccountDetail.objects.all())) == []


def test_holding_list__search(rm1, customer, other_customer, rm2):
    account = services.holding_register(
        actor=rm1, customer=customer, kind="account", details=account_details()
    )
    contract = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="HT-9", description="租赁合同"
    )
    services.holding_register(
        actor=rm2, customer=other_customer, kind="contract", identifier="HT-9"
    )

    assert list(selectors.holding_list(user=rm1, q="6222 0212 3456 7890 128")) == [account]
    assert list(selectors.holding_list(user=rm1, q="租赁")) == [contract]
    assert list(selectors.holding_list(user=rm1, q=contract.holding_number)) == [contract]
    assert list(selectors.holding_list(user=rm1, q="ht-9")) == [contract]
    assert set(selectors.holding_list(user=rm1, q="张三")) == {account, contract}
    assert list(selectors.holding_list(user=rm1, kind="account")) == [account]
    assert list(selectors.holding_list(user=rm2, q="6222021234567890128")) == []


# portfolios and prices ---------------------------------------------------------------------


def test_portfolio__market_value_gain_and_allocation(rm1, customer):
    holding = portfolio(rm1, customer)
    services.prices_import(actor=rm1, content=PRICES, filename="prices.csv")

    summary = selectors.portfolio_summary(user=rm1, holding=holding)

    by_code = {row.position.instrument_code: row for row in summary.positions}
    # 10 × 1600.25 = 16002.50; 200.5 × 100.00000001 = 20050.0000020 -> 20050.00
    assert by_code["600519"].market_value_minor == 1_600_250
    assert by_code["600519"].unrealised_gain_minor == 100_250
    assert by_code["600519"].price.priced_on == datetime.date(2026, 1, 6)
    assert by_code["511010"].market_value_minor == 2_005_000
    assert summary.market_value_minor == 3_605_250
    assert summary.cost_minor == 3_500_000
    assert summary.unrealised_gain_minor == 105_250
    assert summary.allocation == {
        "bond": {"market_value_minor": 2_005_000, "share_percent": "55.61"},
        "equity": {"market_value_minor": 1_600_250, "share_percent": "44.39"},
    }


def test_portfolio__unpriced_position_has_no_market_value(rm1, customer):
    holding = portfolio(rm1, customer)
    summary = selectors.portfolio_summary(user=rm1, holding=holding)
    assert summary.market_value_minor is None
    assert summary.cost_minor == 3_500_000
    assert all(row.market_value_minor is None for row in summary.positions)


def test_positions__add_change_remove_are_audited(rm1, customer):
    holding = portfolio(rm1, customer, positions=[])

    position = services.position_add(
        actor=rm1,
        holding=holding,
        data={
            "instrument_code": "000001",
            "asset_class": "equity",
            "quantity": "100",
            "cost_minor": 120_000,
        },
    )
    with pytest.raises(PositionExists):
        services.position_add(
            actor=rm1,
            holding=holding,
            data={
                "instrument_code": "000001",
                "asset_class": "equity",
                "quantity": "1",
                "cost_minor": 1,
            },
        )
    services.position_change(actor=rm1, position=position, data={"quantity": Decimal("150")})
    services.position_remove(actor=rm1, position=position)

    assert PortfolioPosition.objects.count() == 0
    changes = entries("holding.position_changed")
    assert [entry.after["operation"] for entry in changes] == ["added", "changed", "removed"]
    assert changes[1].before["quantity"] == "100"
    assert changes[1].after["quantity"] == "150"
    assert changes[2].before["instrument_code"] == "000001"
    assert all(entry.object_id == str(holding.pk) for entry in changes)


def test_positions__only_on_portfolios(rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    with pytest.raises(WrongKind):
        services.position_add(
            actor=rm1,
            holding=holding,
            data={
                "instrument_code": "X",
                "asset_class": "equity",
                "quantity": "1",
                "cost_minor": 1,
            },
        )


def test_prices_import__twice_changes_nothing(rm1):
    first = services.prices_import(actor=rm1, content=PRICES)
    second = services.prices_import(actor=rm1, content=PRICES)

    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert InstrumentPrice.objects.count() == 3
    [one, two] = entries("holding.prices_imported")
    assert one.after["rows"] == 3 and one.after["created"] == 3
    assert two.after["unchanged"] == 3


def test_prices_import__chinese_headers_in_gb18030(rm1):
    content = "代码,价格,币种,日期\n600519,1500,CNY,2026-01-05\n".encode("gb18030")
    report = services.prices_import(actor=rm1, content=content)
    assert report.created == 1
    assert InstrumentPrice.objects.get().price == Decimal("1500")


@pytest.mark.parametrize(
    ("content", "fields"),
    [
        (b"", {"file"}),
        (b"\x00\x01binary", {"file"}),
        (b"instrument_code,price\n", {"header"}),
        (b"instrument_code,price,priced_on,colour\nA,1,2026-01-01,red\n", {"header.unknown"}),
        (
            b"instrument_code,price,priced_on\nA,abc,2026-01-01\nB,1,2026-13-01\n,1,2026-01-01\n",
            {"row 2.price", "row 3.priced_on", "row 4.instrument_code"},
        ),
        (
            b"instrument_code,price,priced_on\nA,1,2026-01-01\nA,2,2026-01-01\n",
            {"row 3.instrument_code"},
        ),
        (b"instrument_code,price,priced_on,currency\nA,1,2026-01-01,yuan\n", {"row 2.currency"}),
        (b"instrument_code,price,priced_on\n", {"file"}),
    ],
)
def test_prices_import__bad_files_write_nothing(rm1, content, fields):
    before = state()
    with pytest.raises(PriceImportFailed) as caught:
        services.prices_import(actor=rm1, content=content)
    assert set(caught.value.fields) == fields
    assert state() == before
