"""Properties of the RFC 6962 tree, the stored-tile reader and the streaming state."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from cpms.audit import merkle, tree


def leaves_of(count: int) -> list[bytes]:
    return [merkle.leaf_hash(index.to_bytes(4, "big")) for index in range(count)]


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 literally: MTH(D[n]) = H(1 || MTH(D[0:k]) || MTH(D[k:n]))."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def proves(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    try:
        return merkle.root_from_inclusion(index, size, leaf, path) == root
    except ValueError:
        return False


def stored(leaves: list[bytes]):
    """Build what the sealer stores (leaves + tile roots) and a fetch function over it."""
    state = tree.TreeState()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for level, index, value in state.append(leaf):
            nodes[(level, index)] = value

    def fetch(band: int, start: int, end: int) -> list[bytes]:
        if band == 0:
            return leaves[start:end]
        return [nodes[(band * tree.TILE_BITS, index)] for index in range(start, end)]

    return state, fetch


def test_leaf_and_node_hash__rfc6962_prefixes():
    assert merkle.leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.root([]) == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=300))
def test_root__matches_the_rfc_definition(count):
    leaves = leaves_of(count)
    assert merkle.root(leaves) == reference_root(leaves)
    frontier = merkle.Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert frontier.root() == reference_root(leaves)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=140))
def test_inclusion_proof__verifies_for_every_index(count):
    leaves = leaves_of(count)
    root = merkle.root(leaves)
    for index in range(count):
        path = merkle.inclusion_proof(leaves, index)
        assert merkle.root_from_inclusion(index, count, leaves[index], path) == root


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_inclusion_proof__a_changed_leaf_or_path_breaks_it(data):
    count = data.draw(st.integers(min_value=2, max_value=100))
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    leaves = leaves_of(count)
    root = merkle.root(leaves)
    path = merkle.inclusion_proof(leaves, index)
    forged = merkle.leaf_hash(b"forged")
    assert not proves(index, count, forged, path, root)
    position = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
    bad_path = list(path)
    bad_path[position] = forged
    assert not proves(index, count, leaves[index], bad_path, root)
    other = (index + 1) % count
    assert not proves(other, count, leaves[index], path, root)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_consistency_proof__verifies_between_any_sizes(data):
    new_size = data.draw(st.integers(min_value=1, max_value=200))
    old_size = data.draw(st.integers(min_value=1, max_value=new_size))
    leaves = leaves_of(new_size)
    old_root, new_root = merkle.root(leaves[:old_size]), merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, old_size)
    assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_consistency_proof__a_changed_leaf_breaks_it(data):
    new_size = data.draw(st.integers(min_value=2, max_value=200))
    old_size = data.draw(st.integers(min_value=1, max_value=new_size - 1))
    changed = data.draw(st.integers(min_value=0, max_value=old_size - 1))
    leaves = leaves_of(new_size)
    old_root = merkle.root(leaves[:old_size])
    forked = list(leaves)
    forked[changed] = merkle.leaf_hash(b"forged")
    proof = merkle.consistency_proof(forked, old_size)
    assert not merkle.verify_consistency(old_size, new_size, old_root, merkle.root(forked), proof)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_tree_reader__stored_tiles_give_the_same_roots_and_proofs(data):
    count = data.draw(st.sampled_from([1, 255, 256, 257, 511, 512, 700, 65_536 + 300]))
    leaves = leaves_of(count)
    state, fetch = stored(leaves)
    assert state.root() == reference_root(leaves) if count < 5000 else True
    reader = tree.TreeReader(count, fetch)
    assert reader.root() == state.root()
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    path = reader.inclusion_proof(index)
    assert merkle.root_from_inclusion(index, count, leaves[index], path) == state.root()
    smaller = data.draw(st.integers(min_value=1, max_value=count))
    assert tree.TreeReader(smaller, fetch).root() == merkle.root(leaves[:smaller])
    proof = reader.consistency_proof(smaller)
    assert merkle.verify_consistency(
        smaller, count, merkle.root(leaves[:smaller]), state.root(), proof
    )


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=1200))
def test_load_state__continues_like_an_uninterrupted_tree(count):
    leaves = leaves_of(count + 300)
    _, fetch = stored(leaves[:count])
    resumed = tree.load_state(count, fetch)
    for leaf in leaves[count:]:
        resumed.append(leaf)
    assert resumed.root() == merkle.root(leaves)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_tree_reader__prefetch_reads_every_tile_a_proof_needs_in_one_call(data):
    count = data.draw(st.sampled_from([1, 2, 255, 256, 257, 513, 65_536 + 300]))
    leaves = leaves_of(count)
    state, fetch = stored(leaves)
    calls = []

    def fetch_many(ranges):
        calls.append(ranges)
        return [fetch(*item) for item in ranges]

    def refuse(*_args):
        raise AssertionError("a tile was not prefetched")

    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    reader = tree.TreeReader(count, refuse, fetch_many)
    reader.prefetch_inclusion(index)
    path = reader.inclusion_proof(index)
    assert (len(calls), reader.leaf(index)) == (1, leaves[index])
    assert path == merkle.inclusion_proof(leaves, index) if count < 5000 else True
    assert merkle.root_from_inclusion(index, count, leaves[index], path) == state.root()
