"""Issue 20 item 1: every malformed proof is refused, for both proof kinds, and the tree hashes
match RFC 6962's published test vectors.

Known-answer vectors: the eight leaf inputs and the roots of the trees over their first 1..8
leaves are the RFC 6962 reference test data of the certificate-transparency project
(`merkle_tree_test.cc`, "sha256 roots"); the node hash below is computed with hashlib directly
from RFC 6962 §2.1 (SHA-256 of 0x01 || left || right), not with the code under test."""

from __future__ import annotations

import hashlib

import pytest

from cpms.audit import merkle

RFC_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [merkle.leaf_hash(data) for data in RFC_INPUTS]
GARBAGE = b"\x5a" * 32


def flipped(node: bytes) -> bytes:
    return bytes([node[0] ^ 0x01]) + node[1:]


def leaves_of(count: int) -> list[bytes]:
    return [merkle.leaf_hash(index.to_bytes(4, "big")) for index in range(count)]


# --- known answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 9))
def test_root__rfc6962_reference_vectors(size):
    assert merkle.root(LEAVES[:size]).hex() == RFC_ROOTS[size - 1]
    frontier = merkle.Frontier()
    for leaf in LEAVES[:size]:
        frontier.append(leaf)
    assert (frontier.root().hex(), frontier.size) == (RFC_ROOTS[size - 1], size)


def test_node_hash__is_sha256_of_0x01_left_right():
    left, right = b"\x01" * 32, b"\x02" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()


@pytest.mark.parametrize(
    ("size", "split"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1025, 1024)]
)
def test_split_point__largest_power_of_two_below(size, split):
    assert merkle.split_point(size) == split


def test_empty_tree_roots():
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.Frontier().root() == merkle.EMPTY_ROOT
    assert merkle.subtree_root(lambda start, end: LEAVES[start:end], 3, 3) == merkle.EMPTY_ROOT
    assert merkle.subtree_root(lambda start, end: LEAVES[start:end], 2, 5) == merkle.root(
        LEAVES[2:5]
    )


def test_perfect_root_and_fold_right():
    a, b, c, d = LEAVES[:4]
    assert merkle.perfect_root([a]) == a
    assert merkle.perfect_root([a, b, c, d]) == merkle.node_hash(
        merkle.node_hash(a, b), merkle.node_hash(c, d)
    )
    assert merkle.fold_right([a]) == a
    assert merkle.fold_right([a, b, c]) == merkle.node_hash(a, merkle.node_hash(b, c))


def test_inclusion_proof__rfc_shape_for_seven_leaves():
    # RFC 9162 §2.1.3 example tree of 7 leaves (d0..d6): the path of d0 is [b, h, l] there
    path = merkle.inclusion_proof(LEAVES[:7], 0)
    assert path == [
        LEAVES[1],
        merkle.node_hash(LEAVES[2], LEAVES[3]),
        merkle.root(LEAVES[4:7]),
    ]
    assert merkle.inclusion_proof(LEAVES[:7], 6) == [
        merkle.root(LEAVES[4:6]),
        merkle.root(LEAVES[:4]),
    ]


def test_consistency_proof__rfc_shape_between_three_and_seven():
    # RFC 9162 §2.1.4 example: PROOF(3, D[7]) = [c, d, g, l]
    assert merkle.consistency_proof(LEAVES[:7], 3) == [
        LEAVES[2],
        LEAVES[3],
        merkle.node_hash(LEAVES[0], LEAVES[1]),
        merkle.root(LEAVES[4:7]),
    ]
    assert merkle.consistency_proof(LEAVES[:7], 4) == [merkle.root(LEAVES[4:7])]
    assert merkle.consistency_proof(LEAVES[:7], 7) == []
    assert merkle.consistency_proof(LEAVES[:7], 6) == [
        merkle.node_hash(LEAVES[4], LEAVES[5]),
        LEAVES[6],
        merkle.root(LEAVES[:4]),
    ]


# --- inclusion: every malformed proof is refused ----------------------------------------------

SIZES = [1, 2, 3, 5, 7, 8, 13, 16, 33]


