"""Policy levers, one module per lever, registered by name for scenario files."""

from . import (  # noqa: F401  (importing registers the levers)
    digital_transformation,
    future_industries,
    listing_support,
    little_giant_grants,
    reloan,
    trade_in,
)
from .base import LEVERS, Lever, LeverError, LeverSettings, make_lever, register_lever

__all__ = ["LEVERS", "Lever", "LeverError", "LeverSettings", "make_lever", "register_lever"]
