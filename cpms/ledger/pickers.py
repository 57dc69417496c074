"""The ledger account picker ("ledger_account"): staff find an account by its customer's name,
pinyin or customer number and its purpose or asset ("张三 活期 CNY"), or an internal account by
its readable name ("客户资金银行账户", "Settlement"). Every word must match one of those. Scoped
like the ledger accounts list (customer accounts follow the customer's scope; internal accounts
are the firm's), so the picker never offers what the user may not see."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import translation

from cpms.access.checks import user_has_permission
from cpms.core.pickers import LIMIT, Option
from cpms.ledger import display, selectors
from cpms.ledger.choices import AccountPurpose, AccountStatus
from cpms.ledger.models import POST_PERMISSION, VIEW_PERMISSION, Account

KIND = "ledger_account"
# what a form may ask the picker to scope by (f_permission=…); anything else is view
SCOPING_PERMISSIONS = frozenset({VIEW_PERMISSION, POST_PERMISSION})
MAX_WORDS = 5


def picker_queryset(user: Any, permission: str = VIEW_PERMISSION) -> QuerySet[Account]:
    """The accounts a picker of `permission` may offer and a form may accept."""
    return selectors.visible_accounts(user, permission).select_related(
        "asset", "customer", "holding"
    )


def _purposes_matching(word: str) -> list[str]:
    """Purposes whose label (in Chinese or English) or value contains `word`."""
    word = word.lower()
    found = []
    for purpose in AccountPurpose:
        labels = {purpose.value}
        for language in ("zh-hans", "en"):
            with translation.override(language):
                labels.add(str(purpose.label).lower())
        if any(word in label for label in labels):
            found.append(purpose.value)
    return found


def _word_condition(word: str) -> Q:
    condition = (
        Q(customer__legal_name__icontains=word)
        | Q(customer__customer_number=word.upper())
        | Q(holding__holding_number=word.upper())
        | Q(asset__code=word.upper())
        | Q(code=word.upper())
        | Q(name__icontains=word)
    )
    compact = word.lower()
    if compact.isascii() and compact.isalpha():
        condition |= Q(customer__name_pinyin__icontains=compact)
    purposes = _purposes_matching(word)
    if purposes:
        condition |= Q(purpose__in=purposes)
    return condition


def search_accounts(*, user: Any, q: str, extra: Mapping[str, str]) -> Iterable[Option]:
    permission = extra.get("permission", VIEW_PERMISSION)
    if permission not in SCOPING_PERMISSIONS:
        permission = VIEW_PERMISSION
    if not user_has_permission(user, permission):
        return []
    text = unicodedata.normalize("NFKC", q or "").strip()
    words = [word for word in re.split(r"[\s·,，/]+", text) if word][:MAX_WORDS]
    if not words:
        return []
    query = picker_queryset(user, permission).filter(status=AccountStatus.OPEN)
    for word in words:
        query = query.filter(_word_condition(word))
    currency = (extra.get("currency") or extra.get("asset") or "").strip().upper()
    if currency:
        query = query.filter(asset__code=currency)
    rows = list(query.order_by("kind", "customer__legal_name", "purpose", "pk")[:LIMIT])
    return [
        Option(
            value=str(account.pk),
            label=display.account_label(account),
            detail=display.account_detail(account),
        )
        for account in rows
    ]