def cases():
    for size in SIZES:
        for index in sorted({0, size // 2, size - 1}):
            yield size, index


@pytest.mark.parametrize(("size", "index"), list(cases()))
def test_root_from_inclusion__valid_and_every_malformed_proof(size, index):
    leaves = leaves_of(size)
    root = merkle.root(leaves)
    path = merkle.inclusion_proof(leaves, index)
    leaf = leaves[index]
    assert merkle.root_from_inclusion(index, size, leaf, path) == root
    # too long
    with pytest.raises(ValueError, match=r"^proof too long$"):
        merkle.root_from_inclusion(index, size, leaf, [*path, GARBAGE])
    # too short (and empty)
    if path:
        with pytest.raises(ValueError, match=r"^proof too short$"):
            merkle.root_from_inclusion(index, size, leaf, path[:-1])
        with pytest.raises(ValueError, match=r"^proof too short$"):
            merkle.root_from_inclusion(index, size, leaf, [])
    # a node flipped
    for position in range(len(path)):
        bad = list(path)
        bad[position] = flipped(bad[position])
        assert merkle.root_from_inclusion(index, size, leaf, bad) != root
    # another leaf
    assert merkle.root_from_inclusion(index, size, flipped(leaf), path) != root


@pytest.mark.parametrize(("index", "size"), [(4, 4), (5, 4), (-1, 4), (0, 0), (-1, 0), (1, 1)])
def test_root_from_inclusion__index_out_of_range_is_refused(index, size):
    leaves = leaves_of(max(size, 1))
    path = merkle.inclusion_proof(leaves, 0)
    with pytest.raises(ValueError, match=r"^index out of range$"):
        merkle.root_from_inclusion(index, size, leaves[0], path)


def test_root_from_inclusion__proof_of_another_size_is_refused():
    leaves = leaves_of(8)
    path = merkle.inclusion_proof(leaves[:4], 1)  # right for 4 leaves, 1 node short for 8
    with pytest.raises(ValueError, match=r"^proof too short$"):
        merkle.root_from_inclusion(1, 8, leaves[1], path)
    with pytest.raises(ValueError, match=r"^proof too long$"):
        merkle.root_from_inclusion(1, 2, leaves[1], path)


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_inclusion_proof__index_out_of_range_is_refused(index, size):
    with pytest.raises(IndexError):
        merkle.inclusion_proof(leaves_of(size), index)


# --- consistency: every malformed proof is refused --------------------------------------------


def pairs():
    for new in (2, 3, 4, 5, 7, 8, 9, 16, 17, 33):
        for old in sorted({1, 2, new // 2, new - 1} - {0}):
            if old < new:
                yield old, new


@pytest.mark.parametrize(("old", "new"), list(pairs()))
def test_verify_consistency__valid_and_every_malformed_proof(old, new):
    leaves = leaves_of(new)
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, old)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof) is True
    # too long: one garbage node more, with the true new root or one forged to fit it
    longer = [*proof, GARBAGE]
    forged_root = merkle.node_hash(new_root, GARBAGE)
    assert merkle.verify_consistency(old, new, old_root, new_root, longer) is False
    assert merkle.verify_consistency(old, new, old_root, forged_root, longer) is False
    # too short, and empty
    assert merkle.verify_consistency(old, new, old_root, new_root, proof[:-1]) is False
    assert merkle.verify_consistency(old, new, old_root, new_root, []) is False
    # a node flipped
    for position in range(len(proof)):
        bad = list(proof)
        bad[position] = flipped(bad[position])
        assert merkle.verify_consistency(old, new, old_root, new_root, bad) is False
    # wrong roots
    assert merkle.verify_consistency(old, new, flipped(old_root), new_root, proof) is False
    assert merkle.verify_consistency(old, new, old_root, flipped(new_root), proof) is False
    # wrong sizes (a size that changes nothing in the path is not a refusal: RFC 9162 binds
    # the roots, and the size only through the shape of the path)
    assert merkle.verify_consistency(new, old, new_root, old_root, proof) is False
    assert merkle.verify_consistency(0, new, merkle.EMPTY_ROOT, new_root, proof) is False
    assert merkle.verify_consistency(-old, new, old_root, new_root, proof) is False


def test_verify_consistency__short_proof_of_a_smaller_tree_for_a_larger_size_is_refused():
    # PROOF(3, D[4]) is PROOF(3, D[8]) without its last node: claimed for 8 with the 4-root
    leaves = leaves_of(8)
    old_root = merkle.root(leaves[:3])
    proof_to_four = merkle.consistency_proof(leaves[:4], 3)
    assert merkle.consistency_proof(leaves, 3)[:-1] == proof_to_four
    root_of_four = merkle.root(leaves[:4])
    assert merkle.verify_consistency(3, 4, old_root, root_of_four, proof_to_four) is True
    assert merkle.verify_consistency(3, 8, old_root, root_of_four, proof_to_four) is False


def test_verify_consistency__proof_longer_than_the_sizes_allow_is_refused():
    # PROOF(3, D[8]) is PROOF(3, D[4]) plus one node: claimed for 4 with the 8-root
    leaves = leaves_of(8)
    old_root, root_of_eight = merkle.root(leaves[:3]), merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, 3)
    assert merkle.verify_consistency(3, 4, old_root, root_of_eight, proof) is False


@pytest.mark.parametrize("size", [1, 2, 5, 8])
def test_verify_consistency__equal_sizes_need_equal_roots_and_no_proof(size):
    root = merkle.root(leaves_of(size))
    assert merkle.verify_consistency(size, size, root, root, []) is True
    assert merkle.verify_consistency(size, size, root, flipped(root), []) is False
    assert merkle.verify_consistency(size, size, root, root, [root]) is False


@pytest.mark.parametrize("old_size", [0, 9, -1])
def test_consistency_proof__old_size_out_of_range_is_refused(old_size):
    with pytest.raises(ValueError, match="old size out of range"):
        merkle.consistency_proof(leaves_of(8), old_size)


def test_verify_consistency__power_of_two_old_size_uses_the_old_root_as_first_node():
    leaves = leaves_of(12)
    old_root, new_root = merkle.root(leaves[:4]), merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, 4)
    assert proof == [merkle.root(leaves[4:8]), merkle.root(leaves[8:12])]
    assert merkle.verify_consistency(4, 12, old_root, new_root, proof) is True
    assert merkle.verify_consistency(4, 12, old_root, new_root, [old_root, *proof]) is False
