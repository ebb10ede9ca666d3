"""Columnar firm state: one numpy array per firm attribute, one row per firm.

The Mesa agents (:mod:`smegrowth.firms`) are light handles on these rows, so every stage of the model can
act on all firms of a kind with one vectorised operation. A firm that lists, is acquired or exits keeps
its row for the rest of the quarter (its ``status`` changes); at the end of the quarter
:meth:`FirmState.compact` moves departed firms to an archive and fills their rows with active firms
from the end of the table, so that the active firms fill rows ``[0, n)`` and every stage reads and
writes them as contiguous slices. Rows therefore move between quarters; a firm's ``firm_id`` never
changes (it keys the firm's random draws).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

import numpy as np


class Kind(IntEnum):
    """Firm kinds of the MIIT tier system plus venture unicorns."""

    SME = 0
    LITTLE_GIANT = 1
    UNICORN = 2


class Status(IntEnum):
    """Whether a firm is still in the growth population or how it left."""

    ACTIVE = 0
    LISTED = 1
    ACQUIRED = 2
    EXITED = 3


# name: (dtype, initial value, unit / meaning)
COLUMNS: dict[str, tuple[type, float, str]] = {
    "firm_id": (np.int64, -1, "stable identifier, in order of creation (rows move; ids do not)"),
    "kind": (np.int8, 0, "Kind code"),
    "status": (np.int8, 0, "Status code"),
    "sector": (np.intp, 0, "index into the model's sector list (pointer-sized: it indexes sector tables)"),
    "niche": (np.intp, 0, "national niche market (global index; pointer-sized: it indexes niche tables)"),
    "bank": (np.intp, 0, "index of the firm's bank (pointer-sized: it indexes bank tables)"),
    "born": (np.float64, 0.0, "quarter of founding (model quarter index; negative before 2024Q4)"),
    "left": (np.int32, -1, "quarter the firm left the growth population, -1 if active"),
    "share": (np.float64, 0.0, "market share within its sector"),
    "orders": (np.float64, 0.0, "demand for the firm's products in the last quarter, m yuan"),
    "revenue": (np.float64, 0.0, "revenue in the last quarter (orders up to capacity), m yuan"),
    "revenue_lag4": (np.float64, 0.0, "annual revenue (sum of 4 quarters) one year ago, m yuan"),
    "revenue_lag8": (np.float64, 0.0, "annual revenue two years ago, m yuan"),
    "annual_revenue": (np.float64, 0.0, "revenue over the last four quarters, m yuan"),
    "profit": (np.float64, 0.0, "after-tax profit in the last quarter, m yuan"),
    "annual_profit": (np.float64, 0.0, "profit over the last four quarters, m yuan"),
    "employees": (np.float64, 0.0, "employees"),
    "capital": (np.float64, 0.0, "capital stock at replacement cost, m yuan"),
    "vintage": (np.float64, 0.0, "average installation quarter of the capital stock"),
    "productivity": (np.float64, 0.0, "log productivity, relative to the 2024 sector mean"),
    "rd": (np.float64, 0.0, "R&D spending in the last quarter, m yuan"),
    "annual_rd": (np.float64, 0.0, "R&D over the last four quarters, m yuan"),
    "patents": (np.float64, 0.0, "stock of invention patents"),
    "digital": (np.float64, 0.0, "digital maturity, 0..1"),
    "customer_base": (np.float64, 1.0, "share of its eventual customers the firm reaches, 0..1 (young firms grow it)"),
    "rd_taste": (np.float64, 1.0, "the firm's R&D intensity relative to its kind's norm (fixed trait)"),
    "investment": (np.float64, 0.0, "capital expenditure in the last quarter, m yuan"),
    "cash": (np.float64, 0.0, "cash, m yuan"),
    "debt": (np.float64, 0.0, "bank debt, m yuan"),
    "loan_rate": (np.float64, 0.0, "average annual rate on the debt"),
    "equity_raised": (np.float64, 0.0, "cumulative outside equity raised, m yuan"),
    "recent_equity": (np.float64, 0.0, "outside equity raised in the last 8 quarters, m yuan (decays)"),
    "valuation": (np.float64, 0.0, "equity valuation, m yuan (venture or market)"),
    "hype": (np.float64, 0.0, "log premium of the venture valuation over fundamentals"),
    "venture": (np.bool_, False, "venture-backed"),
    "specialisation": (np.float64, 0.0, "main business share of revenue"),
    "lg_since": (np.int32, -1000, "quarter the firm was (re-)certified a little giant"),
    "unicorn_since": (np.int32, -1000, "quarter the firm became a unicorn"),
}


_ACTIVE = int(Status.ACTIVE)
"""The code of active firms as a plain int: numpy compares arrays with an enum member ~5 times slower
(it probes the member for array protocols through the enum's class)."""
_FLOAT = np.dtype(np.float64)
_INTP = np.dtype(np.intp)


def by_kind(sme: float, little_giant: float, unicorn: float) -> np.ndarray:
    """A table of one value per firm kind, to be indexed by ``kind`` codes."""
    table = np.empty(len(Kind))
    table[[Kind.SME, Kind.LITTLE_GIANT, Kind.UNICORN]] = sme, little_giant, unicorn
    return table


def per_firm_values(values: np.ndarray | float, n: int) -> np.ndarray:
    """``values`` (one per firm, or one for all) as a read-only float array over ``n`` firms: what
    ``np.broadcast_to(np.asarray(values, dtype=float), (n,))`` gives, at a fraction of its cost (the
    model makes dozens of such arrays a quarter, for bookings and loan quotes, mostly of a few firms).
    Read-only whatever the input, so that compiled loops see one type of array."""
    if values.__class__ is not np.ndarray or values.dtype != _FLOAT:
        values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        column = np.ndarray((n,), dtype=float, buffer=values, strides=(0,))
    elif values.ndim == 1 and values.size == n:
        column = values.view()
    else:
        return np.broadcast_to(values, (n,))  # or the error for values of another shape
    column.flags.writeable = False
    return column


def _grown(column: np.ndarray, used: int, needed: int) -> np.ndarray:
    """``column`` with room for at least ``needed`` entries (1.5 times as many), keeping its first
    ``used`` entries (the rest is set when rows are added)."""
    grown = np.empty(max(needed, int(column.size * 1.5)), dtype=column.dtype)
    grown[:used] = column[:used]
    return grown


class FirmState:
    """The firm columns, grown geometrically as firms enter.

    Attributes are numpy views of length ``n`` (the number of rows in use), e.g. ``state.revenue``.
    Departed firms stay in their rows until :meth:`compact`, then live on in :meth:`departed`.
    """

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.next_id = 0
        """Number of firms ever created: ids run from 0 to ``next_id - 1``."""
        self._active: np.ndarray | None = None
        self._active_rows: np.ndarray | None = None
        self._capacity = max(16, capacity)
        # rows get their initial values when they are added (memory never used is never touched)
        self._data: dict[str, np.ndarray] = {
            name: np.empty(self._capacity, dtype=dtype) for name, (dtype, _, _) in COLUMNS.items()
        }
        self._row_of_id = np.full(self._capacity, -1, dtype=np.int64)
        self._archive: list[dict[str, np.ndarray]] = []
        self.archived_cash = 0.0
        """Cash kept by the archived firms (listed and acquired firms leave with theirs), m yuan."""
        self._set_rows(0)

    def _set_rows(self, n: int) -> None:
        """Use rows ``[0, n)``: the column attributes become views of that length (kept as plain
        attributes, because stages read them a few hundred times a quarter)."""
        self.n = n
        for name, column in self._data.items():
            self.__dict__[name] = column[:n]

    def __getstate__(self) -> dict:
        """Pickled and copied without the column views (they would come back as separate arrays)."""
        return {key: value for key, value in self.__dict__.items() if key not in self._data}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._set_rows(self.n)

    def __setattr__(self, name: str, value: object) -> None:
        data = self.__dict__.get("_data")
        if data is not None and name in data:
            data[name][: self.n] = value
        else:
            super().__setattr__(name, value)

    def add(self, count: int) -> np.ndarray:
        """Append ``count`` rows holding the columns' initial values and new ids; return their indices."""
        needed = self.n + count
        if needed > self._capacity:
            for name in COLUMNS:
                self._data[name] = _grown(self._data[name], self.n, needed)
            self._capacity = self._data["firm_id"].size
        for name, (_, init, _) in COLUMNS.items():
            self._data[name][self.n : needed] = init
        ids = np.arange(self.next_id, self.next_id + count)
        if ids.size and ids[-1] >= self._row_of_id.size:
            self._row_of_id = _grown(self._row_of_id, self.next_id, self.next_id + count)
            self._row_of_id[self.next_id :] = -1
        rows = np.arange(self.n, needed)
        self._data["firm_id"][rows] = ids
        self._row_of_id[ids] = rows
        self.next_id += count
        self._set_rows(needed)
        self._active = None
        return rows

    def compact(self) -> dict[str, np.ndarray]:
        """Archive the firms that left and fill their rows with the active firms from the end of the
        table, so that active firms occupy rows ``[0, n)``: work proportional to the departures, not to
        the population. Rows move; ids do not (use :meth:`rows_of_ids` to follow a firm across quarters).

        Returns the columns of the firms archived now (empty arrays if none had left).
        """
        active = self.active()
        gone = np.flatnonzero(~active)
        if gone.size == 0:
            return _no_firms()
        m = self.n - gone.size
        holes = gone[gone < m]
        movers = m + np.flatnonzero(active[m:])
        departed = {}
        for name, column in self._data.items():
            # column by column, so a hole's entry is overwritten while its memory is still in the
            # cache from archiving it (departures are scattered over the table: each is a cache miss)
            departed[name] = column[gone]
            column[holes] = column[movers]
        self._archive.append(departed)
        self.archived_cash += float(departed["cash"].sum())
        self._row_of_id[departed["firm_id"]] = -1
        self._row_of_id[self._data["firm_id"][holes]] = holes
        self._set_rows(m)
        self._active = None
        return departed

    def departed(self) -> dict[str, np.ndarray]:
        """The columns of the firms archived by :meth:`compact` (not those that left this quarter)."""
        if not self._archive:
            return _no_firms()
        return {name: np.concatenate([chunk[name] for chunk in self._archive]) for name in COLUMNS}

    def rows_of_ids(self, ids: np.ndarray) -> np.ndarray:
        """Current rows of the firms ``ids``; -1 for firms archived since they left."""
        return self._row_of_id[ids]

    def find_active(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, alive)`` of the firms ``ids``: their rows, and whether each is still active (rows of
        firms that are not must not be used)."""
        rows = self._row_of_id[ids]
        alive = rows >= 0
        alive[alive] = self.active()[rows[alive]]
        return rows, alive

    def index(self, rows: np.ndarray) -> np.ndarray | slice:
        """``rows`` as a slice when they are the cached :meth:`active_rows` and cover every row in use
        (the active firms at the start of a quarter, after :meth:`compact`); otherwise ``rows`` itself.

        ``column[state.index(rows)]`` then reads a view instead of gathering a copy, and writes a block
        instead of scattering: callers must not modify what they read in place, nor read it after
        writing the column.
        """
        if rows is self._active_rows and rows.size == self.n:
            return slice(0, self.n)
        return rows

    def per_row(self, ix: np.ndarray | slice, values: np.ndarray, fill: float) -> np.ndarray:
        """A column over all rows in use with ``values`` at ``ix`` (from :meth:`index`) and ``fill``
        elsewhere; ``values`` itself when ``ix`` covers every row."""
        if isinstance(ix, slice) and ix == slice(0, self.n):
            return values
        column = np.full(self.n, fill, dtype=np.asarray(values).dtype)
        column[ix] = values
        return column

    def reading(self, rows: np.ndarray, *names: str) -> tuple[np.ndarray | None, tuple[np.ndarray, ...]]:
        """For a compiled loop over firms ``rows``: (None, views of the columns ``names`` over exactly
        those rows) when ``rows`` are every row in use, else (``rows``, the whole columns), so that the
        loop reads row ``k`` of the first case, or row ``rows[k]`` of the second, without gathering."""
        rows = self.as_rows(rows)
        ix = self.index(rows)
        if isinstance(ix, slice):
            return None, tuple([self._data[name][ix] for name in names])
        return rows, tuple([self._data[name] for name in names])

    def as_rows(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` as an array of row indices (a boolean mask over the rows in use becomes the indices
        of its true entries), as compiled loops need them."""
        if rows is self._active_rows or (rows.__class__ is np.ndarray and rows.dtype == _INTP):
            return rows
        rows = np.asarray(rows)
        if rows.dtype == np.bool_:
            return np.flatnonzero(rows)
        if rows.dtype.kind not in "iu":
            raise TypeError(f"rows must be integer row indices or a boolean mask, not {rows.dtype}")
        return rows.astype(np.intp, copy=False)

    @contextmanager
    def editing(self, ix: np.ndarray | slice, *names: str) -> Iterator[tuple[np.ndarray, ...]]:
        """The columns ``names`` at ``ix`` (from :meth:`index`) to change in place: views when ``ix`` is a
        slice, otherwise copies that are written back when the block ends."""
        arrays = tuple(self._data[name][ix] for name in names)
        try:
            yield arrays
        finally:  # written back even if the block fails, as views would have been
            if not isinstance(ix, slice):
                for name, array in zip(names, arrays, strict=True):
                    self._data[name][ix] = array

    def active(self) -> np.ndarray:
        """Boolean mask of firms still in the growth population (cached; read it, don't write it)."""
        if self._active is None or self._active.size != self.n:
            self._active = self.status == _ACTIVE
            self._active.flags.writeable = False
            self._active_rows = None
        return self._active

    def active_rows(self) -> np.ndarray:
        """Indices of active firms (cached; read it, don't write it)."""
        mask = self.active()
        if self._active_rows is None:
            self._active_rows = np.flatnonzero(mask)
            self._active_rows.flags.writeable = False
        return self._active_rows

    def set_status(self, rows: np.ndarray, status: Status) -> None:
        """Change the status of ``rows``; the only way status should change, so caches stay right."""
        self._data["status"][rows] = status
        self._active = None

    def rows_of(self, kind: Kind) -> np.ndarray:
        """Indices of active firms of one kind."""
        rows = self.active_rows()
        return rows[np.flatnonzero(self.kind[self.index(rows)] == int(kind))]

    def assets(self) -> np.ndarray:
        """Total assets (cash, if positive, plus capital), m yuan."""
        return np.maximum(self.cash, 0.0) + self.capital

    def columns(self) -> list[str]:
        return list(COLUMNS)


_EMPTY_COLUMNS = {name: np.empty(0, dtype=dtype) for name, (dtype, _, _) in COLUMNS.items()}


def _no_firms() -> dict[str, np.ndarray]:
    """Every column, for no firms: a new dict of shared empty arrays (a quarter's first compaction,
    which finds nothing to do, asks for one; making 38 arrays each time cost ~30 us)."""
    return dict(_EMPTY_COLUMNS)
