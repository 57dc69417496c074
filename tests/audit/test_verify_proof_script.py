"""docs/verify_proof.py refuses every malformed proof (issue 20 item 1): its own RFC 9162 fold
and each check of `check()`, with the reason, never a traceback."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from cpms.audit import merkle, selectors, services, signing

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "verify_proof.py"
_spec = importlib.util.spec_from_file_location("verify_proof", SCRIPT)
verify_proof = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify_proof)

GARBAGE = b"\x5a" * 32


def leaves_of(count: int) -> list[bytes]:
    return [merkle.leaf_hash(index.to_bytes(4, "big")) for index in range(count)]


def flipped(node: bytes) -> bytes:
    return bytes([node[0] ^ 0x01]) + node[1:]


@pytest.mark.parametrize(
    ("size", "index"), [(1, 0), (2, 1), (3, 2), (7, 0), (7, 4), (8, 5), (13, 12)]
)
def test_root_from_path__valid_and_every_malformed_path(size, index):
    leaves = leaves_of(size)
    root = merkle.root(leaves)
    path = merkle.inclusion_proof(leaves, index)
    assert verify_proof.root_from_path(index, size, leaves[index], path) == root
    assert verify_proof.node(b"a", b"b") == merkle.node_hash(b"a", b"b")
    with pytest.raises(ValueError, match=r"^audit path too long$"):
        verify_proof.root_from_path(index, size, leaves[index], [*path, GARBAGE])
    if path:
        with pytest.raises(ValueError, match=r"^audit path too short$"):
            verify_proof.root_from_path(index, size, leaves[index], path[:-1])
        with pytest.raises(ValueError, match=r"^audit path too short$"):
            verify_proof.root_from_path(index, size, leaves[index], [])
    for position in range(len(path)):
        bad = list(path)
        bad[position] = flipped(bad[position])
        assert verify_proof.root_from_path(index, size, leaves[index], bad) != root


@pytest.mark.parametrize(("index", "size"), [(4, 4), (9, 4), (-1, 4), (0, 0)])
def test_root_from_path__index_outside_the_tree_is_refused(index, size):
    leaves = leaves_of(4)
    with pytest.raises(ValueError, match=r"^leaf index outside the tree$"):
        verify_proof.root_from_path(index, size, leaves[0], merkle.inclusion_proof(leaves, 0))


@pytest.fixture
def proof(make_entries):
    entries = make_entries(13)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    return selectors.entry_proof(user=None, entry_id=entries[5].pk)


def _set(path: str, value):
    def change(proof):
        *parents, last = path.split(".")
        target = proof
        for name in parents:
            target = target[name]
        target[last] = value(target[last]) if callable(value) else value

    return change


def _flip_hex(text: str) -> str:
    return flipped(bytes.fromhex(text)).hex()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_set("entry.payload.reason", "x"), "the entry's content does not match its hash"),
        (_set("entry.entry_hash", _flip_hex), "the entry's content does not match its hash"),
        (_set("entry.id", lambda value: value + 1), "the audit path does not lead"),
        (_set("leaf_index", lambda value: value + 1), "the audit path does not lead"),
        (_set("leaf_index", 13), "leaf index outside the tree"),
        (_set("leaf_index", -1), "leaf index outside the tree"),
        (_set("tree_size", 5), "leaf index outside the tree"),
        (_set("tree_size", 40), "audit path too short"),
        (_set("tree_size", 6), "audit path too long"),
        (_set("audit_path", lambda path: [*path, "00" * 32]), "audit path too long"),
        (_set("audit_path", lambda path: path[:-1]), "audit path too short"),
        (_set("audit_path", []), "audit path too short"),
        (_set("audit_path", lambda path: [_flip_hex(path[0]), *path[1:]]), "does not lead"),
        (_set("checkpoint.root_hash", _flip_hex), "the audit path does not lead"),
        (_set("checkpoint.tree_size", 14), "the audit path does not lead"),
        (_set("checkpoint.signature", _flip_hex), "the checkpoint signature is not valid"),
        (_set("checkpoint.signature", "zz"), "the checkpoint signature is not valid"),
        (_set("checkpoint.time", "2000-01-01T00:00:00.000000Z"), "signature is not valid"),
        (_set("public_key", "00" * 32), "the checkpoint signature is not valid"),
        (_set("public_key", "abcd"), "the checkpoint signature is not valid"),
        (_set("public_key", "not hex"), "the checkpoint signature is not valid"),
    ],
)
def test_check__every_altered_proof_is_refused_with_its_reason(proof, change, reason):
    assert verify_proof.check(proof) is None
    altered = copy.deepcopy(proof)
    change(altered)
    problem = verify_proof.check(altered)
    assert problem is not None and reason in problem


@pytest.mark.django_db
def test_check__independently_obtained_public_key_wins_over_the_proof(proof):
    trusted = signing.public_key_bytes().hex()
    assert verify_proof.check(proof, trusted) is None
    other = signing.public_key_bytes(signing.private_key_from_master(b"\x09" * 32)).hex()
    forged = copy.deepcopy(proof)
    forged["public_key"] = other
    assert verify_proof.check(forged, trusted) is None  # the proof's own key is ignored
    assert "signature is not valid" in verify_proof.check(proof, other)
    assert "signature is not valid" in verify_proof.check(proof, "not hex")


@pytest.mark.django_db
def test_main__exit_codes_and_output(proof, tmp_path, monkeypatch, capsys):
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    monkeypatch.setattr(sys, "argv", ["verify_proof.py", str(path)])
    assert verify_proof.main() == 0
    assert capsys.readouterr().out == (
        f"VALID: entry #{proof['entry']['id']} is leaf 5 of the tree of 13 signed at "
        f"{proof['checkpoint']['time']}\n"
    )
    monkeypatch.setattr(sys, "argv", ["verify_proof.py", str(path), "--public-key", "00" * 32])
    assert verify_proof.main() == 1
    assert capsys.readouterr().out == (
        "INVALID: the checkpoint signature is not valid for this public key\n"
    )
