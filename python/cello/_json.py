"""Helpers for the native JSON decoder's fallback path."""

from __future__ import annotations

__all__ = ["refuse_constant"]


def refuse_constant(name: str) -> float:
    """``json.loads(parse_constant=...)``: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON (JSON has no NaN or Infinity)")
