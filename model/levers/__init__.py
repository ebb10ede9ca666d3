"""Policy levers, one module per lever, registered by name for scenario files."""

from .base import LEVERS, Lever, LeverError, LeverSettings, make_lever, register_lever

__all__ = ["LEVERS", "Lever", "LeverError", "LeverSettings", "make_lever", "register_lever"]
