"""The name matcher the possible-duplicate check uses: the data-quality app's matching,
registered in `QualityConfig.ready()` so customers (a lower layer) never imports it."""

from __future__ import annotations

from cpms.customers import name_matching
from cpms.customers.services import name_pinyin
from cpms.quality import matching


def _alike(name: str, other: str, *, organisation: bool = False) -> bool:
    alike = name_matching.name_matcher(name, name_pinyin(name), organisation=organisation)
    return alike(other, name_pinyin(other))


def test_the_data_quality_matcher_is_registered():
    registered = name_matching._MATCHER
    assert len(registered) == 1 and registered[0] is matching.name_matcher


def test_registered_matcher__homophones_and_small_typos_are_alike():
    assert _alike("张三", "章三")  # the same pinyin
    assert _alike("福建测试科技有限公司", "福建测试科技公司", organisation=True)
    assert not _alike("张三", "李四")


def test_without_a_registered_matcher_only_equal_names_are_alike(monkeypatch):
    monkeypatch.setattr(name_matching, "_MATCHER", [])

    assert _alike("John Smith", " john smith ")
    assert not _alike("张三", "章三")
    assert not _alike("", "")


def test_register_name_matcher__replaces_the_previous_one(monkeypatch):
    monkeypatch.setattr(name_matching, "_MATCHER", [matching.name_matcher])

    name_matching.register_name_matcher(lambda name, pinyin, *, organisation: lambda o, p: True)

    assert len(name_matching._MATCHER) == 1
    assert _alike("张三", "李四")
