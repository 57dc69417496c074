"""Validation of customer identifiers and contacts, for entry, import and data-quality checks.

Pure functions: no database, no models. Each `check_*` returns a `Checked` (the normalised value,
warnings a person should look at, and details derived from the value) or raises
`IdentifierInvalid` with a stable `code` and a translatable message.

The checksums and formats come from maintained libraries (python-stdnum, phonenumbers, Django's
EmailValidator). This module adds only what they leave out:

- resident ID (GB 11643): whitespace and full-width input; birth date not in the future and age at
  most 130; the legacy 15-digit form (accepted, reported, converted to 18 digits); the
  residence permits for Hong Kong, Macao and Taiwan residents (region 810000/820000/830000).
  `stdnum.cn.ric.validate` also rejects a region code that the bundled division table does not
  list for the birth year (codes follow registration, not birth, so real numbers fail) and raises
  `KeyError` for some unknown codes; here only an unknown province is an error, the rest a warning.
- USCC (GB 32100): province of the registering region code (the library checks none).
- passport: format sanity; the usual series of Chinese ordinary passports.
- bank card: length; a Luhn failure is a warning, since some real Chinese cards fail it.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import ValidationError as StdnumValidationError

MAXIMUM_AGE_YEARS = 130

# Province-level codes of GB/T 2260, plus 83 used by residence permits for Taiwan residents.
PROVINCE_CODES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82", "83"),
    }
)
# Region codes of residence permits for Hong Kong, Macao and Taiwan residents (since 2018).
RESIDENCE_PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})
# Registering region code of USCCs issued by national-level authorities.
USCC_NATIONAL_REGION = "100000"

CN_PASSPORT_PATTERNS = (
    re.compile(r"E[0-9]{8}"),  # ordinary electronic passport, first series
    re.compile(r"E[A-Z][0-9]{7}"),  # ordinary electronic passport, EA..., EB...
    re.compile(r"G[0-9]{8}"),  # ordinary passport, older series
)
CHINA_COUNTRY_CODES = frozenset({"CN", "CHN"})

_email_validator = EmailValidator(allowlist=[])
_PHONE_TYPES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper()
}


def _interpolate(template: Any, params: dict[str, Any]) -> str:
    return str(template) % params


_interpolate_lazy = lazy(_interpolate, str)


def _message(template: Any, **params: Any) -> Any:
    """A message that is translated when rendered, in the language active then."""
    return _interpolate_lazy(template, params) if params else template


class IdentifierInvalid(ValueError):
    """An identifier or contact that cannot be accepted. `code` is stable (clients match on it);
    `message` is for people and translated when rendered."""

    def __init__(self, code: str, message: Any) -> None:
        self.code = code
        self.message = message
        super().__init__(code)

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class CheckWarning:
    """Something a person should look at; the value is still accepted."""

    code: str
    message: Any

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Checked:
    value: str
    warnings: tuple[CheckWarning, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def warning_codes(self) -> tuple[str, ...]:
        return tuple(warning.code for warning in self.warnings)


def _compact(value: str) -> str:
    """Full-width forms to ASCII, whitespace and hyphens removed, upper case."""
    text = unicodedata.normalize("NFKC", value)
    return re.sub(r"[\s\-]+", "", text).upper()


# Resident identity card number (GB 11643) ------------------------------------------------------


def check_resident_id(value: str, *, today: datetime.date | None = None) -> Checked:
    """Check an 18-digit resident ID, or accept a legacy 15-digit one with a warning."""
    number = _compact(value)
    if len(number) == 15:
        return _check_legacy_resident_id(number, today=today)
    if len(number) != 18:
        raise IdentifierInvalid(
            "resident_id.length",
            _("A resident ID number has 18 characters (or 15 digits in the legacy form)."),
        )
    if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise IdentifierInvalid(
            "resident_id.format",
            _("A resident ID number is 17 digits followed by a digit or X."),
        )
    if number[17] != ric.calc_check_digit(number):
        raise IdentifierInvalid(
            "resident_id.checksum",
            _("The check digit of this resident ID number is wrong; check for a typing error."),
        )
    birth_date = _resident_birth_date(number, today=today)
    warnings, region = _resident_region(number)
    details = {
        "birth_date": birth_date,
        "sex": "male" if int(number[16]) % 2 else "female",
        "region_code": number[:6],
        **region,
        "legacy": False,
        "eighteen_digit": number,
    }
    return Checked(value=number, warnings=warnings, details=details)


def resident_id_from_legacy(number: str) -> str:
    """The 18-digit form of a legacy 15-digit number: century 19 inserted, check digit added."""
    body = number[:6] + "19" + number[6:]
    return body + ric.calc_check_digit(body + "0")


def _check_legacy_resident_id(number: str, *, today: datetime.date | None) -> Checked:
    if not number.isascii() or not number.isdigit():
        raise IdentifierInvalid(
            "resident_id.format", _("A legacy 15-digit resident ID number has digits only.")
        )
    converted = resident_id_from_legacy(number)
    checked = check_resident_id(converted, today=today)
    legacy_warning = CheckWarning(
        "resident_id.legacy",
        _message(
            _("This is a legacy 15-digit resident ID number; its 18-digit form is %(converted)s."),
            converted=converted,
        ),
    )
    return Checked(
        value=number,
        warnings=(legacy_warning, *checked.warnings),
        details={**checked.details, "legacy": True},
    )


def _resident_birth_date(number: str, *, today: datetime.date | None) -> datetime.date:
    try:
        birth_date = ric.get_birth_date(number)
    except StdnumValidationError:
        raise IdentifierInvalid(
            "resident_id.birth_date",
            _("The birth date in this resident ID number is not a real date."),
        ) from None
    today = today or timezone.localdate()
    if birth_date > today:
        raise IdentifierInvalid(
            "resident_id.birth_date",
            _("The birth date in this resident ID number is in the future."),
        )
    age = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    if age > MAXIMUM_AGE_YEARS:
        raise IdentifierInvalid(
            "resident_id.birth_date",
            _message(
                _("The birth date in this resident ID number gives an age over %(maximum)d years."),
                maximum=MAXIMUM_AGE_YEARS,
            ),
        )
    return birth_date


def _resident_region(number: str) -> tuple[tuple[CheckWarning, ...], dict[str, Any]]:
    code = number[:6]
    if code[:2] not in PROVINCE_CODES:
        raise IdentifierInvalid(
            "resident_id.region",
            _("The first two digits of this resident ID number are not a province code."),
        )
    if code in RESIDENCE_PERMIT_REGIONS:
        return (), {"residence_permit": True}
    try:
        place = ric.get_birth_place(number)
    except (StdnumValidationError, KeyError):  # stdnum raises KeyError for some unknown codes
        warning = CheckWarning(
            "resident_id.region_unknown",
            _message(
                _(
                    "The region code %(code)s is not in the division table for the birth year; "
                    "compare it with the document."
                ),
                code=code,
            ),
        )
        return (warning,), {"residence_permit": False}
    region = {key: place[key] for key in ("province", "county") if key in place}
    return (), {"residence_permit": False, **region}


# Unified Social Credit Code (GB 32100) ---------------------------------------------------------


def check_uscc(value: str) -> Checked:
    """Check a Unified Social Credit Code of an organisation."""
    number = _compact(value)
    try:
        number = uscc.validate(number)
    except InvalidLength:
        raise IdentifierInvalid(
            "uscc.length", _("A Unified Social Credit Code has 18 characters.")
        ) from None
    except InvalidChecksum:
        raise IdentifierInvalid(
            "uscc.checksum",
            _(
                "The check character of this Unified Social Credit Code is wrong; "
                "check for a typing error."
            ),
        ) from None
    except StdnumValidationError:
        raise IdentifierInvalid(
            "uscc.format",
            _(
                "A Unified Social Credit Code is 8 digits followed by 10 digits or capital "
                "letters (not I, O, S, V or Z)."
            ),
        ) from None
    region_code = number[2:8]
    if region_code != USCC_NATIONAL_REGION and region_code[:2] not in PROVINCE_CODES:
        raise IdentifierInvalid(
            "uscc.region",
            _("The region code in this Unified Social Credit Code is not a Chinese region."),
        )
    details = {
        "authority": number[0],
        "entity_type": number[1],
        "region_code": region_code,
        "organisation_code": number[8:17],
    }
    return Checked(value=number, details=details)


# Passport ---------------------------------------------------------------------------------------


def check_passport(value: str, *, country: str | None = None) -> Checked:
    """Sanity-check a passport number; `country` is the issuing country (ISO 3166 alpha-2/3)."""
    number = _compact(value)
    issuer = _passport_country(country)
    if not 5 <= len(number) <= 20:
        raise IdentifierInvalid(
            "passport.length", _("A passport number has between 5 and 20 letters and digits.")
        )
    if not number.isascii() or not number.isalnum():
        raise IdentifierInvalid(
            "passport.format", _("A passport number has only Latin letters and digits.")
        )
    warnings: tuple[CheckWarning, ...] = ()
    if issuer == "CN" and not any(pattern.fullmatch(number) for pattern in CN_PASSPORT_PATTERNS):
        warnings = (
            CheckWarning(
                "passport.cn_format",
                _(
                    "Chinese ordinary passport numbers are E or G followed by 8 digits, or E, "
                    "a letter and 7 digits; check this number against the document."
                ),
            ),
        )
    return Checked(value=number, warnings=warnings, details={"country": issuer})


def _passport_country(country: str | None) -> str | None:
    if country is None or not country.strip():
        return None
    code = country.strip().upper()
    if not (code.isascii() and code.isalpha() and len(code) in (2, 3)):
        raise IdentifierInvalid(
            "passport.country", _("The issuing country must be an ISO 3166 country code.")
        )
    return "CN" if code in CHINA_COUNTRY_CODES else code


# Phone and email --------------------------------------------------------------------------------


def check_phone(value: str, *, default_region: str = "CN") -> Checked:
    """Check a phone number; numbers without +country code are read in `default_region`."""
    invalid = IdentifierInvalid(
        "phone.invalid",
        _("This is not a valid phone number; give it with the country code, e.g. +86."),
    )
    try:
        parsed = phonenumbers.parse(value, default_region.upper())
    except phonenumbers.NumberParseException:
        raise invalid from None
    if not phonenumbers.is_valid_number(parsed):
        raise invalid
    region = phonenumbers.region_code_for_number(parsed)
    details = {
        "type": _PHONE_TYPES.get(phonenumbers.number_type(parsed), "unknown"),
        "region": region,
        "international": region != default_region.upper(),
    }
    normalised = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Checked(value=normalised, details=details)


def check_email(value: str) -> Checked:
    """Check an email address; the domain is lower-cased, the local part kept as given."""
    address = value.strip()
    local, at, domain = address.rpartition("@")
    normalised = f"{local}{at}{domain.lower()}"
    try:
        _email_validator(normalised)
    except DjangoValidationError:
        raise IdentifierInvalid("email.invalid", _("This is not a valid email address.")) from None
    return Checked(value=normalised, details={"domain": domain.lower()})


# Bank accounts ----------------------------------------------------------------------------------


def check_iban(value: str) -> Checked:
    """Check an IBAN (ISO 13616): structure per country and the mod 97 check digits."""
    number = stdnum_iban.compact(unicodedata.normalize("NFKC", value))
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", number):
        raise IdentifierInvalid(
            "iban.format",
            _("An IBAN is a country code, 2 check digits and up to 30 letters and digits."),
        )
    try:
        number = stdnum_iban.validate(number)
    except InvalidChecksum:
        raise IdentifierInvalid(
            "iban.checksum",
            _("The check digits of this IBAN are wrong; check for a typing error."),
        ) from None
    except InvalidComponent:
        raise IdentifierInvalid(
            "iban.country", _("This country does not use IBANs, or the country code is wrong.")
        ) from None
    except (InvalidFormat, InvalidLength, StdnumValidationError):
        raise IdentifierInvalid(
            "iban.format", _("This IBAN does not have the length or layout used in its country.")
        ) from None
    details = {
        "country": number[:2],
        "bban": number[4:],
        "formatted": stdnum_iban.format(number),
    }
    return Checked(value=number, details=details)


def check_bank_card(value: str) -> Checked:
    """Check a bank card number: 12 to 19 digits; a Luhn failure is only a warning."""
    number = _compact(value)
    if not number.isascii() or not number.isdigit():
        raise IdentifierInvalid("bank_card.format", _("A bank card number has digits only."))
    if not 12 <= len(number) <= 19:
        raise IdentifierInvalid(
            "bank_card.length", _("A bank card number has between 12 and 19 digits.")
        )
    luhn_valid = luhn.is_valid(number)
    warnings: tuple[CheckWarning, ...] = ()
    if not luhn_valid:
        warnings = (
            CheckWarning(
                "bank_card.luhn",
                _(
                    "This card number fails the Luhn check; some real cards do, so compare it "
                    "with the card."
                ),
            ),
        )
    return Checked(value=number, warnings=warnings, details={"luhn_valid": luhn_valid})


# Identity documents -----------------------------------------------------------------------------

IDENTITY_DOCUMENT_CHECKS = {
    "resident_id": check_resident_id,
    "passport": check_passport,
    "uscc": check_uscc,
}


def check_identity_document(kind: str, value: str, **options: Any) -> Checked:
    """Check an identity document by kind: `resident_id`, `passport` or `uscc`."""
    check = IDENTITY_DOCUMENT_CHECKS.get(kind)
    if check is None:
        raise IdentifierInvalid(
            "identity_document.kind",
            _message(_("Unknown identity document kind: %(kind)s."), kind=kind),
        )
    return check(value, **options)


# --- warnings as people read them ---------------------------------------------------------

# Warnings whose text has no values in it: shown from here in the reader's language rather
# than in the language of whoever entered the value (stored with the warning).
FIXED_WARNING_MESSAGES = {
    "passport.cn_format": gettext_lazy(
        "Chinese ordinary passport numbers are E or G followed by 8 digits, or E, "
        "a letter and 7 digits; check this number against the document."
    ),
    "bank_card.luhn": gettext_lazy(
        "This card number fails the Luhn check; some real cards do, so compare it with the card."
    ),
}


def warning_text(warning: Any) -> str:
    """The message of a stored warning ({"field", "code", "message"}) for a person: the fixed
    text of its code in the reader's language, else the stored message; never the bare code."""
    if not isinstance(warning, dict):
        return str(warning or "")
    fixed = FIXED_WARNING_MESSAGES.get(str(warning.get("code") or ""))
    if fixed is not None:
        return str(fixed)
    message = str(warning.get("message") or "")
    return message or str(gettext_lazy("Check this value against the document."))
