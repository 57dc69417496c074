"""Moved to cpms.core.money (one exponent table for the product); kept as an alias."""

from cpms.core.money import minor_exponent, to_major, to_minor

__all__ = ["minor_exponent", "to_major", "to_minor"]
