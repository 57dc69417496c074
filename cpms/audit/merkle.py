"""RFC 6962 Merkle tree hashing, pure functions (no database).

leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right); the tree over n leaves
splits at the largest power of two below n. Used by the sealer (`Frontier`), the verifier and
the proof endpoints; `docs/verify_proof.py` repeats the verification half with hashlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly below `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree (len is a power of two), bottom-up."""
    level = list(hashes)
    sha256 = _sha256
    while len(level) > 1:
        pairs = iter(level)
        level = [
            sha256(b"\x01" + left + right).digest()
            for left, right in zip(pairs, pairs, strict=False)
        ]
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """Root of the tree over the given leaf hashes."""
    return subtree_root(lambda start, end: leaves[start:end], 0, len(leaves))


def subtree_root(fetch: Callable[[int, int], Sequence[bytes]], start: int, end: int) -> bytes:
    """MTH(D[start:end]) from leaf hashes fetched by `fetch(start, end)`."""
    if end == start:
        return EMPTY_ROOT
    hashes = list(fetch(start, end))
    # fold the perfect subtrees given by the bits of the size, largest (leftmost) first
    parts: list[bytes] = []
    offset = 0
    size = end - start
    for bit in range(size.bit_length() - 1, -1, -1):
        if size >> bit & 1:
            parts.append(perfect_root(hashes[offset : offset + (1 << bit)]))
            offset += 1 << bit
    return fold_right(parts)


def fold_right(parts: Sequence[bytes]) -> bytes:
    """Combine perfect-subtree roots (left to right, decreasing sizes) into the tree root."""
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


# ---------------------------------------------------------------------------------------------
# proofs over an in-memory list (the database-backed version is in cpms.audit.tree)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path PATH(index, D[0:n]) of RFC 6962 §2.1.1, leaf side first."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    path: list[bytes] = []
    start, end = 0, len(leaves)
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            path.append(root(leaves[start + k : end]))
            end = start + k
        else:
            path.append(root(leaves[start : start + k]))
            start += k
    path.reverse()
    return path


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf hash and its audit path (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    fn, sn = index, size - 1
    result = leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return result


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 6962 §2.1.2."""
    size = len(leaves)
    if not 0 < old_size <= size:
        raise ValueError("old size out of range")
    return _subproof(leaves, old_size, 0, size, True)


def _subproof(leaves: Sequence[bytes], m: int, start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [root(leaves[start:end])]
    k = split_point(n)
    if m <= k:
        return [*_subproof(leaves, m, start, start + k, complete), root(leaves[start + k : end])]
    return [*_subproof(leaves, m - k, start + k, end, False), root(leaves[start : start + k])]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of new_size extend the tree of old_size?"""
    if old_size == new_size:
        return old_root == new_root and not proof
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# ---------------------------------------------------------------------------------------------
# streaming: the compact range of a growing tree


class Frontier:
    """Roots of the perfect subtrees covering the leaves appended so far (one per set bit of
    the size), so appending is amortised O(1) hashes and the root is O(log n)."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        stack = self.stack
        value = leaf
        size = self.size
        while size & 1:
            value = _sha256(b"\x01" + stack.pop() + value).digest()
            size >>= 1
        stack.append(value)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        return fold_right(self.stack)
