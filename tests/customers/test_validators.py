"""Identifier and contact validation. Every vector was checked against python-stdnum or
phonenumbers; numbers marked "check digit computed" were completed with the library's own
`calc_check_digit(s)`, never by hand."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from cpms.customers.validators import (
    Checked,
    IdentifierInvalid,
    check_bank_card,
    check_email,
    check_iban,
    check_identity_document,
    check_passport,
    check_phone,
    check_resident_id,
    check_uscc,
    resident_id_from_legacy,
)

TODAY = datetime.date(2024, 6, 1)


def code_of(check, *args, **kwargs) -> str:
    with pytest.raises(IdentifierInvalid) as raised:
        check(*args, **kwargs)
    return raised.value.code


# Resident ID (GB 11643) -------------------------------------------------------------------------


def test_check_resident_id__gb11643_sample_is_valid():
    checked = check_resident_id("11010519491231002X", today=TODAY)

    assert checked == Checked(
        value="11010519491231002X",
        warnings=(),
        details={
            "birth_date": datetime.date(1949, 12, 31),
            "sex": "female",
            "region_code": "110105",
            "residence_permit": False,
            "province": "北京市",
            "county": "朝阳区",
            "legacy": False,
            "eighteen_digit": "11010519491231002X",
        },
    )


def test_check_resident_id__spaces_lower_case_x_and_full_width_are_normalised():
    assert check_resident_id("110105 19491231 002x", today=TODAY).value == "11010519491231002X"
    assert check_resident_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).value == (
        "11010519491231002X"
    )


def test_check_resident_id__odd_sequence_is_male():
    checked = check_resident_id("360426199101010071", today=TODAY)

    assert checked.details["sex"] == "male"
    assert checked.details["birth_date"] == datetime.date(1991, 1, 1)
    assert (checked.details["province"], checked.details["county"]) == ("江西省", "德安县")


def test_check_resident_id__default_today_is_the_local_date():
    assert check_resident_id("11010519491231002X").value == "11010519491231002X"


def test_check_resident_id__wrong_check_digit():
    assert code_of(check_resident_id, "110105194912310021", today=TODAY) == "resident_id.checksum"


def test_check_resident_id__wrong_length():
    assert code_of(check_resident_id, "1101051949123100", today=TODAY) == "resident_id.length"
    assert code_of(check_resident_id, "", today=TODAY) == "resident_id.length"


def test_check_resident_id__letter_in_the_body_is_a_format_error():
    assert code_of(check_resident_id, "1101051949123100AX", today=TODAY) == "resident_id.format"
    assert code_of(check_resident_id, "11010519491231002A", today=TODAY) == "resident_id.format"


def test_check_resident_id__february_30_is_rejected():
    # check digit computed: the number is well-formed except for the date
    assert code_of(check_resident_id, "110105199002301231", today=TODAY) == (
        "resident_id.birth_date"
    )


def test_check_resident_id__future_birth_date_is_rejected():
    with pytest.raises(IdentifierInvalid) as raised:
        check_resident_id("110105203001011231", today=TODAY)

    assert raised.value.code == "resident_id.birth_date"
    with translation.override("en"):
        assert str(raised.value) == "The birth date in this resident ID number is in the future."


def test_check_resident_id__age_130_accepted_131_rejected():
    # born 1893-06-02: 130 on 2024-06-01; born 1893-06-01: 131 that day
    assert check_resident_id("11010518930602123X", today=TODAY).details["birth_date"] == (
        datetime.date(1893, 6, 2)
    )
    with pytest.raises(IdentifierInvalid) as raised:
        check_resident_id("110105189306011234", today=TODAY)

    assert raised.value.code == "resident_id.birth_date"
    with translation.override("en"):
        assert str(raised.value) == (
            "The birth date in this resident ID number gives an age over 130 years."
        )


def test_check_resident_id__legacy_15_digits_accepted_with_conversion():
    with translation.override("en"):
        checked = check_resident_id("110105491231002", today=TODAY)

        assert checked.value == "110105491231002"
        assert checked.warning_codes == ("resident_id.legacy",)
        assert str(checked.warnings[0]) == (
            "This is a legacy 15-digit resident ID number; its 18-digit form is 11010519491231002X."
        )
    assert checked.details["legacy"] is True
    assert checked.details["eighteen_digit"] == "11010519491231002X"
    assert checked.details["birth_date"] == datetime.date(1949, 12, 31)
    assert checked.details["sex"] == "female"


def test_resident_id_from_legacy__inserts_century_and_check_digit():
    assert resident_id_from_legacy("110105491231002") == "11010519491231002X"


def test_check_resident_id__legacy_with_impossible_date_is_rejected():
    assert code_of(check_resident_id, "110105490230002", today=TODAY) == "resident_id.birth_date"


def test_check_resident_id__legacy_with_letter_is_a_format_error():
    assert code_of(check_resident_id, "11010549123100X", today=TODAY) == "resident_id.format"


def test_check_resident_id__unknown_province_is_rejected():
    # check digit computed; 99 is no province
    assert code_of(check_resident_id, "990105199001011236", today=TODAY) == "resident_id.region"


def test_check_resident_id__county_missing_from_table_is_a_warning():
    # stdnum.cn.ric.validate raises KeyError on this number (check digit computed)
    checked = check_resident_id("110199199001011232", today=TODAY)

    assert checked.warning_codes == ("resident_id.region_unknown",)
    assert checked.details["residence_permit"] is False
    assert "county" not in checked.details


def test_check_resident_id__district_newer_than_birth_year_is_a_warning():
    # Tongzhou district (110112) dates from 1997; codes follow registration, not birth
    checked = check_resident_id("110112195001011238", today=TODAY)

    assert checked.value == "110112195001011238"
    assert checked.warning_codes == ("resident_id.region_unknown",)


def test_check_resident_id__hong_kong_residence_permit_is_accepted():
    checked = check_resident_id("810000199001011230", today=TODAY)

    assert checked.warnings == ()
    assert checked.details["residence_permit"] is True
    assert checked.details["region_code"] == "810000"


# Unified Social Credit Code (GB 32100) ----------------------------------------------------------


def test_check_uscc__gb32100_sample_is_valid():
    checked = check_uscc("91350100M000100Y43")

    assert checked == Checked(
        value="91350100M000100Y43",
        details={
            "authority": "9",
            "entity_type": "1",
            "region_code": "350100",
            "organisation_code": "M000100Y4",
        },
    )


def test_check_uscc__spaces_and_lower_case_are_normalised():
    assert check_uscc("9135 0100 m000 100y 43").value == "91350100M000100Y43"


def test_check_uscc__stdnum_sample_is_valid():
    assert check_uscc("91110000600037341L").details["region_code"] == "110000"


def test_check_uscc__national_region_is_valid():
    # check character computed; region 100000 is used by national-level authorities
    assert check_uscc("11100000000013127D").details["region_code"] == "100000"


def test_check_uscc__altered_character_fails_checksum():
    assert code_of(check_uscc, "91350100M000100Y44") == "uscc.checksum"
    assert code_of(check_uscc, "91350100M000110Y43") == "uscc.checksum"


def test_check_uscc__wrong_length():
    assert code_of(check_uscc, "12345") == "uscc.length"


def test_check_uscc__letter_in_the_first_eight_is_a_format_error():
    assert code_of(check_uscc, "A1110000600037341L") == "uscc.format"


def test_check_uscc__excluded_letter_is_a_format_error():
    assert code_of(check_uscc, "91350100M000100O43") == "uscc.format"


def test_check_uscc__unknown_region_is_rejected():
    # check character computed; 99 is no province
    assert code_of(check_uscc, "91990000MA2Y0A0X08") == "uscc.region"


# Passport ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["E12345678", "EA1234567", "G12345678"])
def test_check_passport__chinese_ordinary_series_are_valid(number):
    checked = check_passport(number, country="CN")

    assert checked == Checked(value=number, details={"country": "CN"})


def test_check_passport__other_chinese_form_is_a_warning():
    checked = check_passport("DE1234567", country="chn")

    assert checked.value == "DE1234567"
    assert checked.warning_codes == ("passport.cn_format",)
    assert checked.details == {"country": "CN"}


def test_check_passport__foreign_number_normalised_without_warning():
    checked = check_passport(" ab 123-456 ", country="gb")

    assert checked == Checked(value="AB123456", details={"country": "GB"})


def test_check_passport__without_country():
    assert check_passport("X1234567") == Checked(value="X1234567", details={"country": None})


def test_check_passport__length_outside_5_to_20():
    assert code_of(check_passport, "1234") == "passport.length"
    assert code_of(check_passport, "A" * 21) == "passport.length"
    assert check_passport("A" * 20).value == "A" * 20
    assert check_passport("12345").value == "12345"


def test_check_passport__non_alphanumeric_is_a_format_error():
    assert code_of(check_passport, "AB/12345") == "passport.format"
    assert code_of(check_passport, "护照12345") == "passport.format"


def test_check_passport__bad_country_code():
    assert code_of(check_passport, "E12345678", country="China") == "passport.country"


# Phone ------------------------------------------------------------------------------------------


def test_check_phone__chinese_mobile_in_international_form():
    checked = check_phone("+86 138 0013 8000")

    assert checked == Checked(
        value="+8613800138000",
        details={"type": "mobile", "region": "CN", "international": False},
    )


def test_check_phone__chinese_mobile_with_cn_default():
    assert check_phone("13800138000").value == "+8613800138000"


def test_check_phone__chinese_fixed_line():
    checked = check_phone("010 6552 9988")

    assert checked.value == "+861065529988"
    assert checked.details["type"] == "fixed_line"


def test_check_phone__international_number_accepted():
    checked = check_phone("+44 20 7946 0958")

    assert checked == Checked(
        value="+442079460958",
        details={"type": "fixed_line", "region": "GB", "international": True},
    )


def test_check_phone__other_default_region():
    assert check_phone("020 7946 0958", default_region="gb").value == "+442079460958"


@pytest.mark.parametrize("junk", ["junk", "12345", "", "+86 138"])
def test_check_phone__junk_is_invalid(junk):
    assert code_of(check_phone, junk) == "phone.invalid"


# Email ------------------------------------------------------------------------------------------


def test_check_email__domain_lower_cased_local_part_kept():
    checked = check_email("  Alice.Smith@Example.COM ")

    assert checked == Checked(value="Alice.Smith@example.com", details={"domain": "example.com"})


@pytest.mark.parametrize(
    "address", ["not-an-email", "a@b@example.com", "user@localhost", "@example.com", ""]
)
def test_check_email__invalid(address):
    assert code_of(check_email, address) == "email.invalid"


# IBAN -------------------------------------------------------------------------------------------


def test_check_iban__iso13616_gb_example():
    checked = check_iban("GB82 WEST 1234 5698 7654 32")

    assert checked == Checked(
        value="GB82WEST12345698765432",
        details={
            "country": "GB",
            "bban": "WEST12345698765432",
            "formatted": "GB82 WEST 1234 5698 7654 32",
        },
    )


def test_check_iban__iso13616_de_example():
    assert check_iban("de89 3704 0044 0532 0130 00").value == "DE89370400440532013000"


def test_check_iban__bad_check_digits():
    assert code_of(check_iban, "GB83 WEST 1234 5698 7654 32") == "iban.checksum"
    assert code_of(check_iban, "DE88 3704 0044 0532 0130 00") == "iban.checksum"


def test_check_iban__unknown_country():
    # check digits computed for the unassigned country code XX
    assert code_of(check_iban, "XX46370400440532013000") == "iban.country"


def test_check_iban__wrong_layout_for_country():
    # check digits computed; a GB BBAN has 4 letters and 14 digits, this one 12
    assert code_of(check_iban, "GB04WEST123456987654") == "iban.format"


def test_check_iban__not_an_iban_at_all():
    assert code_of(check_iban, "12345") == "iban.format"
    assert code_of(check_iban, "") == "iban.format"


# Bank card --------------------------------------------------------------------------------------


def test_check_bank_card__luhn_valid():
    checked = check_bank_card("4111 1111 1111 1111")

    assert checked == Checked(value="4111111111111111", details={"luhn_valid": True})


def test_check_bank_card__luhn_failure_is_a_warning():
    checked = check_bank_card("6222 0000 0000 0001")

    assert checked.value == "6222000000000001"
    assert checked.warning_codes == ("bank_card.luhn",)
    assert checked.details == {"luhn_valid": False}


def test_check_bank_card__length_outside_12_to_19():
    assert code_of(check_bank_card, "41111111111") == "bank_card.length"
    assert code_of(check_bank_card, "4" * 20) == "bank_card.length"
    assert check_bank_card("4" * 19).value == "4" * 19


def test_check_bank_card__non_digit_is_a_format_error():
    assert code_of(check_bank_card, "4111-1111-1111-111a") == "bank_card.format"


# Dispatch ---------------------------------------------------------------------------------------


def test_check_identity_document__dispatches_by_kind():
    assert check_identity_document("resident_id", "11010519491231002X", today=TODAY).value == (
        "11010519491231002X"
    )
    assert check_identity_document("passport", "E12345678", country="CN").details == {
        "country": "CN"
    }
    assert check_identity_document("uscc", "91350100M000100Y43").value == "91350100M000100Y43"


def test_check_identity_document__passes_errors_through():
    assert code_of(check_identity_document, "uscc", "91350100M000100Y44") == "uscc.checksum"


def test_check_identity_document__unknown_kind():
    with pytest.raises(IdentifierInvalid) as raised:
        check_identity_document("driving_licence", "123")

    assert raised.value.code == "identity_document.kind"
    with translation.override("en"):
        assert str(raised.value) == "Unknown identity document kind: driving_licence."
