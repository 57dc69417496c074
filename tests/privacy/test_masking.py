from __future__ import annotations

import pytest

from cpms.privacy.masking import mask


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("identity", "110101199003071234", "1101**********1234"),
        ("identity", "11010119900307123X", "1101**********123X"),
        ("identity", "110101900307123", "1101*******7123"),  # 15-digit first generation
        ("identity", "E12345678", "E1*****78"),  # passport
        ("identity", "AB12", "***2"),
        ("identity", "AB", "**"),
        ("phone", "13812345678", "138****5678"),
        ("phone", "+86 138 1234 5678", "+86138****5678"),
        ("phone", "010-65529988", "010****9988"),
        ("phone", "6552 9988", "****9988"),
        ("phone", "12", "**"),
        ("email", "zhang@example.com", "z***@example.com"),
        ("email", "z@example.com", "z***@example.com"),
        ("email", "@example.com", "***@example.com"),
        ("email", "not-an-email", "n**********l"),
        ("bank_account", "6222021234561234", "6222 **** **** 1234"),
        ("bank_account", "6222 0212 3456 1234 567", "6222 **** **** 4567"),
        ("bank_account", "12345678", "**** 5678"),
        ("bank_account", "1234", "****"),
        ("name", "张三", "张*"),
        ("name", "张三丰", "张**"),
        ("name", "欧阳娜娜", "欧阳**"),
        ("name", "欧阳修", "欧阳*"),
        ("name", "欧阳", "欧*"),
        ("name", "诸葛亮", "诸葛*"),
        ("name", "阿依古丽·买买提", "阿*******"),
        ("name", "Zhang San", "Z**** S**"),
        ("name", "", ""),
        ("text", "浙江省杭州市西湖区文三路 1 号", "浙**************号"),
        ("text", "ab", "**"),
    ],
)
def test_mask__by_kind(kind, value, masked):
    assert mask(kind, value) == masked
