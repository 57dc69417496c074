"""The blind-index normalisers of `cpms.core.crypto`: equal values must normalise equally and
different values must stay different, or a blind-index search finds the wrong customers.

Expected values are written out by hand (the folded forms of full-width and other compatibility
characters are the ones Unicode's NFKC table gives)."""

from __future__ import annotations

import pytest

from cpms.core.crypto import (
    NORMALISERS,
    normalise_account,
    normalise_email,
    normalise_identity,
    normalise_name,
    normalise_phone,
)

# Phone ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+86-138-0013-8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("0086 138 0013 8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("(+86) 138.0013.8000", "13800138000"),
        # full-width digits and plus sign, ideographic space
        ("＋８６　１３８００１３８０００", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
    ],
)
def test_normalise_phone__mainland_forms_agree(value, expected):
    assert normalise_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # starts with 86 but is not 86 + 11 digits: kept whole
        ("861234567", "861234567"),
        ("86123456789", "86123456789"),
        ("861380013800", "861380013800"),
        ("86138001380001", "86138001380001"),
        # 13 digits that do not start with 86: kept whole
        ("4412345678901", "4412345678901"),
        ("1380013800086", "1380013800086"),
        # 0086 is dropped whatever follows
        ("0086123", "123"),
        # a local fixed-line number keeps its trunk prefix
        ("010 8888 6666", "01088886666"),
        ("", ""),
        ("+44 20 7946 0958", "442079460958"),
    ],
)
def test_normalise_phone__only_a_mainland_country_code_is_dropped(value, expected):
    assert normalise_phone(value) == expected


def test_normalise_phone__different_subscribers_stay_different():
    assert normalise_phone("8613800138000") != normalise_phone("8613800138001")
    assert normalise_phone("861234567") != normalise_phone("1234567")


# Name -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Zhang San", "zhang san"),
        ("  Zhang   San  ", "zhang san"),
        ("ZHANG\tSAN\n", "zhang san"),
        # full-width Latin letters and an ideographic space fold to ASCII
        ("ＺＨＡＮＧ　Ｓａｎ", "zhang san"),
        ("Ｚｈａｎｇ Ｓａｎ", "zhang san"),
        # the ﬁ ligature is a compatibility character
        ("Griﬃth", "griffith"),
        # German sharp s case-folds to ss
        ("Strauß", "strauss"),
        ("张三", "张三"),
        ("  张 三 ", "张 三"),
    ],
)
def test_normalise_name__case_width_and_spaces_folded(value, expected):
    assert normalise_name(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "阿依古丽·买买提",  # U+00B7 middle dot
        "阿依古丽•买买提",  # U+2022 bullet
        "阿依古丽・买买提",  # U+30FB katakana middle dot
        "阿依古丽･买买提",  # U+FF65 half-width katakana middle dot
        "阿依古丽．买买提",  # U+FF0E full-width full stop
        "阿依古丽⋅买买提",  # U+22C5 dot operator
    ],
)
def test_normalise_name__middle_dots_of_transliterated_names_unified(value):
    assert normalise_name(value) == "阿依古丽·买买提"


def test_normalise_name__full_width_name_with_bullet_folds_both():
    assert normalise_name("ＡＢＬＡ•买买提") == "abla·买买提"


def test_normalise_name__different_names_stay_different():
    assert normalise_name("张三") != normalise_name("张山")
    assert normalise_name("Zhang San") != normalise_name("ZhangSan")


# Identity, email, account ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("110105 19491231 002x", "11010519491231002X"),
        ("110105-19491231-002X", "11010519491231002X"),
        ("110105.19491231/002_X", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
        ("e12345678", "E12345678"),
    ],
)
def test_normalise_identity__separators_case_and_width_folded(value, expected):
    assert normalise_identity(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Someone@Example.COM", "someone@example.com"),
        ("  someone@example.com \n", "someone@example.com"),
        ("ｓｏｍｅｏｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "someone@example.com"),
        ("张三@例子.中国", "张三@例子.中国"),
    ],
)
def test_normalise_email__trimmed_lower_case_width_folded(value, expected):
    assert normalise_email(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6222021234567890", "6222021234567890"),
        ("6222 0212 3456 7890", "6222021234567890"),
        ("6222-0212-3456-7890", "6222021234567890"),
        ("６２２２０２１２３４５６７８９０", "6222021234567890"),
    ],
)
def test_normalise_account__digits_only(value, expected):
    assert normalise_account(value) == expected


def test_normalisers__registered_by_kind():
    assert NORMALISERS["identity"] is normalise_identity
    assert NORMALISERS["phone"] is normalise_phone
    assert NORMALISERS["email"] is normalise_email
    assert NORMALISERS["name"] is normalise_name
    assert NORMALISERS["bank_account"] is normalise_account
    assert NORMALISERS["text"]("  ＡＢＣ１２３ ") == "ABC123"
    assert NORMALISERS["text"](" plain ") == "plain"
