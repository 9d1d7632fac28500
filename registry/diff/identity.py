"""Identity keys for the memo tables of the diff, which can hold hundreds of thousands of pairs."""

from __future__ import annotations

__all__ = ["pair_key"]


def pair_key(first: object, second: object) -> int:
    """One int naming an ordered pair of live objects.

    CPython's ids are addresses below 2**64, so shifting one past the other keeps every pair
    distinct; the int costs about a third of the memory of a tuple of two ids, which matters
    when a large document's comparison memoises every pair of schemas it met.
    """
    return id(first) << 64 | id(second)
