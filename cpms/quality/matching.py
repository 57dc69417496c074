"""Duplicate detection without the database: name normalisation, similarity and blocking.
services.duplicate_scan feeds it customer rows and stores what it finds."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Any

from cpms.customers.choices import CustomerKind
from cpms.customers.services import name_pinyin as pinyin_of
from cpms.quality.choices import REASON_POINTS, MatchReason

# Legal-form words an organisation's name may carry or omit (longest first).
ORGANISATION_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "分公司",
    "集团",
    "公司",
    "company limited",
    "co ltd",
    "co limited",
    "limited",
    "company",
    "corporation",
    "corp",
    "ltd",
    "inc",
    "llc",
    "gmbh",
    "plc",
    "co",
)
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Names whose similarity reaches this ratio count as "similar" (reason `name`).
NAME_THRESHOLD = 0.85
ORGANISATION_NAME_THRESHOLD = 0.9
# A block (customers sharing a phone, a birth date, a name key) larger than this is not
# expanded into pairs: it is a shared switchboard number or a placeholder date, not a duplicate.
MAX_BLOCK = 200


def normalise_name(name: str, *, organisation: bool) -> str:
    """Lower case, full-width folded (NFKC), punctuation removed; organisations also lose their
    legal-form suffixes (有限公司, Co., Ltd., …). Latin words are sorted so "Smith John" equals
    "John Smith". The result has no spaces."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = _SPACES.sub(" ", _NOT_WORD.sub(" ", text)).strip()
    if organisation:
        changed = True
        while changed and text:
            changed = False
            for suffix in ORGANISATION_SUFFIXES:
                ending = f" {suffix}" if suffix.isascii() else suffix
                if text.endswith(ending) and len(text) > len(ending):
                    text = text[: -len(ending)].strip()
                    changed = True
                    break
    words = text.split(" ")
    if all(word.isascii() for word in words):
        words = sorted(words)
    return "".join(words)


def full_pinyin(name_pinyin: str) -> str:
    """The full-pinyin part of `Customer.name_pinyin` ("zhangsan zs" -> "zhangsan")."""
    return (name_pinyin or "").split(" ")[0]


def initials(name_pinyin: str) -> str:
    parts = (name_pinyin or "").split(" ")
    return parts[1] if len(parts) > 1 else ""


def bounded_distance(first: str, second: str, bound: int) -> int:
    """Levenshtein distance of two short strings, or `bound + 1` as soon as it must exceed
    `bound` (names are short; the bound keeps dissimilar pairs cheap)."""
    if abs(len(first) - len(second)) > bound:
        return bound + 1
    previous = list(range(len(second) + 1))
    for row, char in enumerate(first, start=1):
        current = [row]
        for column, other in enumerate(second, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (char != other),
                )
            )
        if min(current) > bound:
            return bound + 1
        previous = current
    return previous[-1]


def ratio(first: str, second: str, threshold: float = 0.0) -> float:
    """Similarity 0-1: one minus the edit distance over the longer length. Below `threshold`
    the exact value does not matter and the computation stops early (0.0 is returned)."""
    if not first or not second:
        return 0.0
    if first == second:
        return 1.0
    longest = max(len(first), len(second))
    bound = int(longest * (1 - threshold))
    distance = bounded_distance(first, second, bound)
    if distance > bound:
        return 0.0
    return 1 - distance / longest


def name_similarity(first: NameKey, second: NameKey, threshold: float = 0.0) -> float:
    """The better of the similarity of the written names and of their pinyin, so homophones
    (张三 / 章三: both "zhangsan") count as similar. Values below `threshold` come back as 0."""
    return max(
        ratio(first.text, second.text, threshold), ratio(first.pinyin, second.pinyin, threshold)
    )


class NameKey:
    """What is compared of a name: the normalised written form and its full pinyin."""

    __slots__ = ("initials", "pinyin", "text")

    def __init__(self, text: str, pinyin: str, initials: str = "") -> None:
        self.text = text
        self.pinyin = pinyin
        self.initials = initials

    @classmethod
    def of(cls, legal_name: str, name_pinyin: str, *, organisation: bool) -> NameKey:
        text = normalise_name(legal_name, organisation=organisation)
        if organisation:
            spelled = _organisation_pinyin(legal_name, name_pinyin, text)
            return cls(text, full_pinyin(spelled), initials(spelled))
        return cls(text, full_pinyin(name_pinyin), initials(name_pinyin))


@lru_cache(maxsize=256)
def _pinyin_of(text: str) -> str:
    return pinyin_of(text)


def _organisation_pinyin(legal_name: str, stored: str, text: str) -> str:
    """Pinyin ("full initials") of the normalised organisation name. Cheap path: the stored
    pinyin of the legal name minus the pinyin of the removed suffix (few distinct suffixes, so
    cached); otherwise computed afresh."""
    whole = normalise_name(legal_name, organisation=False)
    if whole.startswith(text) and whole != text:
        removed = _pinyin_of(whole[len(text) :])
        if removed and stored:
            full, short = full_pinyin(stored), initials(stored)
            cut_full, cut_short = full_pinyin(removed), initials(removed)
            if full.endswith(cut_full) and short.endswith(cut_short):
                return f"{full[: -len(cut_full)]} {short[: -len(cut_short)]}"
    elif whole == text and stored:
        return stored
    return _pinyin_of(text) if len(text) < 16 else _uncached_pinyin(text)


