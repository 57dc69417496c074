"""`cpms audit verify`: recompute the whole trail from stored content and compare.

One streaming pass over the leaves in sequence order (joined with their entries) recomputes
each entry hash from its fields, each leaf hash, every stored tile root and the root at every
checkpoint's size; then every checkpoint signature and the order of checkpoints is checked.
The first entry-level problem is classified and named:

- edited     the entry's content no longer gives its stored hash, or its leaf (content or
             hash rewritten consistently by someone without the tree)
- deleted    a sequence number is missing (an entry and its leaf removed), or the leaves after
             a point were renumbered down (each now carries the hash made for a later sequence)
- inserted   leaves after a point were renumbered up to make room for a foreign leaf
- reordered  two leaves traded places
- truncated  a checkpoint covers more leaves than remain
- unsealed   an entry with no leaf, created long before the latest checkpoint (back-dated)

Someone who rewrites entries, leaves and tile roots all consistently is still caught by the
signed checkpoints; then the report names the first checkpoint whose root no longer matches,
which bounds the damage to the leaves added after the previous checkpoint.

The package: `scan` (the pass over the leaves, the tree nodes, `audit_verify`),
`checkpoints` (signatures, date bounds, consistency, the witness file), `entries` (entry
hashes, entries not sealed yet); `_shared` holds the result types and the encodings. The
names other code uses are re-exported here.
"""

from cpms.audit.verification._shared import CHUNK, Problem, VerifyResult
from cpms.audit.verification.checkpoints import known_public_keys
from cpms.audit.verification.entries import content_digest
from cpms.audit.verification.scan import SHIFT_SEARCH, audit_verify

__all__ = [
    "CHUNK",
    "SHIFT_SEARCH",
    "Problem",
    "VerifyResult",
    "audit_verify",
    "content_digest",
    "known_public_keys",
]
