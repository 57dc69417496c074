"""`ledger.transfer_files`: a CSV or JSON-lines file read into checked transfers, every problem
named by its file line, nothing posted; and `services.transfer_file_post`, which posts the
rows in batches inside one transaction."""

from __future__ import annotations

import json

import pytest

from cpms.ledger import engine, services
from cpms.ledger.models import Transfer
from cpms.ledger.transfer_files import TRANSFER_FIELDS, TransferFileRefused, transfer_file_read

pytestmark = pytest.mark.django_db


def test_read__csv_text_becomes_typed_transfers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "debit_account,credit_account,amount_minor,reference,metadata\n"
        'A,B,1234,ref 1,"{""k"": 1}"\n'
        "A,B,5,,\n",
        encoding="utf-8-sig",
    )

    rows = transfer_file_read(path)

    assert [row.line for row in rows] == [2, 3]
    assert rows[0].item.amount_minor == 1234
    assert rows[0].item.metadata == {"k": 1}
    assert rows[1].item.reference == ""


def test_read__jsonl_skips_blank_lines_and_names_lines(tmp_path):
    path = tmp_path / "t.jsonl"
    lines = [
        json.dumps({"debit_account": "A", "credit_account": "B", "amount_minor": 1}),
        "",
        json.dumps({"debit_account": "A", "credit_account": "B", "amount_minor": 2}),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")

    rows = transfer_file_read(path)

    assert [(row.line, row.item.amount_minor) for row in rows] == [(1, 1), (3, 2)]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.csv", "debit,credit\nA,B\n", "line 1: unknown column(s) debit, credit"),
        ("t.jsonl", "{not json}\n", "line 1: not JSON"),
        ("t.jsonl", "\n\n", "no transfers in the file"),
        ("t.csv", b"\xff\xfe\x00", "cannot be read as UTF-8 text"),
    ],
)
def test_read__unreadable_files_are_refused_with_one_message(tmp_path, name, content, expected):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(TransferFileRefused) as caught:
        transfer_file_read(path)

    assert expected in caught.value.message
    assert caught.value.problems == []


def test_read__missing_file_is_refused(tmp_path):
    with pytest.raises(TransferFileRefused) as caught:
        transfer_file_read(tmp_path / "nope.csv")

    assert caught.value.message == f"No such file: {tmp_path / 'nope.csv'}"


def test_read__every_bad_row_is_listed(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"debit_account": "A", "credit_account": "B", "amount_minor": 1}),
                json.dumps([1, 2]),
                json.dumps({"debit_account": "A", "amount_minor": -1}),
            ]
        ),
        encoding="utf-8",
    )

    with pytest.raises(TransferFileRefused) as caught:
        transfer_file_read(path)

    problems = caught.value.problems
    assert problems[0] == "line 2: each transfer must be an object"
    assert {problem.split(": ")[1] for problem in problems[1:]} == {
        "credit_account",
        "amount_minor",
    }
    assert caught.value.message == (
        f"The file was refused ({len(problems)} problem(s)); nothing was posted."
    )


def test_fields__the_columns_are_the_transfer_schema():
    assert TRANSFER_FIELDS[:3] == ("debit_account", "credit_account", "amount_minor")


def _rows(tmp_path, bank, target, amounts):
    path = tmp_path / "t.csv"
    path.write_text(
        "debit_account,credit_account,amount_minor,idempotency_key\n"
        + "".join(f"{bank.code},{target.code},{a},k{i}\n" for i, a in enumerate(amounts)),
        encoding="utf-8",
    )
    return transfer_file_read(path)


def test_file_post__batches_in_one_transaction(finance, bank, cash, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "MAX_BATCH", 2)

    result = services.transfer_file_post(actor=finance, rows=_rows(tmp_path, bank, cash, [1] * 5))

    assert (result.count, result.batches, result.posted, result.replayed) == (5, 3, 5, 0)
    assert Transfer.objects.count() == 5


def test_file_post__dry_run_writes_nothing(finance, bank, cash, tmp_path):
    result = services.transfer_file_post(
        actor=finance, rows=_rows(tmp_path, bank, cash, [1, 2]), dry_run=True
    )

    assert (result.dry_run, result.count, result.batches) == (True, 2, 1)
    assert Transfer.objects.count() == 0


def test_file_post__a_refused_batch_names_the_file_line(finance, cash, fees, tmp_path):
    rows = _rows(tmp_path, cash, fees, [10])  # cash holds nothing

    with pytest.raises(TransferFileRefused) as caught:
        services.transfer_file_post(actor=finance, rows=rows)

    assert caught.value.problems[0].startswith("[ledger.insufficient_funds] ")
    assert Transfer.objects.count() == 0
