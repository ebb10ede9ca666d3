"""smegrowth: an agent-based model of China's innovative SMEs, little giants and unicorns, and of the
policy levers that change how they grow, borrow, innovate, list and fail.

The names below are imported from their modules when first used (PEP 562), so that
``import smegrowth.cli`` does not load the model, pandas and numba before the command line knows
what it will do: a sweep starts its fork server first (see :mod:`smegrowth.executors`).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import run_scenario, sweep
    from .firm_state import Kind, Status
    from .firms import SME, Firm, LittleGiant, Unicorn
    from .levers import LEVERS, Lever, LeverSettings, make_lever, register_lever
    from .model import EnterpriseModel
    from .parameters import Parameters
    from .scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.2.0"

_EXPORTS = {
    "EnterpriseModel": "model",
    "Firm": "firms",
    "SME": "firms",
    "LittleGiant": "firms",
    "Unicorn": "firms",
    "Kind": "firm_state",
    "Status": "firm_state",
    "Parameters": "parameters",
    "Lever": "levers",
    "LeverSettings": "levers",
    "LEVERS": "levers",
    "register_lever": "levers",
    "make_lever": "levers",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "load_scenario": "scenario",
    "run_scenario": "api",
    "sweep": "api",
}
"""Public name -> the module of this package that defines it."""

__all__ = [
    "EnterpriseModel",
    "Firm",
    "SME",
    "LittleGiant",
    "Unicorn",
    "Kind",
    "Status",
    "Parameters",
    "Lever",
    "LeverSettings",
    "LEVERS",
    "register_lever",
    "make_lever",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run_scenario",
    "sweep",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """This package's module type: ``smegrowth.sweep`` stays the function :func:`api.sweep` when
    the submodule of the same name, :mod:`smegrowth.sweep`, is first imported (the import system
    then binds a submodule to its package's attribute); as before, when this package imported
    that submodule eagerly and bound the function over it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
