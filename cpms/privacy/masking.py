"""Masks for personal data on screen and in the API: enough to recognise, not enough to use.

identity  110101199003071234  -> 1101**********1234
phone     13812345678         -> 138****5678
email     zhang@example.com   -> z***@example.com
account   6222021234561234    -> 6222 **** **** 1234
name      张三 / 欧阳娜娜       -> 张* / 欧阳**
"""

from __future__ import annotations

import re
import unicodedata

from cpms.core.crypto import normalise_account

# Two-character surnames (复姓) keep both characters visible.
_COMPOUND_SURNAMES_TEXT = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 "
    "轩辕 令狐 钟离 澹台 端木 独孤 南宫 西门 申屠 太史 闻人 赫连 呼延 "
    "万俟 百里 东郭 南门 羊舌 微生 公羊 公冶 濮阳 淳于 单于 太叔 仲孙 "
    "第五 梁丘 左丘 拓跋 司空 亓官 司寇 子车 颛孙 壤驷 公良 漆雕 乐正 "
    "宰父 谷梁 段干 东门 巫马 公西 鲜于 闾丘"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAMES_TEXT.split())
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _keep(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    return value[:head] + "*" * hidden + (value[-tail:] if tail else "")


def mask_identity(value: str) -> str:
    """Resident ID (18): first 4 and last 4; shorter documents keep less."""
    text = "".join(value.split())
    if len(text) >= 15:
        return _keep(text, 4, 4)
    if len(text) >= 8:
        return _keep(text, 2, 2)
    if len(text) >= 3:
        return _keep(text, 0, 1)
    return "*" * len(text)


def mask_phone(value: str) -> str:
    """Mobile numbers keep the first 3 and last 4 digits of the national number."""
    digits = "".join(character for character in value if character.isdigit())
    prefix = ""
    if value.strip().startswith("+") and len(digits) > 11:
        prefix, digits = "+" + digits[:-11], digits[-11:]
    if len(digits) >= 11:
        return prefix + _keep(digits, 3, 4)
    if len(digits) >= 7:
        return prefix + _keep(digits, 0, 4)
    if len(digits) >= 3:
        return prefix + _keep(digits, 0, 1)
    return "*" * len(digits)


def mask_email(value: str) -> str:
    local, separator, domain = value.strip().rpartition("@")
    if not separator:
        return mask_text(value)
    if not local:
        return "***@" + domain
    return local[0] + "***@" + domain


def mask_account(value: str) -> str:
    """Bank cards: `6222 **** **** 1234`; short account numbers keep the last 4 only."""
    digits = normalise_account(value)
    if len(digits) >= 12:
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if len(digits) >= 6:
        return "**** " + digits[-4:]
    return "*" * len(digits)


def mask_name(value: str) -> str:
    """Chinese names keep the surname (two characters for 复姓): 张* · 欧阳** ; other names keep
    the first letter of each word: `Z**** S**`."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return ""
    if _CJK.match(text):
        surname = 2 if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else 1
        return text[:surname] + "*" * (len(text) - surname)
    return " ".join(word[0] + "*" * (len(word) - 1) for word in text.split())


def mask_text(value: str) -> str:
    text = value.strip()
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


MASKS = {
    "identity": mask_identity,
    "phone": mask_phone,
    "email": mask_email,
    "name": mask_name,
    "bank_account": mask_account,
    "text": mask_text,
}


def mask(kind: str, value: str) -> str:
    return MASKS[kind](value)
