"""zh-Hans is complete and compiled; English is the source language, so it is complete too."""

from __future__ import annotations

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[1] / "cpms" / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_zh_hans__every_message_translated():
    catalog = polib.pofile(str(LOCALE / "django.po"))
    untranslated = [entry.msgid for entry in catalog.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalog.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []


def test_zh_hans__compiled_catalog_matches_the_source():
    source = {
        (entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural)
        for entry in polib.pofile(str(LOCALE / "django.po"))
    }
    compiled = {
        (entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural)
        for entry in polib.mofile(str(LOCALE / "django.mo"))
        if entry.msgid
    }
    assert compiled == source, "run `make messages` to recompile django.mo"


def test_zh_hans__placeholders_kept():
    import re

    for entry in polib.pofile(str(LOCALE / "django.po")):
        placeholders = sorted(re.findall(r"%\(\w+\)[sd]", entry.msgid))
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            assert sorted(re.findall(r"%\(\w+\)[sd]", translation)) == placeholders, entry.msgid
