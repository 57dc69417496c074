"""Format detection and the one entry point the reconciliation app calls: parse_statements."""

from __future__ import annotations

from django.utils.translation import gettext as _

from . import camt053, csvfile, mt940
from .base import FORMATS, ParsedStatement, StatementUnreadable
from .profiles import BUILTIN_PROFILES, CsvProfile, builtin_profile

_NAMES = {"mt940": "MT940", "camt053": "CAMT.053", "csv": "CSV"}


def _refuse(message: str, **fields: object) -> StatementUnreadable:
    return StatementUnreadable(message, fields={"file": message, **fields})


def _is_ofx(data: bytes) -> bool:
    """OFX 1.x (SGML, 'OFXHEADER:100') or 2.x (XML with an <?OFX ...?> instruction), and QFX."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return head.startswith((b"OFXHEADER:", b"<OFX>")) or b"<?OFX " in head


def _refuse_unsupported(data: bytes) -> None:
    """Formats banks export that are not read here, refused by name (not by a parser's
    complaint about what it expected)."""
    if _is_ofx(data):
        raise _refuse(
            _(
                "The file is OFX (Open Financial Exchange); OFX is not supported. Export the "
                "statement as MT940, CAMT.053 or CSV."
            ),
            format="ofx",
        )


def _looks_like_csv(data: bytes) -> bool:
    text = csvfile.decode(csvfile.head(data), ("utf-8-sig", "gb18030"))
    if text is None:
        return False
    lines = [line for line in text.splitlines() if line.strip()][:20]
    if len(lines) < 2:
        return False
    for delimiter in (",", ";", "\t"):
        if sum(1 for line in lines if delimiter in line) >= max(2, len(lines) // 2):
            return True
    return False


def _detected(data: bytes) -> str | None:
    if not data.strip():
        return None
    if camt053.looks_like(data):
        return "camt053"
    if mt940.looks_like(mt940.decode(csvfile.head(data))):
        return "mt940"
    if csvfile.profile_for(data) is not None or _looks_like_csv(data):
        return "csv"
    return None


def detect_format(data: bytes) -> str:
    """'mt940', 'camt053' or 'csv'; StatementUnreadable when the file is none of them."""
    _refuse_unsupported(data)
    found = _detected(data)
    if found is None:
        if not data.strip():
            raise _refuse(_("The file is empty."))
        raise _refuse(
            _(
                "The file is not a recognised bank statement: no MT940 ':20:' field, no CAMT.053 "
                "XML document and no CSV table were found."
            )
        )
    return found


def _profile(profile: CsvProfile | str | None, data: bytes) -> CsvProfile:
    if isinstance(profile, CsvProfile):
        return profile
    if isinstance(profile, str) and profile:
        return builtin_profile(profile)
    found = csvfile.profile_for(data)
    if found is None:
        raise _refuse(
            _(
                "No CSV profile matches this file's header; name a profile (built-in: %(names)s) "
                "or define one for this bank."
            )
            % {"names": ", ".join(BUILTIN_PROFILES)},
            profile=_("required"),
        )
    return found


def parse_statements(
    data: bytes,
    *,
    format: str | None = None,
    profile: CsvProfile | str | None = None,
) -> list[ParsedStatement]:
    """Every statement in the file. `format` None detects it; a format that does not match the
    file, an unknown profile or a file that cannot be read raises StatementUnreadable."""
    if format is not None and format not in FORMATS:
        raise _refuse(
            _("Unknown statement format '%(format)s' (known: %(known)s).")
            % {"format": format, "known": ", ".join(FORMATS)},
            format=format,
        )
    _refuse_unsupported(data)
    detected = _detected(data)
    if detected is None and profile and csvfile.matches(data, _profile(profile, data)):
        detected = "csv"  # e.g. a user profile with a delimiter detection does not try
    if format is None:
        format = detect_format(data) if detected is None else detected
    elif detected is not None and detected != format:
        raise _refuse(
            _(
                "The file is %(detected)s, not %(format)s: use format %(code)s or let the format "
                "be detected."
            )
            % {"detected": _NAMES[detected], "format": _NAMES[format], "code": detected},
            format=format,
        )
    if profile and format != "csv":
        raise _refuse(
            _("A CSV profile applies to CSV files only; this file is %(format)s.")
            % {"format": _NAMES[format]},
            profile=str(getattr(profile, "name", profile)),
        )
    if format == "mt940":
        return mt940.parse(data)
    if format == "camt053":
        return camt053.parse(data)
    return csvfile.parse(data, _profile(profile, data))
