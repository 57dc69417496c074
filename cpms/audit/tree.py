"""The audit Merkle tree as stored: leaves (AuditLeaf) plus the roots of complete 16-wide tiles
at levels 4, 8, 12, ... (AuditNode). A "band" b holds units that are perfect subtrees of
16**b leaves: band 0 are the leaves, band 1 the level-4 nodes, and so on. (16 rather than 256:
one proof then reads ~150 small rows in one query and hashes as many, for 1/15 extra rows.)

`TreeState` is the growing right edge used by the sealer and the verifier; `TreeReader` answers
inclusion proofs and roots at any sealed size reading at most two tiles per band."""

from __future__ import annotations

import struct
from collections.abc import Callable

from cpms.audit import merkle

TILE_BITS = 4
TILE = 1 << TILE_BITS
_pack = struct.Struct(">QQ").pack
_sha256 = merkle._sha256


def leaf_data(sequence: int, entry_id: int, entry_hash_hex: str) -> bytes:
    """The bytes a leaf commits to: sequence and entry id (8 bytes big-endian each) and the
    32-byte SHA-256 of the entry's canonical JSON."""
    return _pack(sequence, entry_id) + bytes.fromhex(entry_hash_hex)


def entry_leaf_hash(sequence: int, entry_id: int, entry_hash_hex: str) -> bytes:
    return _sha256(b"\x00" + _pack(sequence, entry_id) + bytes.fromhex(entry_hash_hex)).digest()


def _parts_of(counts: list[list[bytes]]) -> list[bytes]:
    """Perfect-subtree roots of the whole tree, left to right, from each band's partial tile."""
    parts: list[bytes] = []
    for units in reversed(counts):  # highest band covers the leftmost leaves
        offset, count = 0, len(units)
        for bit in range(count.bit_length() - 1, -1, -1):
            if count >> bit & 1:
                parts.append(merkle.perfect_root(units[offset : offset + (1 << bit)]))
                offset += 1 << bit
    return parts


class TreeState:
    """The unfinished tile of every band. `append` returns the (level, index, hash) of the tile
    roots it completed, which the sealer stores and the verifier compares."""

    def __init__(self, size: int = 0, partial: list[list[bytes]] | None = None) -> None:
        self.size = size
        self.partial: list[list[bytes]] = partial if partial is not None else [[]]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        completed: list[tuple[int, int, bytes]] = []
        band = 0
        unit = leaf
        position = self.size  # index of the unit within its band
        while True:
            if band == len(self.partial):
                self.partial.append([])
            units = self.partial[band]
            units.append(unit)
            if len(units) < TILE:
                break
            unit = merkle.perfect_root(units)
            units.clear()
            position >>= TILE_BITS
            band += 1
            completed.append((band * TILE_BITS, position, unit))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if self.size == 0:
            return merkle.EMPTY_ROOT
        return merkle.fold_right(_parts_of(self.partial))


def load_state(size: int, fetch: Callable[[int, int, int], list[bytes]]) -> TreeState:
    """Rebuild the right edge of a tree of `size` leaves; fetch(band, start, end) returns the
    units [start, end) of a band in order."""
    partial: list[list[bytes]] = []
    band = 0
    while True:
        count = size >> (band * TILE_BITS)
        if count == 0 and band > 0:
            break
        start = count - count % TILE
        partial.append(fetch(band, start, count) if count > start else [])
        if count < TILE:
            break
        band += 1
    return TreeState(size, partial or [[]])


class TreeReader:
    """Roots and proofs of the tree at `size` (<= sealed size) from stored units."""

    def __init__(
        self,
        size: int,
        fetch: Callable[[int, int, int], list[bytes]],
        fetch_many: Callable[[list[tuple[int, int, int]]], list[list[bytes]]] | None = None,
    ) -> None:
        self.size = size
        self._fetch = fetch
        self._fetch_many = fetch_many
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def _tile_range(self, band: int, tile: int) -> tuple[int, int, int]:
        available = self.size >> (band * TILE_BITS)
        start = tile << TILE_BITS
        return band, start, min(start + TILE, available)

    def _perfect_tiles(self, level: int, index: int, wanted: set[tuple[int, int]]) -> None:
        band, height = divmod(level, TILE_BITS)
        first = index << height
        last = first + (1 << height) - 1
        for tile in range(first >> TILE_BITS, (last >> TILE_BITS) + 1):
            wanted.add((band, tile))

    def _range_tiles(self, start: int, end: int, wanted: set[tuple[int, int]]) -> None:
        offset, size = start, end - start
        for bit in range(size.bit_length() - 1, -1, -1):
            if size >> bit & 1:
                self._perfect_tiles(bit, offset >> bit, wanted)
                offset += 1 << bit

    def prefetch_inclusion(self, index: int) -> None:
        """Read every tile `inclusion_proof(index)` and `leaf(index)` need in one fetch_many."""
        if self._fetch_many is None or not 0 <= index < self.size:
            return
        wanted: set[tuple[int, int]] = {(0, index >> TILE_BITS)}
        start, end = 0, self.size
        while end - start > 1:
            k = merkle.split_point(end - start)
            if index - start < k:
                self._range_tiles(start + k, end, wanted)
                end = start + k
            else:
                self._range_tiles(start, start + k, wanted)
                start += k
        keys = sorted(wanted - self._tiles.keys())
        if keys:
            fetched = self._fetch_many([self._tile_range(band, tile) for band, tile in keys])
            self._tiles.update(zip(keys, fetched, strict=True))

    def _unit(self, band: int, index: int) -> bytes:
        tile = index >> TILE_BITS
        units = self._tiles.get((band, tile))
        if units is None:
            units = self._fetch(*self._tile_range(band, tile))
            self._tiles[(band, tile)] = units
        return units[index & (TILE - 1)]

    def perfect(self, level: int, index: int) -> bytes:
        band, height = divmod(level, TILE_BITS)
        first = index << height  # a subtree below a band's level lies within one tile
        self._unit(band, first)
        units = self._tiles[(band, first >> TILE_BITS)]
        offset = first & (TILE - 1)
        chunk = units[offset : offset + (1 << height)]
        if len(chunk) != 1 << height:
            raise IndexError(index)
        return merkle.perfect_root(chunk)

    def range_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that RFC 6962's recursion produces (start aligned)."""
        if end == start:
            return merkle.EMPTY_ROOT
        parts: list[bytes] = []
        offset, size = start, end - start
        for bit in range(size.bit_length() - 1, -1, -1):
            if size >> bit & 1:
                parts.append(self.perfect(bit, offset >> bit))
                offset += 1 << bit
        return merkle.fold_right(parts)

    def root(self) -> bytes:
        return self.range_root(0, self.size)

    def leaf(self, index: int) -> bytes:
        return self._unit(0, index)

    def inclusion_proof(self, index: int) -> list[bytes]:
        if not 0 <= index < self.size:
            raise IndexError(index)
        path: list[bytes] = []
        start, end = 0, self.size
        while end - start > 1:
            k = merkle.split_point(end - start)
            if index - start < k:
                path.append(self.range_root(start + k, end))
                end = start + k
            else:
                path.append(self.range_root(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int) -> list[bytes]:
        if not 0 < old_size <= self.size:
            raise ValueError("old size out of range")
        return self._subproof(old_size, 0, self.size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.range_root(start, end)]
        k = merkle.split_point(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self.range_root(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.range_root(start, start + k)]
