"""Boundaries and tables of `cpms.customers.validators`: the birth-date and length limits, every
province code, the residence permits, and digits that are not ASCII.

Numbers are built here from their parts with the GB 11643 check digit computed by this module's
own implementation of ISO 7064 MOD 11-2 (checked against the standard's sample), never by the
code under test or the library it uses. The province table is GB/T 2260 written out by hand."""

from __future__ import annotations

import datetime

import pytest

from cpms.customers.validators import (
    IdentifierInvalid,
    check_bank_card,
    check_identity_document,
    check_passport,
    check_resident_id,
    check_uscc,
)

TODAY = datetime.date(2024, 6, 1)

# GB/T 2260 province-level divisions, plus 81/82/83 (Hong Kong, Macao, Taiwan residence permits).
PROVINCES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
    "83": "台湾居民居住证",
}
NOT_PROVINCES = sorted(f"{n:02d}" for n in range(100) if f"{n:02d}" not in PROVINCES)

WEIGHTS = [2 ** (17 - position) % 11 for position in range(17)]


def check_digit(body: str) -> str:
    """ISO 7064 MOD 11-2 over the 17-digit body, as GB 11643 specifies."""
    total = sum(int(digit) * weight for digit, weight in zip(body, WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def resident_id(region: str, birth: str, sequence: str = "123") -> str:
    body = region + birth + sequence
    assert len(body) == 17 and body.isascii() and body.isdigit()
    return body + check_digit(body)


def code_of(check, *args, **kwargs) -> str:
    with pytest.raises(IdentifierInvalid) as raised:
        check(*args, **kwargs)
    return raised.value.code


def test_check_digit__matches_the_gb11643_sample():
    assert WEIGHTS == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert resident_id("110105", "19491231", "002") == "11010519491231002X"
    assert resident_id("360426", "19910101", "007") == "360426199101010071"


# Province codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_check_resident_id__every_province_code_is_accepted(province):
    # region <province>0101 may or may not be in the division table: either way it is accepted
    number = resident_id(f"{province}0101", "19900101")

    checked = check_resident_id(number, today=TODAY)

    assert checked.value == number
    assert checked.details["region_code"] == f"{province}0101"
    assert checked.details["birth_date"] == datetime.date(1990, 1, 1)
    assert set(checked.warning_codes) <= {"resident_id.region_unknown"}
    assert checked.details["residence_permit"] is False


def test_check_resident_id__shanghai_district_gives_its_province():
    checked = check_resident_id(resident_id("310101", "19900101"), today=TODAY)

    assert checked.warnings == ()
    assert checked.details["province"] == PROVINCES["31"]


@pytest.mark.parametrize("prefix", NOT_PROVINCES)
def test_check_resident_id__every_other_two_digit_prefix_is_rejected(prefix):
    number = resident_id(f"{prefix}0101", "19900101")

    assert code_of(check_resident_id, number, today=TODAY) == "resident_id.region"


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_check_uscc__every_province_code_is_accepted(province):
    body = f"91{province}0000MA0123456"
    number = body + uscc_check_character(body)

    checked = check_uscc(number)

    assert checked.value == number
    assert checked.details["region_code"] == f"{province}0000"


@pytest.mark.parametrize("prefix", ["00", "16", "19", "30", "66", "84", "99"])
def test_check_uscc__other_region_prefixes_are_rejected(prefix):
    body = f"91{prefix}0000MA0123456"
    number = body + uscc_check_character(body)

    assert code_of(check_uscc, number) == "uscc.region"


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check_character(body: str) -> str:
    """GB 32100 check character: weights 3^i mod 31 over the 31-character alphabet."""
    total = sum(
        USCC_ALPHABET.index(character) * weight
        for character, weight in zip(body, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def test_uscc_check_character__matches_the_gb32100_sample():
    assert [3**i % 31 for i in range(17)] == USCC_WEIGHTS
    assert "91350100M000100Y4"[:17] + uscc_check_character("91350100M000100Y4") == (
        "91350100M000100Y43"
    )


# Residence permits ------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_check_resident_id__residence_permits_for_hk_macao_taiwan(region):
    number = resident_id(region, "19850315", "004")

    checked = check_resident_id(number, today=TODAY)

    assert checked.warnings == ()
    assert checked.details["residence_permit"] is True
    assert checked.details["region_code"] == region
    assert checked.details["birth_date"] == datetime.date(1985, 3, 15)
    assert checked.details["sex"] == "female"
    assert "province" not in checked.details


@pytest.mark.parametrize("region", ["810100", "820001", "830100"])
def test_check_resident_id__other_codes_of_those_provinces_are_not_permits(region):
    checked = check_resident_id(resident_id(region, "19850315"), today=TODAY)

    assert checked.details["residence_permit"] is False


# Birth date -------------------------------------------------------------------------------------


def test_check_resident_id__born_today_is_accepted():
    checked = check_resident_id(resident_id("110105", "20240601"), today=TODAY)

    assert checked.details["birth_date"] == TODAY


def test_check_resident_id__born_tomorrow_is_rejected():
    number = resident_id("110105", "20240602")

    assert code_of(check_resident_id, number, today=TODAY) == "resident_id.birth_date"


def test_check_resident_id__born_tomorrow_in_legacy_form_is_impossible_but_today_is_fine():
    # a legacy number has century 19, so it is never in the future; its age limit still applies
    assert check_resident_id("110105240601123", today=TODAY).details["birth_date"] == (
        datetime.date(1924, 6, 1)
    )


@pytest.mark.parametrize(
    ("today", "birth", "accepted"),
    [
        (datetime.date(2024, 6, 1), "18940601", True),  # exactly 130
        (datetime.date(2024, 5, 31), "18940601", True),  # 129, a day short of 130
        (datetime.date(2024, 6, 1), "18940531", True),  # 130 and a day
        (datetime.date(2024, 6, 1), "18930602", True),  # 130 until tomorrow
        (datetime.date(2024, 6, 1), "18930601", False),  # 131 today
        (datetime.date(2024, 6, 1), "18921231", False),
    ],
)
def test_check_resident_id__age_limit_by_month_and_day(today, birth, accepted):
    number = resident_id("110105", birth)
    if accepted:
        assert check_resident_id(number, today=today).value == number
    else:
        assert code_of(check_resident_id, number, today=today) == "resident_id.birth_date"


# Bank card length -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "accepted"),
    [(11, False), (12, True), (13, True), (18, True), (19, True), (20, False)],
)
def test_check_bank_card__length_limits(length, accepted):
    number = ("6222021234567890123456")[:length]
    if accepted:
        assert check_bank_card(number).value == number
    else:
        assert code_of(check_bank_card, number) == "bank_card.length"


# Digits that are not ASCII ----------------------------------------------------------------------

# Decimal digits of other scripts: str.isdigit() is true for them, int() reads them, and NFKC
# leaves them as they are. None of them may pass for an ASCII digit.
OTHER_DIGITS = {
    "arabic_indic": "٠١٢٣٤٥٦٧٨٩",
    "extended_arabic_indic": "۰۱۲۳۴۵۶۷۸۹",
    "devanagari": "०१२३४५६७८९",
    "bengali": "০১২৩৪৫৬৭৮৯",
    "thai": "๐๑๒๓๔๕๖๗๘๙",
    "myanmar": "၀၁၂၃၄၅၆၇၈၉",
    "nko": "߀߁߂߃߄߅߆߇߈߉",
}


def in_script(number: str, digits: str) -> str:
    return "".join(digits[int(char)] if char.isdigit() else char for char in number)


def test_other_digits__are_left_alone_by_nfkc_and_read_by_int():
    import unicodedata

    for digits in OTHER_DIGITS.values():
        assert unicodedata.normalize("NFKC", digits) == digits
        assert [int(digit) for digit in digits] == list(range(10))


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_resident_id__digits_of_other_scripts_are_a_format_error(script):
    number = in_script("11010519491231002X", OTHER_DIGITS[script])

    assert code_of(check_resident_id, number, today=TODAY) == "resident_id.format"


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_resident_id__one_foreign_digit_in_the_body_is_a_format_error(script):
    number = "1101051949123100" + OTHER_DIGITS[script][2] + "X"

    assert code_of(check_resident_id, number, today=TODAY) == "resident_id.format"


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_resident_id__foreign_check_digit_is_a_format_error(script):
    number = "36042619910101007" + OTHER_DIGITS[script][1]

    assert code_of(check_resident_id, number, today=TODAY) == "resident_id.format"


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_resident_id__legacy_form_in_other_digits_is_a_format_error(script):
    number = in_script("110105491231002", OTHER_DIGITS[script])

    with pytest.raises(IdentifierInvalid) as raised:
        check_resident_id(number, today=TODAY)

    assert raised.value.code == "resident_id.format"
    assert str(raised.value) == "A legacy 15-digit resident ID number has digits only."


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_bank_card__digits_of_other_scripts_are_a_format_error(script):
    number = in_script("6222021234567890", OTHER_DIGITS[script])

    assert code_of(check_bank_card, number) == "bank_card.format"


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_passport__digits_of_other_scripts_are_a_format_error(script):
    number = "E" + in_script("12345678", OTHER_DIGITS[script])

    assert code_of(check_passport, number, country="CN") == "passport.format"


@pytest.mark.parametrize("script", sorted(OTHER_DIGITS))
def test_check_uscc__digits_of_other_scripts_are_rejected(script):
    number = in_script("91350100M000100Y43", OTHER_DIGITS[script])

    with pytest.raises(IdentifierInvalid):
        check_uscc(number)


def test_full_width_digits__are_folded_and_accepted():
    assert check_resident_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).value == (
        "11010519491231002X"
    )
    assert check_bank_card("６２２２０２１２３４５６７８９０").value == "6222021234567890"
    assert check_identity_document("passport", "Ｅ１２３４５６７８", country="CN").value == (
        "E12345678"
    )