def _uncached_pinyin(text: str) -> str:
    return pinyin_of(text)


def name_matcher(
    legal_name: str, name_pinyin: str, *, organisation: bool
) -> Callable[[str, str], bool]:
    """The customers app's name matcher (registered in `QualityConfig.ready()` through
    `customers.name_matching`): names alike when their similarity, written or pinyin, reaches
    the threshold of the scan (`NAME_THRESHOLD`, organisations `ORGANISATION_NAME_THRESHOLD`).
    The new name's key is built once for every row of the registration's block."""
    key = NameKey.of(legal_name, name_pinyin, organisation=organisation)
    threshold = ORGANISATION_NAME_THRESHOLD if organisation else NAME_THRESHOLD

    def alike(other_name: str, other_pinyin: str) -> bool:
        other = NameKey.of(other_name, other_pinyin, organisation=organisation)
        return name_similarity(key, other, threshold) >= threshold

    return alike


@dataclass
class _Match:
    reasons: set[str] = field(default_factory=set)
    similarity: float = 0.0

    def score(self) -> int:
        return min(100, sum(REASON_POINTS[reason] for reason in self.reasons))


ROW_FIELDS = (
    "pk",
    "kind",
    "legal_name",
    "name_pinyin",
    "date_of_birth",
    "identity_number_index",
    "phone_index",
    "email_index",
)


class _Finder:
    """Blocking: pairs are only formed inside groups that share an index value, a birth date or
    an organisation's name initials, never across the whole table."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = {row[0]: row for row in rows}
        self.found: dict[tuple[int, int], _Match] = {}
        self.skipped = 0
        self._keys: dict[int, NameKey] = {}

    def key(self, pk: int) -> NameKey:
        if pk not in self._keys:
            row = self.rows[pk]
            self._keys[pk] = NameKey.of(
                row[2], row[3], organisation=row[1] == CustomerKind.ORGANISATION
            )
        return self._keys[pk]

    def pairs(self, groups: Iterable[list[int]]) -> Iterable[tuple[int, int]]:
        for members in groups:
            if len(members) < 2:
                continue
            if len(members) > MAX_BLOCK:
                self.skipped += 1
                continue
            yield from combinations(sorted(members), 2)

    def add(self, pair: tuple[int, int], reason: str, similarity: float = 0.0) -> None:
        match = self.found.setdefault(pair, _Match())
        match.reasons.add(reason)
        match.similarity = max(match.similarity, similarity)

    def group(self, position: int, only: Callable[[tuple[Any, ...]], bool] | None = None) -> list:
        groups: dict[Any, list[int]] = defaultdict(list)
        for pk, row in self.rows.items():
            if row[position] and (only is None or only(row)):
                groups[row[position]].append(pk)
        return list(groups.values())

    def run(self) -> dict[tuple[int, int], _Match]:
        exact = (
            (5, MatchReason.IDENTITY_NUMBER),
            (6, MatchReason.PHONE),
            (7, MatchReason.EMAIL),
        )
        for position, reason in exact:
            for pair in self.pairs(self.group(position)):
                self.add(pair, reason)
        # similar names with the same phone
        for a, b in self.pairs(self.group(6)):
            similarity = name_similarity(self.key(a), self.key(b), NAME_THRESHOLD)
            if similarity >= NAME_THRESHOLD:
                self.add((a, b), MatchReason.NAME, similarity)
        # similar names with the same date of birth (individuals)
        individual = lambda row: row[1] == CustomerKind.INDIVIDUAL  # noqa: E731
        for a, b in self.pairs(self.group(4, individual)):
            similarity = name_similarity(self.key(a), self.key(b), NAME_THRESHOLD)
            if similarity >= NAME_THRESHOLD:
                self.add((a, b), MatchReason.NAME, similarity)
                self.add((a, b), MatchReason.DATE_OF_BIRTH)
        # organisations: nearly the same name once legal-form suffixes are gone, blocked by the
        # pinyin initials of that name
        blocks: dict[str, list[int]] = defaultdict(list)
        for pk, row in self.rows.items():
            if row[1] == CustomerKind.ORGANISATION:
                key = self.key(pk)
                if key.initials:
                    blocks[key.initials].append(pk)
        for a, b in self.pairs(blocks.values()):
            similarity = name_similarity(self.key(a), self.key(b), ORGANISATION_NAME_THRESHOLD)
            if similarity >= ORGANISATION_NAME_THRESHOLD:
                self.add((a, b), MatchReason.NAME, similarity)
        return self.found


def find_duplicates(rows: list[tuple[Any, ...]]) -> tuple[dict[tuple[int, int], _Match], int]:
    """Pairs (lower pk first) among `rows` (tuples of `ROW_FIELDS`) and the skipped blocks."""
    finder = _Finder(rows)
    return finder.run(), finder.skipped
