"""CSV column-mapping profiles: which columns of a bank's export hold the date, amount, balance...

A profile is a frozen value that round-trips through a plain dict (`to_dict` / `from_dict`), so
the reconciliation app can store user-defined profiles as JSON. `from_dict` validates with
pydantic and reports every bad field by name.
"""

from __future__ import annotations

import codecs
import datetime
import re
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import pydantic
from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed

from .base import StatementUnreadable

DEFAULT_CURRENCY_ALIASES: dict[str, str] = {
    "人民币": "CNY",
    "人民币元": "CNY",
    "RMB": "CNY",
    "元": "CNY",
    "美元": "USD",
    "港币": "HKD",
    "港元": "HKD",
    "欧元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
    "澳元": "AUD",
    "澳大利亚元": "AUD",
    "加元": "CAD",
    "加拿大元": "CAD",
    "新加坡元": "SGD",
    "瑞士法郎": "CHF",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class InvalidProfile(ValidationFailed):
    code = "reconciliation.invalid_profile"

    def default_message(self) -> str:
        return _("The CSV profile is not valid.")


@dataclass(frozen=True, kw_only=True)
class CsvProfile:
    """How to read one bank's CSV export. Column names are matched exactly (after trimming
    spaces) against the header row, which is the first row containing all `header_contains`."""

    name: str
    label: str
    header_contains: tuple[str, ...]
    date_column: str
    encodings: tuple[str, ...] = ("utf-8-sig", "gb18030")
    delimiter: str = ","
    date_formats: tuple[str, ...] = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
    amount_column: str | None = None
    debit_column: str | None = None
    credit_column: str | None = None
    currency_column: str | None = None
    default_currency: str = "CNY"
    currency_aliases: dict[str, str] = field(default_factory=dict, hash=False)
    balance_column: str | None = None
    reference_columns: tuple[str, ...] = ()
    description_columns: tuple[str, ...] = ()
    counterparty_columns: tuple[str, ...] = ()
    counterparty_account_columns: tuple[str, ...] = ()
    bank_code_column: str | None = None
    account_column: str | None = None
    decimal_comma: bool = False  # amounts written 1.234,56 instead of 1,234.56
    # an unsigned amount whose direction is in its own column (收/支, 借贷标志)
    direction_column: str | None = None
    direction_in: tuple[str, ...] = ()  # values meaning money in (收入, 贷)
    direction_out: tuple[str, ...] = ()  # values meaning money out (支出, 借)
    # rows to leave out: column -> values (收/支: 不计收支, 交易状态: 交易关闭)
    skip_rows: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    # a row whose first cell starts with one of these ends the table (合计, 共N笔记录, ------)
    footer_markers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _validated(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skip_rows"] = {column: list(values) for column, values in self.skip_rows.items()}
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in data.items()
        }

    @classmethod
    def from_dict(cls, data: Any) -> CsvProfile:
        return cls(**_validated(data))

    def columns(self) -> list[tuple[str, str]]:
        """(profile field, column name) for every column the profile uses."""
        used = [("date_column", self.date_column)]
        for name in (
            "amount_column",
            "debit_column",
            "credit_column",
            "currency_column",
            "balance_column",
            "bank_code_column",
            "account_column",
            "direction_column",
        ):
            if getattr(self, name):
                used.append((name, getattr(self, name)))
        used += [("skip_rows", column) for column in self.skip_rows]
        for name in (
            "reference_columns",
            "description_columns",
            "counterparty_columns",
            "counterparty_account_columns",
        ):
            used += [(name, column) for column in getattr(self, name)]
        return used

    def currency_for(self, text: str) -> str | None:
        value = text.strip()
        aliases = {**DEFAULT_CURRENCY_ALIASES, **self.currency_aliases}
        if value in aliases:
            return aliases[value]
        if value.upper() in aliases:
            return aliases[value.upper()]
        return value.upper() if _CURRENCY.match(value.upper()) else None


Column = Annotated[
    str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class _ProfileModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=False)

    name: str
    label: Column
    header_contains: list[Column]
    date_column: Column
    encodings: list[str] = ["utf-8-sig", "gb18030"]
    delimiter: str = ","
    date_formats: list[str] = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]
    amount_column: Column | None = None
    debit_column: Column | None = None
    credit_column: Column | None = None
    currency_column: Column | None = None
    default_currency: str = "CNY"
    currency_aliases: dict[str, str] = {}
    balance_column: Column | None = None
    reference_columns: list[Column] = []
    description_columns: list[Column] = []
    counterparty_columns: list[Column] = []
    counterparty_account_columns: list[Column] = []
    bank_code_column: Column | None = None
    account_column: Column | None = None
    decimal_comma: bool = False
    direction_column: Column | None = None
    direction_in: list[Column] = []
    direction_out: list[Column] = []
    skip_rows: dict[Column, list[str]] = {}
    footer_markers: list[Column] = []


def _direction_errors(model: _ProfileModel) -> dict[str, str]:
    errors: dict[str, str] = {}
    values = model.direction_in or model.direction_out
    if not model.direction_column:
        if values:
            errors["direction_column"] = _("Direction values are given, but no direction column.")
        return errors
    if not model.amount_column:
        errors["direction_column"] = _(
            "A direction column needs an unsigned amount column, not debit and credit columns."
        )
    for name in ("direction_in", "direction_out"):
        if not getattr(model, name):
            errors[name] = _(
                "Give the values of the direction column that mean money in and money out."
            )
    both = sorted(set(model.direction_in) & set(model.direction_out))
    if both:
        errors["direction_out"] = _("'%(value)s' is both a money-in and a money-out value.") % {
            "value": both[0]
        }
    return errors


