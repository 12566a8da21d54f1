"""Helpers for the native JSON decoder's fallback path."""

from __future__ import annotations

import math

__all__ = ["finite_float", "refuse_constant"]


def refuse_constant(name: str) -> float:
    """``json.loads(parse_constant=...)``: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON (JSON has no NaN or Infinity)")


def finite_float(text: str) -> float:
    """``json.loads(parse_float=...)``: a number beyond the float range would become
    infinity, which JSON (and so the encoder) cannot express."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(
            f"JSON number {text[:40]} is beyond the range of a float (it would become infinity)"
        )
    return value
