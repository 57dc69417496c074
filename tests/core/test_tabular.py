"""The one CSV/XLSX writer: formula cells neutralised, XLSX text typed as text, numbers kept;
and the architecture rule that every CSV/XLSX writer goes through it."""

from __future__ import annotations

import ast
import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cpms.core import tabular

ROOT = Path(__file__).resolve().parents[2] / "cpms"
PAYLOADS = ['=HYPERLINK("http://x","y")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1+1)"]
OTHER_TRIGGERS = ["-2+3", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", PAYLOADS + OTHER_TRIGGERS)
def test_neutralise__formula_text_gets_a_quote_and_restores(text):
    assert tabular.neutralise(text) == "'" + text
    assert tabular.restore(tabular.neutralise(text)) == text


@pytest.mark.parametrize("text", ["", "张三", "a=1", "'quoted", "'", "1-2", " =1"])
def test_neutralise__plain_text_is_unchanged(text):
    assert tabular.neutralise(text) == text
    assert tabular.restore(text) == text


def test_neutralise__a_quoted_formula_round_trips():
    assert tabular.neutralise("'=1+1") == "''=1+1"
    assert tabular.restore("''=1+1") == "'=1+1"


def test_cell_text__numbers_and_dates_are_not_text():
    assert tabular.cell_text(-5) == "-5"
    assert tabular.cell_text(Decimal("-12.50")) == "-12.50"
    assert tabular.cell_text(-1.5) == "-1.5"
    assert tabular.cell_text(None) == ""
    assert tabular.cell_text(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert tabular.cell_text("-5") == "'-5"  # text that looks like a number is still text


def test_write_csv__neutralises_text_cells():
    stream = io.BytesIO()
    count = tabular.write_csv(stream, [["name", "amount"], *[[text, -3] for text in PAYLOADS]])
    assert count == 5
    rows = list(csv.reader(io.StringIO(stream.getvalue().decode("utf-8-sig"))))
    assert rows[1:] == [["'" + text, "-3"] for text in PAYLOADS]


def test_csv_chunks__stream_the_same_text():
    rows = [["a", "=1+1"], [1, None]]
    assert b"".join(tabular.csv_chunks(rows, lines_per_chunk=1)) == (
        tabular.csv_text(rows).encode()
    )
    assert tabular.csv_text(rows).startswith("\ufeffa,'=1+1\r\n1,\r\n")


def test_write_xlsx__text_is_a_string_cell_numbers_stay_numbers():
    stream = io.BytesIO()
    tabular.write_xlsx(stream, [["name", "amount", "day"], *[[t, -3, None] for t in PAYLOADS]])
    sheet = load_workbook(io.BytesIO(stream.getvalue())).active
    cells = list(sheet.iter_rows(min_row=2))
    assert [(row[0].value, row[0].data_type) for row in cells] == [
        ("'" + text, "s") for text in PAYLOADS
    ]
    assert [(row[1].value, row[1].data_type) for row in cells] == [(-3, "n")] * 4


def test_xlsx_append__works_on_a_normal_worksheet():
    workbook = tabular.xlsx_workbook()
    sheet = workbook.active
    tabular.xlsx_append(sheet, ["=1+1", Decimal("-2.50"), datetime.date(2026, 1, 2)])
    tabular.xlsx_append(sheet, [])
    tabular.xlsx_append(sheet, ["x"])
    assert (sheet["A1"].value, sheet["A1"].data_type) == ("'=1+1", "s")
    assert sheet["B1"].data_type == "n"
    assert sheet["A3"].value == "x"


# --------------------------------------------------------------------------- architecture

CSV_WRITERS = {"writer", "DictWriter"}
OPENPYXL_WRITERS = {"Workbook", "WriteOnlyCell"}
OPENPYXL_WRITER_MODULES = ("openpyxl.workbook", "openpyxl.writer", "openpyxl.cell")


def writer_uses(source: str) -> list[int]:
    """Line numbers where `source` writes CSV or XLSX without cpms.core.tabular."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {alias.name for alias in node.names}
            if (node.module == "csv" and names & CSV_WRITERS) or (
                node.module.startswith("openpyxl")
                and (names & OPENPYXL_WRITERS or node.module.startswith(OPENPYXL_WRITER_MODULES))
            ):
                found.append(node.lineno)
        elif isinstance(node, ast.Import):
            if any(alias.name.startswith(OPENPYXL_WRITER_MODULES) for alias in node.names):
                found.append(node.lineno)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (
                (node.value.id == "csv" and node.attr in CSV_WRITERS)
                or (node.value.id == "openpyxl" and node.attr in OPENPYXL_WRITERS)
            )
        ):
            found.append(node.lineno)
    return sorted(found)


def test_writer_uses__recognises_writers_and_ignores_readers():
    source = (
        "import csv\n"
        "reader = csv.reader(x)\n"
        "w = csv.writer(x)\n"
        "from openpyxl import Workbook\n"
        "from openpyxl import load_workbook\n"
        "book = openpyxl.Workbook()\n"
        "from csv import DictWriter\n"
        "from openpyxl.styles import Font\n"
        "from openpyxl.cell import WriteOnlyCell\n"
    )
    assert writer_uses(source) == [3, 4, 6, 7, 9]


def test_every_csv_and_xlsx_writer_goes_through_core_tabular():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == ROOT / "core" / "tabular.py" or "migrations" in path.parts:
            continue
        for line in writer_uses(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT.parent)}:{line}")
    assert offenders == [], "write CSV/XLSX with cpms.core.tabular: " + ", ".join(offenders)