def _semantic_errors(model: _ProfileModel) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _NAME.match(model.name):
        errors["name"] = _(
            "Use 1 to 40 lower-case letters, digits, '-' or '_', starting with a letter or digit."
        )
    if not model.header_contains:
        errors["header_contains"] = _("Name at least one column that identifies the header row.")
    if not model.encodings:
        errors["encodings"] = _("Name at least one encoding, e.g. utf-8-sig or gb18030.")
    for encoding in model.encodings:
        try:
            codecs.lookup(encoding)
        except LookupError:
            errors["encodings"] = _("'%(value)s' is not a known encoding.") % {"value": encoding}
    if len(model.delimiter) != 1 or model.delimiter in '"\r\n':
        errors["delimiter"] = _("Use exactly one character such as ',', ';' or a tab.")
    if not model.date_formats:
        errors["date_formats"] = _("Name at least one date format, e.g. %Y-%m-%d.")
    for pattern in model.date_formats:
        sample = datetime.date(2024, 1, 31)
        try:
            parsed = datetime.datetime.strptime(sample.strftime(pattern), pattern).date()
        except ValueError:
            parsed = None
        if "%" not in pattern or parsed != sample:
            errors["date_formats"] = _(
                "'%(value)s' is not a date format with year, month and day (e.g. %%Y-%%m-%%d)."
            ) % {"value": pattern}
    direction = _direction_errors(model)
    two_columns = model.debit_column or model.credit_column
    if direction:
        errors.update(direction)
    elif model.amount_column and two_columns:
        errors["amount_column"] = _(
            "Give either a signed amount column or debit and credit columns, not both."
        )
    elif not model.amount_column and not two_columns:
        errors["amount_column"] = _("Give a signed amount column, or debit and credit columns.")
    elif two_columns and not (model.debit_column and model.credit_column):
        missing = "debit_column" if not model.debit_column else "credit_column"
        errors[missing] = _("Give both the debit and the credit column.")
    if not _CURRENCY.match(model.default_currency):
        errors["default_currency"] = _("Use a three-letter ISO 4217 code such as CNY.")
    for alias, code in model.currency_aliases.items():
        if not alias.strip() or not _CURRENCY.match(code):
            errors["currency_aliases"] = _(
                "'%(alias)s' -> '%(code)s': each alias must map to a three-letter ISO 4217 code."
            ) % {"alias": alias, "code": code}
    return errors


def _validated(data: Any) -> dict[str, Any]:
    """The profile fields as CsvProfile arguments, or InvalidProfile naming each bad field."""
    if not isinstance(data, dict):
        raise InvalidProfile(_("A CSV profile must be an object of named fields."))
    try:
        model = _ProfileModel.model_validate(data)
    except pydantic.ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "profile"
            if error["type"] == "extra_forbidden":
                errors[name] = _("'%(field)s' is not a profile field.") % {"field": name}
            elif error["type"] == "missing":
                errors[name] = _("This field is required.")
            else:
                errors.setdefault(name, str(error["msg"]))
        raise InvalidProfile(_describe(errors), fields=errors) from None
    errors = _semantic_errors(model)
    if errors:
        raise InvalidProfile(_describe(errors), fields=errors)
    values = model.model_dump()
    values["skip_rows"] = {
        column: tuple(value.strip() for value in skipped)
        for column, skipped in model.skip_rows.items()
    }
    return {
        key: tuple(value) if isinstance(value, list) else value for key, value in values.items()
    }


def _describe(errors: dict[str, str]) -> str:
    details = "; ".join(f"{name}: {why}" for name, why in errors.items())
    return _("The CSV profile is not valid: %(details)s") % {"details": details}


BUILTIN_PROFILES: dict[str, CsvProfile] = {
    "boc": CsvProfile(
        name="boc",
        label="Bank of China debit card (中国银行交易流水明细单)",
        header_contains=("记账日期", "金额", "余额", "交易名称"),
        date_column="记账日期",
        amount_column="金额",
        currency_column="币别",
        balance_column="余额",
        description_columns=("附言",),
        counterparty_columns=("对方账户名",),
        counterparty_account_columns=("对方卡号/账号",),
        bank_code_column="交易名称",
        account_column="借记卡号",
    ),
    "cmb": CsvProfile(
        name="cmb",
        label="China Merchants Bank debit card (招商银行交易流水)",
        header_contains=("记账日期", "交易金额", "联机余额", "交易摘要"),
        date_column="记账日期",
        amount_column="交易金额",
        currency_column="货币",
        balance_column="联机余额",
        description_columns=("客户摘要",),
        counterparty_columns=("对手信息",),
        bank_code_column="交易摘要",
    ),
}


def builtin_profile(name: str) -> CsvProfile:
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        message = _("Unknown CSV profile '%(name)s' (built-in profiles: %(names)s).") % {
            "name": name,
            "names": ", ".join(BUILTIN_PROFILES),
        }
        raise StatementUnreadable(message, fields={"profile": message}) from None
