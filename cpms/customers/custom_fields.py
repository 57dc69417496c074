"""Typed values of the custom fields administrators define per kind of customer
(`models.CustomFieldDefinition`). Pure functions: the services call them while validating a
customer, the console uses them to build and show the dynamic fields.

Values are stored as JSON on the customer: text and choice as strings, integer as a number,
decimal as a canonical string ("1234.50", never a float), date as "YYYY-MM-DD", boolean as
true/false. An empty value (None or "") means "not set": the key is removed."""

from __future__ import annotations

import datetime
import decimal
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from cpms.customers.choices import CustomFieldType

KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_TEXT_LENGTH = 1000
MAX_CHOICES = 100
MAX_CHOICE_LENGTH = 100
MAX_INTEGER = 10**15  # exact in every JSON reader
MAX_DECIMAL_DIGITS = 20
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "是"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "否"})
_INTEGER = re.compile(r"^[+-]?\d+$")


class CustomValueInvalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_key(key: str) -> str:
    """The field name of an error about a custom field, as services report it."""
    return f"custom_fields.{str(key)[:40]}"


def _text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def coerce(field_type: str, choices: Iterable[str], value: Any) -> Any:
    """The stored form of `value` for a field of `field_type`; None when it is empty. Raises
    CustomValueInvalid with a message for the user."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field_type == CustomFieldType.TEXT:
        if isinstance(value, dict | list | bool):
            raise CustomValueInvalid(_("Enter text."))
        text = str(value).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise CustomValueInvalid(
                _("At most %(count)d characters.") % {"count": MAX_TEXT_LENGTH}
            )
        return text
    if field_type == CustomFieldType.INTEGER:
        return _integer(value)
    if field_type == CustomFieldType.DECIMAL:
        return _decimal(value)
    if field_type == CustomFieldType.DATE:
        return _date(value)
    if field_type == CustomFieldType.BOOLEAN:
        return _boolean(value)
    if field_type == CustomFieldType.CHOICE:
        text = _text(value) if isinstance(value, str) else None
        if text is None or text not in set(choices):
            raise CustomValueInvalid(_("Choose one of the listed options."))
        return text
    raise CustomValueInvalid(_("This field has an unknown type."))


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise CustomValueInvalid(_("Enter a whole number."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(_text(value).replace(",", "")):
        number = int(_text(value).replace(",", ""))
    else:
        raise CustomValueInvalid(_("Enter a whole number."))
    if abs(number) >= MAX_INTEGER:
        raise CustomValueInvalid(_("This number is too large."))
    return number


def _decimal(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise CustomValueInvalid(_("Enter a number."))
    text = repr(value) if isinstance(value, float) else _text(value).replace(",", "")
    try:
        number = decimal.Decimal(text)
    except (decimal.InvalidOperation, ValueError):
        raise CustomValueInvalid(_("Enter a number.")) from None
    if not number.is_finite():
        raise CustomValueInvalid(_("Enter a number."))
    digits = number.as_tuple()
    if len(digits.digits) > MAX_DECIMAL_DIGITS or abs(number) >= MAX_INTEGER:
        raise CustomValueInvalid(_("This number is too large."))
    return format(number, "f")


def _date(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        raise CustomValueInvalid(_("Enter a date as YYYY-MM-DD."))
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(_text(value)).isoformat()
        except ValueError:
            pass
    raise CustomValueInvalid(_("Enter a date as YYYY-MM-DD."))


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = _text(value).lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise CustomValueInvalid(_("Answer yes or no."))


def check_values(
    definitions: Iterable[Any],
    *,
    stored: Mapping[str, Any],
    sent: Mapping[str, Any],
    is_new: bool,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The customer's custom values after applying `sent` to `stored`, and the errors keyed
    `custom_fields.<key>`. Only sent keys are checked (stored values were checked when entered
    and stay as they are when a definition changes); a new customer must have every required
    active field; unknown and retired keys are refused."""
    by_key = {definition.key: definition for definition in definitions}
    values = dict(stored)
    errors: dict[str, str] = {}
    for key, raw in sent.items():
        definition = by_key.get(key)
        if definition is None:
            errors[error_key(key)] = _("There is no such field for this kind of customer.")
            continue
        if not definition.active:
            errors[error_key(key)] = _("This field is no longer in use.")
            continue
        try:
            value = coerce(definition.field_type, definition.choices, raw)
        except CustomValueInvalid as exc:
            errors[error_key(key)] = exc.message
            continue
        if value is None:
            if definition.required:
                errors[error_key(key)] = _("This field is required.")
            values.pop(key, None)
        else:
            values[key] = value
    if is_new:
        for definition in by_key.values():
            if definition.active and definition.required and definition.key not in values:
                errors.setdefault(error_key(definition.key), _("This field is required."))
    return values, errors


def display(field_type: str, value: Any) -> str:
    """A stored value as text for a page, in the active language."""
    if value is None or value == "":
        return "—"
    if field_type == CustomFieldType.BOOLEAN and isinstance(value, bool):
        return pgettext("answer", "Yes") if value else pgettext("answer", "No")
    if field_type == CustomFieldType.DATE and isinstance(value, str):
        try:
            return date_format(datetime.date.fromisoformat(value), "Y-m-d")
        except ValueError:
            return value
    return str(value)


def clean_choices(choices: Any) -> tuple[list[str], str | None]:
    """A definition's list of choices, stripped and de-duplicated, and an error message."""
    if choices is None:
        return [], None
    if isinstance(choices, str):
        choices = choices.splitlines()
    cleaned: list[str] = []
    for item in choices:
        text = _text(item)
        if not text:
            continue
        if len(text) > MAX_CHOICE_LENGTH:
            return cleaned, _("A choice has at most %(count)d characters.") % {
                "count": MAX_CHOICE_LENGTH
            }
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_CHOICES:
        return cleaned, _("At most %(count)d choices.") % {"count": MAX_CHOICES}
    return cleaned, None
