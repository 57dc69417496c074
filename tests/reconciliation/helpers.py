"""Build small MT940 statements in tests."""

from __future__ import annotations

import datetime


def _amount(minor: int) -> str:
    return f"{abs(minor) // 100},{abs(minor) % 100:02d}"


def mt940(
    lines: list[tuple[datetime.date, int, str]],
    *,
    account: str = "3167",
    currency: str = "CNY",
    opening: int = 0,
    closing: int | None = None,
    statement: str = "STMT1",
) -> bytes:
    """lines: (value date, signed minor amount, reference). Closing defaults to what adds up."""
    first = min((day for day, _a, _r in lines), default=datetime.date(2025, 1, 1))
    last = max((day for day, _a, _r in lines), default=first)
    total = opening + sum(amount for _d, amount, _r in lines)
    closing = total if closing is None else closing
    out = [":20:" + statement, ":25:" + account, ":28C:1"]
    out.append(f":60F:{'C' if opening >= 0 else 'D'}{first:%y%m%d}{currency}{_amount(opening)}")
    for day, amount, reference in lines:
        mark = "C" if amount > 0 else "D"
        out.append(f":61:{day:%y%m%d}{day:%m%d}{mark}{_amount(amount)}NTRF{reference or 'NONREF'}")
        out.append(f":86:payment {reference}")
    out.append(f":62F:{'C' if closing >= 0 else 'D'}{last:%y%m%d}{currency}{_amount(closing)}")
    out.append("-")
    return ("\r\n".join(out) + "\r\n").encode()
