#!/usr/bin/env python3
"""Check a CPMS audit inclusion proof offline, with hashlib and `cryptography` only.

    cpms audit prove 42 > proof.json          (or GET /api/v1/audit/entries/42/proof)
    python verify_proof.py proof.json [--public-key HEX]

Exit 0 when the entry's content, its leaf, the audit path and the Ed25519-signed checkpoint all
agree; exit 1 (with the reason) otherwise. Pass --public-key with the key you obtained
independently (`cpms audit public-key`); otherwise the key inside the proof is trusted.
See docs/audit.md for the procedure step by step.
"""

import argparse
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("audit path too long")
        if fn & 1 or fn == sn:
            result = node(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("audit path too short")
    return result


def check(proof, public_key_hex=None):
    entry = proof["entry"]
    canonical = json.dumps(
        entry["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    if hashlib.sha256(canonical).hexdigest() != entry["entry_hash"]:
        return "the entry's content does not match its hash"
    index, size = proof["leaf_index"], proof["tree_size"]
    if not 0 <= index < size:
        return "leaf index outside the tree"
    data = struct.pack(">QQ", index, entry["id"]) + bytes.fromhex(entry["entry_hash"])
    leaf = hashlib.sha256(b"\x00" + data).digest()
    path = [bytes.fromhex(value) for value in proof["audit_path"]]
    try:
        root = root_from_path(index, size, leaf, path).hex()
    except ValueError as exc:
        return str(exc)
    checkpoint = proof["checkpoint"]
    if root != checkpoint["root_hash"] or size != checkpoint["tree_size"]:
        return "the audit path does not lead to the checkpoint's root"
    message = "cpms audit checkpoint v1\n{}\n{}\n{}\n".format(
        checkpoint["tree_size"], checkpoint["root_hash"], checkpoint["time"]
    ).encode()
    try:
        key = bytes.fromhex(public_key_hex or proof["public_key"])
        Ed25519PublicKey.from_public_bytes(key).verify(
            bytes.fromhex(checkpoint["signature"]), message
        )
    except (InvalidSignature, ValueError):
        return "the checkpoint signature is not valid for this public key"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proof", help="proof JSON file, or - for standard input")
    parser.add_argument("--public-key", default=None, help="trusted Ed25519 public key (hex)")
    args = parser.parse_args()
    with open(args.proof) if args.proof != "-" else sys.stdin as handle:
        proof = json.load(handle)
    problem = check(proof, args.public_key)
    if problem:
        print(f"INVALID: {problem}")
        return 1
    print(
        f"VALID: entry #{proof['entry']['id']} is leaf {proof['leaf_index']} of the tree of "
        f"{proof['tree_size']} signed at {proof['checkpoint']['time']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
