"""The lever interface: schedule, eligibility, a budget never exceeded, fiscal cost every quarter.

A lever acts through markets and firms, never by editing outcomes: in stage 1 of each quarter
(:meth:`Lever.act`) it sets the incentives firms and markets respond to (``model.incentives``) and pays
transfers; it may add consumer demand by sector (:meth:`Lever.extra_demand`); after the finance stage
it settles payments that depend on what firms did (:meth:`Lever.settle`). Every yuan it pays goes
through :meth:`Lever.pay`, which books the transfer from the government and refuses to exceed the
budget.

To add a lever from your own code::

    from smegrowth.levers import Lever, LeverSettings, register_lever

    class TrainingSettings(LeverSettings):
        subsidy_per_firm: float = 0.5          # m yuan per quarter

    @register_lever
    class TrainingVouchers(Lever):
        name = "training_vouchers"
        Settings = TrainingSettings

        def act(self, model):
            rows = model.firm_rows(kinds=("SME",))
            self.pay(model, rows, self.intensity(model) * self.settings.subsidy_per_firm)

and name ``training_vouchers`` under ``levers:`` in a scenario file.
"""

from __future__ import annotations

import os
import sys
import zlib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, ValidationError

from ..settings import UserSettings, first_error

if TYPE_CHECKING:
    from ..model import EnterpriseModel
    from ..parameters import Parameters


class LeverSettings(UserSettings):
    """Settings every lever has: its schedule and its budget. Quarters count from 2024Q4 = 0."""

    start: int = Field(1, ge=0, description="First model quarter in which the lever acts (1 = 2025Q1).")
    duration: int | None = Field(None, ge=0, description="Quarters the lever runs; None = to the end.")
    ramp: int = Field(0, ge=0, description="Quarters over which it rises linearly to full strength.")
    budget: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Total fiscal budget, m yuan at national scale; None = unlimited."
    )
    scale: float = Field(
        1.0, ge=0, allow_inf_nan=False, description="Multiplier on the lever's size (0 switches it off)."
    )


class Lever:
    """Base class of policy levers. Subclasses set ``name`` and ``Settings`` and override hooks."""

    name: ClassVar[str] = ""
    Settings: ClassVar[type[LeverSettings]] = LeverSettings

    def __init__(self, **settings: Any) -> None:
        try:
            self.settings = self.Settings(**settings)
        except ValidationError as exc:
            err = first_error(exc)
            loc = ".".join(str(p) for p in err["loc"])
            raise LeverError(f"lever '{self.name}': setting '{loc}': {err['msg']}") from None
        self.spent = 0.0
        """Fiscal cost so far, m yuan at national scale."""
        self.spent_this_quarter = 0.0

    # --- schedule and budget -------------------------------------------------------------------
    def intensity(self, model: EnterpriseModel) -> float:
        """Strength in [0, scale] this quarter: 0 outside the schedule, linear during the ramp."""
        s = self.settings
        q = model.quarter
        if q < s.start or (s.duration is not None and q >= s.start + s.duration):
            return 0.0
        ramp = 1.0 if s.ramp == 0 else min(1.0, (q - s.start + 1) / s.ramp)
        return ramp * s.scale

    def remaining(self, model: EnterpriseModel) -> float:
        """Budget left, m yuan in model units (i.e. multiplied by the model's ``scale``)."""
        if self.settings.budget is None:
            return float("inf")
        return max(0.0, self.settings.budget * model.scale - self.spent * model.scale)

    def pay(
        self,
        model: EnterpriseModel,
        rows: np.ndarray | None,
        amounts: np.ndarray | float,
        to: str = "firms",
        label: str | None = None,
        equity: bool = False,
    ) -> np.ndarray | float:
        """Pay ``amounts`` (m yuan, model units) from the government to firms ``rows`` or to an account.

        Amounts are cut pro rata so the budget is never exceeded. ``equity=True`` books a payment to
        firms as an equity stake (guidance funds) rather than income. Returns what was actually paid.
        """
        remaining = self.remaining(model)
        if rows is not None:
            amounts = np.broadcast_to(np.asarray(amounts, dtype=float), rows.shape).copy()
            amounts = np.maximum(amounts, 0.0)
            total = float(amounts.sum())
            if total > remaining:
                amounts *= remaining / total
                total = remaining
            if total > 0:
                category = "equity" if equity else "income"
                model.accounts.firms_receive(rows, amounts, "government", label or self.name, category)
        else:
            total = min(max(float(amounts), 0.0), remaining)
            if total > 0:
                model.accounts.transfer("government", to, total, label or self.name)
            amounts = total
        self.spent += total / model.scale
        self.spent_this_quarter += total / model.scale
        return amounts

    def check(self, parameters: Parameters) -> None:
        """Raise :class:`LeverError` if the settings do not fit the model's ``parameters`` (a sector
        it does not have, say). Called when a scenario is checked and when the model starts."""

    # --- hooks into the model's stages ---------------------------------------------------------
    def act(self, model: EnterpriseModel) -> None:
        """Stage 1: set ``model.incentives`` for this quarter and pay scheduled transfers."""

    def extra_demand(self, model: EnterpriseModel) -> np.ndarray | None:
        """Stage 2: additional consumer spending by sector this quarter (m yuan, model units)."""
        return None

    def settle(self, model: EnterpriseModel) -> None:
        """After stage 5: pay what depends on firms' choices (subsidies on realised spending)."""

    def begin_quarter(self) -> None:
        self.spent_this_quarter = 0.0

    def random(self, model: EnterpriseModel) -> np.random.Generator:
        """The lever's own random stream, seeded from the model's seed and the lever's name.

        Levers never draw from ``model.rng``, so switching a lever on does not shift the baseline's
        random numbers (common random numbers across policies).
        """
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng([model.seed_material, zlib.crc32(self.name.encode())])
        return self._rng


LEVERS: dict[str, type[Lever]] = {}
"""Registered levers by name."""


def _origin(cls: type) -> tuple[str, str]:
    """Where a class is defined: its source file (the same file may be imported under two module
    names, ``my_levers`` and ``studies.my_levers``) or else its module, and its qualified name."""
    source = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return (os.path.realpath(source) if source else cls.__module__, cls.__qualname__)


def register_lever(cls: type[Lever]) -> type[Lever]:
    """Class decorator that makes a lever available by its ``name`` in scenario files."""
    if not cls.name:
        raise LeverError(f"lever class {cls.__name__} needs a non-empty 'name'")
    known = LEVERS.get(cls.name)
    if known is not None and _origin(known) != _origin(cls):
        raise LeverError(
            f"lever class {cls.__module__}.{cls.__qualname__} is named '{cls.name}', the name of "
            f"{known.__module__}.{known.__qualname__}; give it a name of its own"
        )
    LEVERS[cls.name] = cls
    return cls


def make_lever(name: str, settings: dict[str, Any] | None = None) -> Lever:
    """Instantiate the registered lever ``name`` with validated ``settings``."""
    if name not in LEVERS:
        known = ", ".join(sorted(LEVERS)) or "none"
        raise LeverError(f"unknown lever '{name}' (registered: {known})")
    return LEVERS[name](**(settings or {}))


class LeverError(ValueError):
    """A lever name or setting that is not valid."""
