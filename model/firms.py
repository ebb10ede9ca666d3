"""Firm kinds as Mesa agents: SRDI SMEs, little giants and unicorns.

Each firm is a light :class:`mesa.Agent` handle on one row of the columnar :class:`FirmState`; its
attributes (``firm.revenue``, ``firm.cash``...) read and write that row. Firms own their decisions
through hooks that come in two flavours:

* vectorised class methods (``plan_rd``, ``plan_investment``, ``plan_digital``) that decide for all
  firms of a kind at once: fast, and what the built-in kinds use;
* per-agent methods (``rd_intensity``, ``investment_plan``, ``digital_plan``) in Mesa's usual style.

A subclass may override either. If it overrides the per-agent method, the model calls it firm by firm
(slower, but it works). Example: a little giant that spends 50 % more on R&D::

    from smegrowth import EnterpriseModel, LittleGiant

    class AmbitiousLittleGiant(LittleGiant):
        def rd_intensity(self) -> float:
            return 1.5 * super().rd_intensity()

    model = EnterpriseModel(scale=0.05, rng=1, kinds={"LittleGiant": AmbitiousLittleGiant})
    model.run(quarters=8)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from .firm_state import COLUMNS, Kind, Status

if TYPE_CHECKING:
    from .model import EnterpriseModel


class Firm(mesa.Agent):
    """A firm of the growth population; subclasses fix its :class:`Kind`."""

    kind: ClassVar[Kind] = Kind.SME
    model: EnterpriseModel

    def __init__(self, model: EnterpriseModel, row: int) -> None:
        super().__init__(model)
        self.firm_id = int(model.state.firm_id[row])
        """The firm's stable id (its row moves when departed firms are archived between quarters)."""

    @property
    def row(self) -> int:
        """The firm's row in the columnar state this quarter (a firm that has left the population has
        none once it is archived: its final state is in ``model.firm_table()``)."""
        row = int(self.model.state.rows_of_ids(self.firm_id))
        if row < 0:
            raise LookupError(f"firm {self.firm_id} has left the population; see model.firm_table()")
        return row

    # --- R&D -----------------------------------------------------------------------------------
    def rd_intensity(self) -> float:
        """Planned R&D spending per yuan of revenue this quarter."""
        return float(self._vector("plan_rd")[0])

    @classmethod
    def plan_rd(cls, model: EnterpriseModel, rows: np.ndarray) -> np.ndarray:
        """R&D/revenue for ``rows``: the norm of the firm's kind (grant-funded R&D comes on top)."""
        return model.innovation.rd_norm(model, rows)

    # --- investment ----------------------------------------------------------------------------
    def investment_plan(self) -> tuple[float, float]:
        """Planned (renewal, expansion) capital spending this quarter, m yuan."""
        renewal, expansion = self._vector("plan_investment")
        return float(renewal[0]), float(expansion[0])

    @classmethod
    def plan_investment(cls, model: EnterpriseModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Equipment renewal by vintage and expansion towards desired capacity, m yuan."""
        return model.investment.plan(model, rows)

    # --- digital transformation ----------------------------------------------------------------
    def digital_plan(self) -> float:
        """Planned digital-transformation spending this quarter, m yuan (before subsidies)."""
        return float(self._vector("plan_digital")[0])

    @classmethod
    def plan_digital(cls, model: EnterpriseModel, rows: np.ndarray) -> np.ndarray:
        """Spending that falls as maturity rises and rises as subsidies cut its net price, m yuan."""
        return model.innovation.digital_demand(model, rows)

    # --- plumbing ------------------------------------------------------------------------------
    def _vector(self, name: str):
        return getattr(type(self), name)(self.model, np.array([self.row]))

    @property
    def age(self) -> float:
        """Age in years."""
        return (self.model.quarter - float(self.model.state.born[self.row])) / 4.0

    @property
    def active(self) -> bool:
        row = int(self.model.state.rows_of_ids(self.firm_id))
        return row >= 0 and int(self.model.state.status[row]) == Status.ACTIVE

    @property
    def sector_name(self) -> str:
        return self.model.sector_keys[int(self.model.state.sector[self.row])]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.unique_id} row={self.row} revenue={self.revenue:.1f}>"


def _column_property(name: str, doc: str) -> property:
    def get(self: Firm):
        return self.model.state._data[name][self.row]

    def set_(self: Firm, value) -> None:
        self.model.state._data[name][self.row] = value

    return property(get, set_, doc=doc)


for _name, (_dtype, _init, _doc) in COLUMNS.items():
    if _name not in ("kind", "firm_id"):
        setattr(Firm, _name, _column_property(_name, _doc))


class SME(Firm):
    """A specialised, refined, distinctive and innovative ("SRDI", 专精特新) SME."""

    kind = Kind.SME


class LittleGiant(Firm):
    """A national "little giant": an SRDI SME certified by MIIT for three years."""

    kind = Kind.LITTLE_GIANT


class Unicorn(Firm):
    """A private, venture-backed firm valued at US$1 bn or more."""

    kind = Kind.UNICORN


HOOKS: dict[str, str] = {
    "plan_rd": "rd_intensity",
    "plan_investment": "investment_plan",
    "plan_digital": "digital_plan",
}
"""Vectorised hook -> the per-agent method a subclass may override instead."""


def built_in(cls: type[Firm], vector: str) -> bool:
    """Whether ``cls`` decides hook ``vector`` with :class:`Firm`'s own method (neither the vectorised
    hook nor its per-agent method is overridden). The built-in hooks do not depend on the class (they
    read each firm's kind from its row), so the model may call them once for firms of every kind."""
    scalar = HOOKS[vector]
    owner = next(klass for klass in cls.__mro__ if vector in klass.__dict__ or scalar in klass.__dict__)
    return owner is Firm


def call_hook(cls: type[Firm], vector: str, model: EnterpriseModel, rows: np.ndarray):
    """Call hook ``vector`` for ``rows`` of kind class ``cls``.

    Walks the class hierarchy: if the most derived override is the per-agent method, call it firm
    by firm and stack the results; otherwise call the vectorised class method once.
    """
    scalar = HOOKS[vector]
    for klass in cls.__mro__:
        if vector in klass.__dict__:
            return getattr(cls, vector)(model, rows)
        if scalar in klass.__dict__:
            firms = model.firms_at(rows)
            values = [getattr(f, scalar)() for f in firms]
            if vector == "plan_investment":
                arr = np.asarray(values, dtype=float).reshape(rows.size, 2)
                return arr[:, 0], arr[:, 1]
            return np.asarray(values, dtype=float).reshape(rows.size)
    raise AttributeError(vector)
