"""Synthetic, valid customer rows (checksummed resident IDs, mobile numbers) for the template,
tests and benchmarks. Deterministic for a seed."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_REGIONS = ("110105", "110101", "310104", "330106", "440305", "350102", "510104", "320102")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def resident_id(region: str, birth: datetime.date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11]


def customer_rows(count: int, *, seed: int = 1, start: int = 0) -> Iterator[dict[str, str]]:
    """`count` distinct individuals (row i is always the same person for a seed)."""
    for number in range(start, start + count):
        rng = random.Random(seed * 1_000_003 + number)  # noqa: S311 (test data)
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=number % 18_000)
        region = _REGIONS[(number // 18_000) % len(_REGIONS)]
        sequence = (number // (18_000 * len(_REGIONS))) % 1000
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
        yield {
            "kind": "individual",
            "legal_name": name,
            "identity_kind": "resident_id",
            "identity_number": resident_id(region, birth, sequence),
            "phone": f"139{number % 100_000_000:08d}",
            "email": f"c{number}@example.com",
            "address": f"杭州市西湖区文三路 {number % 999 + 1} 号",
            "risk_rating": rng.choice(("low", "medium", "high")),
            "segment": rng.choice(("mass", "affluent", "private")),
            "tags": "demo",
        }
