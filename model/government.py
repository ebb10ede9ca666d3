"""The government: it holds the levers and the incentives they set for firms and markets each quarter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from .levers.base import Lever
    from .model import EnterpriseModel


class Incentives:
    """What the levers offer this quarter, read by firms' plans and by the markets.

    Per-firm arrays (one entry per row of the firm state) and market-wide scalars, reset to their
    neutral values at the start of every quarter before the levers act.
    """

    PER_FIRM: dict[str, float] = {
        "digital_subsidy": 0.0,  # share of digital-transformation spending the state pays
        "rd_grant": 0.0,  # grant received this quarter that the firm spends on R&D, m yuan
        "project_rate": np.nan,  # annual rate on eligible equipment-renewal project loans
        "interest_subsidy": 0.0,  # fiscal interest subsidy on eligible project loans, per year
        "signed_projects": 0.0,  # renewal projects already contracted, disbursed this quarter, m yuan
        "venture_boost": 1.0,  # multiplier on the chance and size of a venture round
        "ipo_weight": 1.0,  # multiplier on the firm's weight in the IPO queue
        "ma_boost": 1.0,  # multiplier on the firm's M&A hazard
    }
    SCALARS: dict[str, float] = {
        "project_quota": 0.0,  # eligible project lending banks may still refinance, m yuan (model units)
        "ipo_capacity_extra": 0.0,  # additional IPO approvals this quarter (model units)
        "listing_cost_cut": 0.0,  # share of listing fees waived
    }

    def __init__(self) -> None:
        for name, value in self.SCALARS.items():
            setattr(self, name, value)
        self._buffers: dict[str, np.ndarray] = {}
        self._n = 0

    def reset(self, n: int) -> None:
        """Neutral incentives for ``n`` firm rows."""
        self._n = n
        for name, value in self.PER_FIRM.items():
            buf = self._buffers.get(name)
            if buf is None or buf.size < n:
                buf = np.empty(max(n, int(1.5 * (0 if buf is None else buf.size))))
                self._buffers[name] = buf
            buf[:n] = value
        for name, value in self.SCALARS.items():
            setattr(self, name, value)

    def resize(self, n: int) -> None:
        """Cover ``n`` firm rows whose incentives are all neutral already (no lever has set any)."""
        if n > self._n:
            self.extend(n)
        self._n = n

    def extend(self, n: int) -> None:
        """Neutral incentives for rows added during the quarter (entrants)."""
        if n <= self._n:
            return
        for name, value in self.PER_FIRM.items():
            buf = self._buffers[name]
            if buf.size < n:
                grown = np.empty(max(n, int(1.5 * buf.size)))
                grown[: self._n] = buf[: self._n]
                buf = self._buffers[name] = grown
            buf[self._n : n] = value
        self._n = n

    def __getattr__(self, name: str) -> np.ndarray:
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:
            return buffers[name][: self._n]
        raise AttributeError(name)


class Government(mesa.Agent):
    """Holds the policy levers, runs them each quarter and collects corporate income tax."""

    def __init__(self, model: EnterpriseModel, levers: list[Lever]) -> None:
        super().__init__(model)
        self.levers = levers
        self.incentives = Incentives()

    def act(self) -> None:
        """Stage 1: reset incentives, then let each lever act in the order given (only levers set
        incentives, so without levers they stay neutral and need no reset)."""
        if self.levers:
            self.incentives.reset(self.model.state.n)
        else:
            self.incentives.resize(self.model.state.n)
        for lever in self.levers:
            lever.begin_quarter()
            lever.act(self.model)

    def extra_demand(self) -> np.ndarray:
        """Stage 2: consumer spending added by levers, by sector (m yuan, model units)."""
        total = np.zeros(len(self.model.sector_keys))
        for lever in self.levers:
            extra = lever.extra_demand(self.model)
            if extra is not None:
                total += extra
        return total

    def settle(self) -> None:
        """After finance: levers pay what depends on firms' realised choices."""
        for lever in self.levers:
            lever.settle(self.model)

    def fiscal_cost(self) -> dict[str, float]:
        """This quarter's spending by lever, m yuan at national scale."""
        return {lever.name: lever.spent_this_quarter for lever in self.levers}
