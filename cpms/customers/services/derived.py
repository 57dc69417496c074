"""Values derived from what was entered, shared with imports and data quality: the pinyin of a
name (search, duplicate matching) and the date of the next KYC review."""

from __future__ import annotations

import datetime
import re

from pypinyin import lazy_pinyin

from cpms.customers.choices import KYC_REVIEW_YEARS


def name_pinyin(name: str) -> str:
    """Full pinyin and initials of a name, lower case, for search: 张三 -> "zhangsan zs"."""
    syllables = [re.sub(r"[^0-9a-z]", "", part.lower()) for part in lazy_pinyin(name or "")]
    syllables = [part for part in syllables if part]
    if not syllables:
        return ""
    return f"{''.join(syllables)} {''.join(part[0] for part in syllables)}"[:600]


def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def kyc_next_review(reviewed: datetime.date | None, risk_rating: str) -> datetime.date | None:
    """The next KYC review: low risk every 3 years, medium every 2, high every year."""
    if reviewed is None:
        return None
    return add_years(reviewed, KYC_REVIEW_YEARS[risk_rating])
