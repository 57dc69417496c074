"""Bank statement parsers: MT940, CAMT.053 and CSV through column-mapping profiles.

Pure Python (no models). The reconciliation app calls `parse_statements(data, format=...,
profile=...)` and gets `ParsedStatement` values with amounts in integer minor units.
"""

from .base import FORMATS, ParsedStatement, StatementLine, StatementUnreadable
from .csvfile import matches as profile_matches
from .detect import detect_format, parse_statements
from .profiles import BUILTIN_PROFILES, CsvProfile, InvalidProfile, builtin_profile

__all__ = [
    "BUILTIN_PROFILES",
    "FORMATS",
    "CsvProfile",
    "InvalidProfile",
    "ParsedStatement",
    "StatementLine",
    "StatementUnreadable",
    "builtin_profile",
    "detect_format",
    "parse_statements",
    "profile_matches",
]
