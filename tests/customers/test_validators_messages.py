"""Every refusal and warning of `cpms.customers.validators` with its exact English text: the
messages are what a person sees (and the msgids the Chinese catalogue is keyed by), so a changed
or missing message is a defect. Inputs are the vectors of test_validators.py."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from cpms.customers.validators import (
    IdentifierInvalid,
    check_bank_card,
    check_email,
    check_iban,
    check_identity_document,
    check_passport,
    check_phone,
    check_resident_id,
    check_uscc,
)
from tests.customers.test_validators_boundaries import uscc_check_character

TODAY = datetime.date(2024, 6, 1)


@pytest.mark.parametrize(
    ("check", "value", "options", "code", "message"),
    [
        (
            check_resident_id,
            "1101051949123100",
            {"today": TODAY},
            "resident_id.length",
            "A resident ID number has 18 characters (or 15 digits in the legacy form).",
        ),
        (
            check_resident_id,
            "1101051949123100AX",
            {"today": TODAY},
            "resident_id.format",
            "A resident ID number is 17 digits followed by a digit or X.",
        ),
        (
            check_resident_id,
            "110105194912310021",
            {"today": TODAY},
            "resident_id.checksum",
            "The check digit of this resident ID number is wrong; check for a typing error.",
        ),
        (
            check_resident_id,
            "110105199002301231",
            {"today": TODAY},
            "resident_id.birth_date",
            "The birth date in this resident ID number is not a real date.",
        ),
        (
            check_resident_id,
            "990105199001011236",
            {"today": TODAY},
            "resident_id.region",
            "The first two digits of this resident ID number are not a province code.",
        ),
        (
            check_uscc,
            "91350100M000100Y4",
            {},
            "uscc.length",
            "A Unified Social Credit Code has 18 characters.",
        ),
        (
            check_uscc,
            "91350100M000100Y44",
            {},
            "uscc.checksum",
            "The check character of this Unified Social Credit Code is wrong; "
            "check for a typing error.",
        ),
        (
            check_uscc,
            "9135010AM000100Y43",
            {},
            "uscc.format",
            "A Unified Social Credit Code is 8 digits followed by 10 digits or capital letters "
            "(not I, O, S, V or Z).",
        ),
        (
            check_passport,
            "E123",
            {},
            "passport.length",
            "A passport number has between 5 and 20 letters and digits.",
        ),
        (
            check_passport,
            "E1234-567*8",
            {},
            "passport.format",
            "A passport number has only Latin letters and digits.",
        ),
        (
            check_passport,
            "E12345678",
            {"country": "China"},
            "passport.country",
            "The issuing country must be an ISO 3166 country code.",
        ),
        (
            check_phone,
            "12345",
            {},
            "phone.invalid",
            "This is not a valid phone number; give it with the country code, e.g. +86.",
        ),
        (
            check_email,
            "not an address",
            {},
            "email.invalid",
            "This is not a valid email address.",
        ),
        (
            check_iban,
            "12345",
            {},
            "iban.format",
            "An IBAN is a country code, 2 check digits and up to 30 letters and digits.",
        ),
        (
            check_iban,
            "GB83 WEST 1234 5698 7654 32",
            {},
            "iban.checksum",
            "The check digits of this IBAN are wrong; check for a typing error.",
        ),
        (
            check_iban,
            "XX46370400440532013000",
            {},
            "iban.country",
            "This country does not use IBANs, or the country code is wrong.",
        ),
        (
            check_iban,
            "GB04WEST123456987654",
            {},
            "iban.format",
            "This IBAN does not have the length or layout used in its country.",
        ),
        (
            check_bank_card,
            "6222 0212 3456 789A",
            {},
            "bank_card.format",
            "A bank card number has digits only.",
        ),
        (
            check_bank_card,
            "62220212345",
            {},
            "bank_card.length",
            "A bank card number has between 12 and 19 digits.",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "." in value and " " not in value else "",
)
def test_refusals__code_and_english_message(check, value, options, code, message):
    with pytest.raises(IdentifierInvalid) as raised:
        check(value, **options)

    assert raised.value.code == code
    assert raised.value.args == (code,)
    with translation.override("en"):
        assert str(raised.value) == message
        assert str(raised.value.message) == message


def test_check_uscc__region_message():
    body = "91990000MA0123456"  # region 990000
    with pytest.raises(IdentifierInvalid) as raised:
        check_uscc(body + uscc_check_character(body))

    assert raised.value.code == "uscc.region"
    assert str(raised.value) == (
        "The region code in this Unified Social Credit Code is not a Chinese region."
    )


def test_check_identity_document__unknown_kind_message_names_the_kind():
    with pytest.raises(IdentifierInvalid) as raised:
        check_identity_document("driving_licence", "X")

    assert raised.value.code == "identity_document.kind"
    assert str(raised.value) == "Unknown identity document kind: driving_licence."


def test_warnings__english_text():
    with translation.override("en"):
        unknown_region = check_resident_id("110199199001011232", today=TODAY).warnings[0]
        assert str(unknown_region) == (
            "The region code 110199 is not in the division table for the birth year; "
            "compare it with the document."
        )
        passport = check_passport("123456789", country="CN").warnings[0]
        assert (passport.code, str(passport)) == (
            "passport.cn_format",
            "Chinese ordinary passport numbers are E or G followed by 8 digits, or E, a letter "
            "and 7 digits; check this number against the document.",
        )
        luhn = check_bank_card("6222021234567891").warnings
        assert [(warning.code, str(warning)) for warning in luhn] == [
            (
                "bank_card.luhn",
                "This card number fails the Luhn check; some real cards do, so compare it with "
                "the card.",
            )
        ]


def test_check_resident_id__legacy_number_is_dated_against_the_given_day():
    # born 1960-01-01: in the future on 1959-12-31, accepted from 1960-01-01
    assert code_of_legacy("110105600101123", datetime.date(1959, 12, 31)) == (
        "resident_id.birth_date"
    )
    checked = check_resident_id("110105600101123", today=datetime.date(1960, 1, 1))
    assert checked.details["birth_date"] == datetime.date(1960, 1, 1)


def code_of_legacy(number: str, today: datetime.date) -> str:
    with pytest.raises(IdentifierInvalid) as raised:
        check_resident_id(number, today=today)
    return raised.value.code


def test_check_email__quoted_local_part_with_at_sign_keeps_its_case():
    checked = check_email('"A@B"@Example.COM')

    assert checked.value == '"A@B"@example.com'
    assert checked.details == {"domain": "example.com"}


@pytest.mark.parametrize(
    ("warning", "english", "chinese"),
    [
        (
            {"field": "bank_card", "code": "bank_card.luhn", "message": "stored in English"},
            "This card number fails the Luhn check; some real cards do, so compare it with the "
            "card.",
            "卡号",
        ),
        (
            {"field": "x", "code": "other.code", "message": "as it was written"},
            "as it was written",
            "as it was written",
        ),
        (
            {"field": "x", "code": "", "message": ""},
            "Check this value against the document.",
            "证件",
        ),
        ({"field": "x"}, "Check this value against the document.", "证件"),
        ("a plain text warning", "a plain text warning", "a plain text warning"),
        (None, "", ""),
    ],
)
def test_warning_text__in_the_readers_language_never_the_bare_code(warning, english, chinese):
    from cpms.customers.validators import warning_text

    with translation.override("en"):
        assert warning_text(warning) == english
    with translation.override("zh-hans"):
        text = warning_text(warning)
    assert chinese in text
    assert "bank_card.luhn" not in text and "other.code" not in text
