"""Scenario files: the YAML schema of a scenario or a sweep, and one-line errors for bad input.

A *scenario* sets the population ``scale``, the horizon in ``quarters``, the root ``seed``, the
policy ``levers`` and behavioural ``parameters`` overrides; it may ``extends:`` another file
(merged deeply, the child wins; ``name`` and ``description`` are never inherited). A *sweep* adds
a ``design``: named ``policies`` (levers and parameters that policy chooses), ``uncertainties``
(parameters we do not know, sampled by grid, zip, Latin hypercube or Sobol) and ``replicates``
(seeds). Vocabulary follows the EMA Workbench: levers, uncertainties, outcomes.

Example::

    name: reloan_vs_baseline
    extends: baseline.yaml
    design:
      type: lhs
      samples: 8
      replicates: 2
      policies:
        baseline: {}
        reloan: {levers: {reloan: {scale: 1.0}}}
      uncertainties:
        demand.replicator_speed: {low: 0.1, high: 0.2}

Every problem is reported as one :class:`ScenarioError` line naming the file, its line where known,
the key path and the reason, e.g. ``sweep.yaml:12: design.uncertainties.credit.max_pd: low must be
below high``.
"""

from __future__ import annotations

import copy
import importlib
import math
import re
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from .levers.base import LEVERS, Lever, LeverError, make_lever
from .outcomes import OUTCOME_DESCRIPTIONS
from .parameters import ParameterError, Parameters
from .population import counts as population_counts
from .settings import first_error

MAX_FILE_BYTES = 1_000_000
"""Largest scenario file read (bytes); scenario files are a few kilobytes."""
MAX_NODES = 100_000
"""Most YAML nodes a file may expand to once aliases are followed (stops alias bombs)."""
MAX_RUNS = 200_000
"""Most runs a sweep may plan (stops a typo such as ``samples: 1000000`` from filling a disk)."""
MAX_FIRMS = 5_000_000
"""Most firms a run may start with (population x scale); the national population is ~141,000, so
this allows scale 10 and stops a typo such as ``population.srdi_firms: 1410000000``."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
"""Scenario and policy names become folder and file names: letters, digits, '_' and '-'."""
LEVER_AXIS_PREFIX = "levers."


class ScenarioError(ValueError):
    """A scenario file or setting that is not valid, as one line: ``file:line: key: reason``."""

    def __init__(
        self, reason: str, file: str | None = None, line: int | None = None, key: str | None = None
    ) -> None:
        self.reason = " ".join(str(reason).split())
        self.file = file
        self.line = line
        self.key = key
        where = file or "scenario"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {key}: {self.reason}" if key else f"{where}: {self.reason}")


# --- reading YAML safely --------------------------------------------------------------------------


class YamlLoader(yaml.SafeLoader):
    """Safe YAML loader that reads ``1e6``, ``3.0e6`` and ``5e-3`` as numbers, as YAML 1.2 does (PyYAML
    follows YAML 1.1, where an exponent needs a dot and a sign, so those would be text); the scenario
    reader composes with it, then checks, to refuse duplicate keys and alias bombs."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def yaml_value(text: str) -> Any:
    """A YAML value written on the command line (``--set NAME=VALUE``), read as scenario files are."""
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 - YamlLoader is a SafeLoader


@dataclass
class Source:
    """One file of an ``extends`` chain: its path, text and composed YAML (for line numbers)."""

    path: Path
    display: str
    text: str
    data: dict[str, Any]
    node: yaml.MappingNode


def _kind_of(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"a single value ({node.value!r})" if node.value else "an empty value"


def _check_nodes(node: yaml.Node, display: str) -> None:
    """Refuse alias bombs, recursive aliases and duplicate keys in a composed YAML document."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise ScenarioError(
                "recursive YAML alias (an anchor that contains itself)",
                display,
                n.start_mark.line + 1,
            )
        visiting.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    ident = (k.tag, k.value)
                    if ident in seen:
                        raise ScenarioError(
                            f"duplicate key '{k.value}' (first given on line {seen[ident]})",
                            display,
                            k.start_mark.line + 1,
                        )
                    seen[ident] = k.start_mark.line + 1
                total += size(k) + size(v)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(item) for item in n.value)
        visiting.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise ScenarioError(
                f"the YAML expands to more than {MAX_NODES:,} nodes once aliases are "
                "followed (an alias bomb?)",
                display,
            )
        return total

    size(node)


def _reader_error(exc: yaml.reader.ReaderError, text: str, display: str) -> ScenarioError:
    """A character YAML does not allow (a control character), with its line."""
    line = text[: exc.position].count("\n") + 1
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return ScenarioError(f"invalid YAML: character #x{char:04x} is not allowed in YAML text",
                         display, line)


def read_yaml(path: Path, display: str) -> tuple[str, dict[str, Any], yaml.MappingNode]:
    """Read one scenario file: its text, its data and its composed root mapping (for line numbers).

    Refuses unreadable, oversized, binary, non-UTF-8, empty and non-mapping files, YAML syntax
    errors, duplicate keys and alias bombs, each with a :class:`ScenarioError`.
    """
    try:
        if path.is_dir():
            raise ScenarioError("is a folder, not a scenario file", display)
        if path.exists() and not path.is_file():  # read, /dev/zero never ends and a pipe may never start
            raise ScenarioError("is a device, pipe or socket, not a scenario file", display)
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(
                f"file is larger than {MAX_FILE_BYTES // 1000} kB; a scenario is a short YAML text",
                display,
            )
    except FileNotFoundError:
        raise ScenarioError("file not found", display) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror or exc}", display) from None
    if b"\x00" in raw:
        raise ScenarioError("binary content, not a YAML text file", display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", display, line
        ) from None
    try:
        loader = YamlLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, display) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError("empty scenario file", display)
        _check_nodes(node, display)
        if not isinstance(node, yaml.MappingNode):
            raise ScenarioError(
                f"a scenario must be a mapping of keys (name, scale, levers, ...), "
                f"not {_kind_of(node)}",
                display,
                node.start_mark.line + 1,
            )
        data = loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, display) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or "syntax error"
        if exc.context:
            reason = f"{reason} ({exc.context})"
        raise ScenarioError(
            f"invalid YAML: {reason}", display, mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", display) from None
    except RecursionError:
        raise ScenarioError("the YAML is nested too deeply", display) from None
    finally:
        loader.dispose()
    return text, data, node


def _load_chain(path: Path, display: str) -> list[Source]:
    """The file and the files it extends, child first; refuses missing files and cycles."""
    chain: list[Source] = []
    seen: list[Path] = []
    current, shown = path, display
    while True:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join([c.display for c in chain] + [shown])
            raise ScenarioError(
                f"extends cycle: {cycle}",
                chain[-1].display,
                _line_of(chain[-1].node, ("extends",)),
                "extends",
            )
        seen.append(resolved)
        text, data, node = read_yaml(current, shown)
        chain.append(Source(current, shown, text, data, node))
        parent = data.get("extends")
        if parent is None:
            return chain
        line = _line_of(node, ("extends",))
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError("must be the path of another scenario file", shown, line, "extends")
        nxt = current.parent / parent
        nxt_shown = str(Path(shown).parent / parent)
        if not nxt.is_file():
            reason = "is a folder" if nxt.is_dir() else "file not found"
            raise ScenarioError(f"{reason}: {nxt_shown}", shown, line, "extends")
        current, shown = nxt, nxt_shown


# --- key paths and line numbers -------------------------------------------------------------------


def _atoms(path: tuple[Any, ...]) -> list[Any]:
    """A key path split into atoms: dotted strings become several keys, list indices stay ints."""
    out: list[Any] = []
    for part in path:
        if isinstance(part, str):
            out.extend(part.split("."))
        else:
            out.append(part)
    return out


def _match(node: yaml.Node, path: tuple[Any, ...]) -> tuple[int, int | None]:
    """How many atoms of ``path`` the YAML under ``node`` contains, and the line of the deepest one.

    Keys written dotted (``credit.max_pd: 0.1``) and nested (``credit: {max_pd: 0.1}``) both match.
    """
    atoms = _atoms(path)
    depth, line, i = 0, None, 0
    current: yaml.Node = node
    while i < len(atoms):
        atom = atoms[i]
        nxt = None
        if isinstance(current, yaml.MappingNode):
            best = 0
            for key, value in current.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                if not isinstance(atom, str):  # a key that is not text, e.g. `1:`
                    if key.value == str(atom):
                        best, nxt = 1, (key, value)
                    continue
                parts = str(key.value).split(".")
                if len(parts) > best and atoms[i : i + len(parts)] == parts:
                    best, nxt = len(parts), (key, value)
            step = best
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(atom, int)
            and 0 <= atom < len(current.value)
        ):
            item = current.value[atom]
            nxt, step = (item, item), 1
        else:
            step = 0
        if nxt is None:
            break
        i += step
        depth = i
        line = nxt[0].start_mark.line + 1
        current = nxt[1]
    return depth, line


def _line_of(node: yaml.Node, path: tuple[Any, ...]) -> int | None:
    depth, line = _match(node, path)
    return line if depth == len(_atoms(path)) else None


def format_key(path: tuple[Any, ...] | list[Any]) -> str:
    """``("levers", "reloan", "scale")`` as ``levers.reloan.scale``; list indices as ``[i]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# --- the schema -----------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


LeverMap = dict[str, dict[str, Any] | None]


class Policy(_Strict):
    """A named policy of a sweep: levers and parameter overrides added to the scenario's own."""

    description: str = ""
    levers: LeverMap = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)


SAMPLED_DESIGNS = ("lhs", "sobol", "morris")
"""Designs that sample uncertainties between ``{low, high}`` bounds (the others list values)."""


class Design(_Strict):
    """How a sweep samples policies, uncertainties and replicates."""

    type: Literal["grid", "zip", "lhs", "sobol", "morris"] = Field(
        "grid",
        description="grid: every combination of listed values; zip: the i-th value of every list "
        "together; lhs: Latin hypercube of `samples` points in {low, high} bounds; "
        "sobol: Saltelli design "
        "(SALib) of `samples` base points; morris: `samples` Morris trajectories (SALib; "
        "elementary effects, a cheap screening of many parameters).",
    )
    samples: int | None = Field(
        None, ge=1, le=100_000,
        description="Points of an lhs design, base points of sobol, trajectories of morris.",
    )
    replicates: int = Field(
        1, ge=1, le=10_000, description="Seeds per policy and sample point (common random numbers)."
    )
    second_order: bool = Field(
        False, description="sobol only: also sample for second-order indices."
    )
    levels: int | None = Field(
        None, ge=2, le=100,
        description="morris only: levels of each parameter's grid (default 4; an even number).",
    )
    policies: dict[str, Policy] = Field(default_factory=dict)
    uncertainties: dict[str, Any] = Field(default_factory=dict)


class Scenario(_Strict):
    """A scenario or sweep, resolved (``extends`` merged) and validated.

    Build one with :func:`load_scenario`
    or :meth:`Scenario.from_mapping`; both run :meth:`check`."""

    name: str = Field(description="Name of the scenario; results go to results/<name>/.")
    description: str = ""
    scale: float = Field(
        1.0,
        gt=0,
        le=10,
        allow_inf_nan=False,
        description="Share of the national firm population simulated (0.1 = 10 %).",
    )
    quarters: int = Field(24, ge=1, le=200, description="Horizon in quarters from 2024Q4.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Root seed of every replicate and design.")
    levers: LeverMap = Field(default_factory=dict, description="Registered lever name -> settings.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Dotted parameter -> value."
    )
    outcomes: list[str] | None = Field(None, description="Outcomes to keep (default: all).")
    snapshots: bool = Field(False, description="Write a per-firm snapshot at the end of each run.")
    imports: list[str] = Field(
        default_factory=list,
        description="Python modules to import first, e.g. to register your own levers; the "
        "scenario file's folder is searched first (it is put on sys.path).",
    )
    design: Design | None = None

    _sources: list[Source] = PrivateAttr(default_factory=list)

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], sources: list[Source] | None = None) -> Scenario:
        """Validate a (merged) mapping; ``sources`` (child first) give files and line numbers."""
        sources = sources or []
        try:
            scenario = cls.model_validate(dict(data))
        except ValidationError as exc:
            err = first_error(exc)
            path = tuple(p for p in err["loc"] if p != "[key]")
            raise _locate(sources, path, _pydantic_reason(err, path), data.get("name")) from None
        scenario._sources = sources
        scenario.check()
        return scenario

    def with_overrides(self, **changes: Any) -> Scenario:
        """A validated copy with top-level settings replaced (``quarters=8``, ``scale=0.05``). An error
        in a replaced setting names the setting (its ``key``), not the line of the file it replaced."""
        changed = {k: v for k, v in changes.items() if v is not None}
        for key, value in changed.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ScenarioError(f"must be a finite number, got {value}", f"scenario '{self.name}'", None, key)
        try:
            return Scenario.from_mapping({**self.model_dump(), **changed}, self._sources)
        except ScenarioError as exc:
            if exc.key in changed:
                raise ScenarioError(exc.reason, f"scenario '{self.name}'", None, exc.key) from None
            raise

    @property
    def sources(self) -> list[Source]:
        """The files this scenario was read from, child first (empty if built in Python)."""
        return list(self._sources)

    @property
    def is_sweep(self) -> bool:
        return self.design is not None

    # --- errors ----------------------------------------------------------------------------------
    def error(self, path: tuple[Any, ...], reason: str) -> ScenarioError:
        """A :class:`ScenarioError` at key ``path``, with the file and line it was set on."""
        return _locate(self._sources, path, reason, self.name)

    # --- validation ------------------------------------------------------------------------------
    def check(self) -> None:
        """Checks the schema cannot make: names exist, values in range, design consistent."""
        if not NAME_PATTERN.match(self.name):
            raise self.error(
                ("name",),
                f"'{self.name}' is not a usable name: use letters, digits, '_' "
                "and '-' (it names the results folder)",
            )
        for folder in dict.fromkeys(str(s.path.resolve().parent) for s in self._sources):
            if self.imports and folder not in sys.path:
                sys.path.insert(0, folder)
        for i, module in enumerate(self.imports):
            try:
                importlib.import_module(module)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure is the user's to fix
                raise self.error(
                    ("imports", i), f"cannot import '{module}': {type(exc).__name__}: {exc}"
                ) from None
        _check_finite(self)
        for name, settings in self.levers.items():
            _check_lever(self, ("levers", name), name, settings or {})
        _check_parameters(self, ("parameters",), flatten(self.parameters))
        if self.outcomes == []:
            raise self.error(("outcomes",), "an empty list keeps no outcome; leave `outcomes:` out to "
                                            "keep them all")
        for i, outcome in enumerate(self.outcomes or []):
            if outcome not in known_outcomes():
                raise self.error(
                    ("outcomes", i),
                    f"unknown outcome '{outcome}' (see `OUTCOME_DESCRIPTIONS`; "
                    f"e.g. {', '.join(list(OUTCOME_DESCRIPTIONS)[:5])}, ...)",
                )
        if self.design is not None:
            _check_design(self, self.design)
        _check_population(self)
        _check_levers_fit_parameters(self)

    # --- resolved views used by the runner -------------------------------------------------------
    def policies(self) -> dict[str, ResolvedPolicy]:
        """Each policy with the scenario's own levers and parameters merged in (the policy wins).

        Without ``design.policies`` there is one policy, named after the scenario.
        """
        base_levers = {k: dict(v or {}) for k, v in self.levers.items()}
        base_params = flatten(self.parameters)
        declared = self.design.policies if self.design else {}
        if not declared:
            return {
                self.name: ResolvedPolicy(self.name, self.description, base_levers, base_params)
            }
        out = {}
        for name, policy in declared.items():
            levers = copy.deepcopy(base_levers)
            for lever, settings in policy.levers.items():
                levers[lever] = deep_merge(levers.get(lever, {}), settings or {})
            out[name] = ResolvedPolicy(
                name, policy.description, levers, {**base_params, **flatten(policy.parameters)}
            )
        return out

    def uncertainties(self) -> list[Uncertainty]:
        """The design's uncertainties (parameters and lever-setting axes), parsed."""
        if self.design is None:
            return []
        return [
            _parse_uncertainty(self, self.design, name, spec)
            for name, spec in self.design.uncertainties.items()
        ]

    def points(self) -> int:
        """Number of sample points of the design (1 without uncertainties)."""
        d = self.design
        axes = self.uncertainties()
        if d is None or not axes:
            return 1
        if d.type == "grid":
            return math.prod(len(u.values or ()) for u in axes)
        if d.type == "zip":
            return len(axes[0].values or ())
        if d.type == "lhs":
            return int(d.samples or 0)
        if d.type == "morris":
            return int(d.samples or 0) * (len(axes) + 1)
        return int(d.samples or 0) * (2 * len(axes) + 2 if d.second_order else len(axes) + 2)

    def run_count(self) -> int:
        """Policies x sample points x replicates."""
        replicates = self.design.replicates if self.design else 1
        return len(self.policies()) * self.points() * replicates


@dataclass(frozen=True)
class ResolvedPolicy:
    """A policy's full lever settings and parameter overrides (scenario's own merged in)."""

    name: str
    description: str
    levers: dict[str, dict[str, Any]]
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Uncertainty:
    """One axis of a design: a dotted parameter or a lever setting ``levers.<lever>.<setting>``."""

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False

    @property
    def lever(self) -> tuple[str, str] | None:
        """``(lever, setting)`` for a lever axis, else None."""
        if not self.name.startswith(LEVER_AXIS_PREFIX):
            return None
        lever, _, setting = self.name[len(LEVER_AXIS_PREFIX) :].partition(".")
        return lever, setting


# --- helpers --------------------------------------------------------------------------------------


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: mappings merge key by key, everything else is replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def flatten(parameters: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameters as dotted names: ``{credit: {max_pd: 0.1}}`` -> ``{"credit.max_pd": 0.1}``.

    Parameter leaves are never mappings, so nesting and dotting mean the same and may be mixed.
    """
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


@cache
def default_parameters() -> dict[str, Any]:
    """Every dotted parameter name with its default value."""
    return flatten(Parameters().model_dump())


def known_outcomes() -> set[str]:
    """Outcome names a scenario may keep: the model's outcomes, per sector and per registered lever,
    and the run-summary forms ``<name>_total`` and ``<name>_mean``."""
    base = set(OUTCOME_DESCRIPTIONS)
    for sector in Parameters().sectors:
        base |= {f"new_unicorns_{sector}", f"revenue_{sector}"}
    base |= {f"fiscal_cost_{lever}" for lever in LEVERS}
    return base | {f"{n}_total" for n in base} | {f"{n}_mean" for n in base} | {"quarters"}


def _locate(
    sources: list[Source], path: tuple[Any, ...], reason: str, name: Any = None
) -> ScenarioError:
    """The error at ``path`` in the file that set it (the most derived file wins ties)."""
    key = format_key(path) or None
    if not sources:
        return ScenarioError(reason, f"scenario '{name}'" if name else None, None, key)
    best, best_depth, best_line = sources[0], -1, None
    for source in sources:
        depth, line = _match(source.node, path)
        if depth > best_depth:
            best, best_depth, best_line = source, depth, line
    return ScenarioError(reason, best.display, best_line, key)


def _allowed_keys(container: tuple[Any, ...]) -> list[str]:
    if container == ():
        return [k for k in Scenario.model_fields]
    if container == ("design",):
        return list(Design.model_fields)
    if len(container) == 3 and container[:2] == ("design", "policies"):
        return list(Policy.model_fields)
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pydantic_reason(err: Mapping[str, Any], path: tuple[Any, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        return "unknown key" + (f" (allowed here: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    if "[key]" in err["loc"]:
        return f"keys must be text, got {_short(err['input'])}"
    return f"{err['msg']}, got {_short(err['input'])}"


def _check_lever(
    scenario: Scenario, path: tuple[Any, ...], name: str, settings: Mapping[str, Any]
) -> None:
    """Refuse an unregistered lever or a setting its ``Settings`` refuses, at that setting's key."""
    cls = LEVERS.get(name)
    if cls is None:
        known = ", ".join(sorted(LEVERS)) or "none yet"
        raise scenario.error(path, f"unknown lever '{name}' (registered: {known})")
    try:
        cls.Settings.model_validate(dict(settings))
    except ValidationError as exc:
        err = first_error(exc)
        loc = tuple(err["loc"])
        reason = (
            "unknown setting" + (f" (settings of '{name}': {', '.join(cls.Settings.model_fields)})")
            if err["type"] == "extra_forbidden"
            else f"{err['msg']}, got {_short(err['input'])}"
        )
        raise scenario.error(path + loc, reason) from None
    try:
        make_lever(name, dict(settings))
    except LeverError as exc:
        raise scenario.error(path, str(exc)) from None


def _non_finite(value: Any, path: tuple[Any, ...]) -> tuple[tuple[Any, ...], float] | None:
    """The key path and value of the first NaN or infinite number in ``value``, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _non_finite(item, (*path, key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _non_finite(item, (*path, i))
            if found:
                return found
    return None


def _check_finite(scenario: Scenario) -> None:
    """Refuse NaN and infinite numbers (YAML ``.nan``, ``.inf``) in levers, parameters and the
    design: no behavioural parameter or lever setting is meaningful at infinity, and a NaN would
    only surface quarters later as a crash or a table of NaNs."""
    trees: list[tuple[tuple[Any, ...], Any]] = [
        (("levers",), scenario.levers),
        (("parameters",), scenario.parameters),
    ]
    if scenario.design is not None:
        for name, policy in scenario.design.policies.items():
            trees.append((("design", "policies", name, "levers"), policy.levers))
            trees.append((("design", "policies", name, "parameters"), policy.parameters))
        trees.append((("design", "uncertainties"), scenario.design.uncertainties))
    for path, tree in trees:
        found = _non_finite(tree, path)
        if found:
            raise scenario.error(found[0], f"must be a finite number, got {found[1]}")


def _check_population(scenario: Scenario) -> None:
    """Refuse a ``scale`` (or population override) that would simulate no firms at all, or more
    than :data:`MAX_FIRMS`."""
    for policy in scenario.policies().values():
        params = Parameters().override(policy.parameters) if policy.parameters else Parameters()
        firms = sum(population_counts(params, scenario.scale).values())
        if firms > MAX_FIRMS:
            raise scenario.error(
                ("scale",),
                f"scale {scenario.scale:g} x population.srdi_firms "
                f"{params.population.srdi_firms:,} would simulate {firms:,} firms, more than the "
                f"{MAX_FIRMS:,} allowed",
            )
        if firms == 0:
            srdi = params.population.srdi_firms
            hint = (f"; the smallest useful scale is about {0.5 / srdi:.1g}" if srdi > 0
                    else "; population.srdi_firms is 0")
            raise scenario.error(
                ("scale",),
                f"scale {scenario.scale:g} simulates no firms at all"
                + (f" (policy '{policy.name}')" if scenario.design and scenario.design.policies
                   else "") + hint,
            )


def _check_levers_fit_parameters(scenario: Scenario) -> None:
    """Refuse a policy whose levers do not fit its parameters (:meth:`Lever.check`: a sector the
    model does not have, a good no sector makes), at the lever's key."""
    declared = scenario.design.policies if scenario.design else {}
    for policy in scenario.policies().values():
        params = Parameters().override(policy.parameters)
        for name, settings in policy.levers.items():
            try:
                make_lever(name, settings).check(params)
            except LeverError as exc:
                in_policy = policy.name in declared and name in declared[policy.name].levers
                path = ("design", "policies", policy.name, "levers", name) if in_policy else ("levers", name)
                raise scenario.error(path, str(exc)) from None


def _check_parameters(scenario: Scenario, path: tuple[Any, ...], overrides: dict[str, Any]) -> None:
    """Refuse unknown parameters and out-of-range values through :meth:`Parameters.override`."""
    if not overrides:
        return
    try:
        Parameters().override(overrides)
    except ParameterError as exc:
        raise scenario.error(path + (exc.key,), exc.reason) from None


def _lever_field(
    scenario: Scenario, path: tuple[Any, ...], lever: str, setting: str
) -> type[Lever]:
    cls = LEVERS.get(lever)
    if cls is None:
        known = ", ".join(sorted(LEVERS)) or "none yet"
        raise scenario.error(path, f"unknown lever '{lever}' (registered: {known})")
    if setting not in cls.Settings.model_fields:
        raise scenario.error(
            path,
            f"lever '{lever}' has no setting '{setting}' (settings: "
            f"{', '.join(cls.Settings.model_fields)})",
        )
    return cls


def _is_integer_annotation(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return annotation is int or (bool(args) and int in args and float not in args)


def _parse_uncertainty(scenario: Scenario, design: Design, name: str, spec: Any) -> Uncertainty:
    """Parse one uncertainty; its values are checked against the model by :func:`_check_design`."""
    path = ("design", "uncertainties", name)
    sampled = design.type in SAMPLED_DESIGNS
    if name.startswith(LEVER_AXIS_PREFIX):
        lever, _, setting = name[len(LEVER_AXIS_PREFIX) :].partition(".")
        if not lever or not setting or "." in setting:
            raise scenario.error(path, "a lever axis is named levers.<lever>.<setting>")
        cls = _lever_field(scenario, path, lever, setting)
        annotation = cls.Settings.model_fields[setting].annotation
        integer = _is_integer_annotation(annotation)
        yes_no = annotation is bool
    else:
        defaults = default_parameters()
        if name not in defaults:
            near = [n for n in defaults if n.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]]
            hint = f" (did you mean {', '.join(near[:3])}?)" if near else ""
            raise scenario.error(path, f"unknown parameter '{name}'{hint}")
        default = defaults[name]
        integer = isinstance(default, int) and not isinstance(default, bool)
        yes_no = isinstance(default, bool)
    if sampled and integer and design.type == "morris":
        raise scenario.error(path, "a morris design needs continuous parameters: rounding to whole "
                                   "numbers would break its one-step trajectories (use lhs or sobol)")
    if sampled and yes_no:
        raise scenario.error(path, f"a yes/no setting cannot be sampled between bounds (a {design.type} design); "
                                   "list [true, false] in a grid design")
    if sampled:
        if not isinstance(spec, Mapping) or set(spec) != {"low", "high"}:
            raise scenario.error(
                path,
                f"a {design.type} design needs bounds {{low: ..., high: ...}}, got {_short(spec)}",
            )
        low, high = spec["low"], spec["high"]
        for bound, value in (("low", low), ("high", high)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise scenario.error(
                    path + (bound,), f"must be a finite number, got {_short(value)}"
                )
        if not low < high:
            raise scenario.error(path, f"low ({low}) must be below high ({high})")
        return Uncertainty(name, low=float(low), high=float(high), integer=integer)
    if not isinstance(spec, list) or not spec:
        raise scenario.error(
            path, f"a {design.type} design needs a non-empty list of values, got {_short(spec)}"
        )
    return Uncertainty(name, values=tuple(spec), integer=integer)


def _check_design(scenario: Scenario, design: Design) -> None:
    """Refuse inconsistent designs and any policy or uncertainty value the model would refuse."""
    if design.type in SAMPLED_DESIGNS:
        if design.samples is None:
            raise scenario.error(("design", "type"), f"a {design.type} design needs `samples`")
        if not design.uncertainties:
            raise scenario.error(
                ("design", "type"), f"a {design.type} design needs `uncertainties` to sample"
            )
        if design.type == "sobol" and design.samples & (design.samples - 1):
            raise scenario.error(
                ("design", "samples"),
                f"a sobol design needs a power of two "
                f"(e.g. {1 << design.samples.bit_length()}), got {design.samples}",
            )
    elif design.samples is not None:
        raise scenario.error(
            ("design", "samples"), f"`samples` applies to lhs, sobol and morris designs, not {design.type}"
        )
    if design.second_order and design.type != "sobol":
        raise scenario.error(("design", "second_order"), "applies to sobol designs only")
    if design.levels is not None and design.type != "morris":
        raise scenario.error(("design", "levels"), "applies to morris designs only")
    if design.levels is not None and design.levels % 2:
        raise scenario.error(("design", "levels"), f"must be even (got {design.levels}), as SALib's "
                                                   "Morris sampling asks: its steps are half the grid")
    seen: dict[str, str] = {}
    for name in design.policies:
        if not NAME_PATTERN.match(name):
            raise scenario.error(
                ("design", "policies", name),
                "not a usable policy name: use letters, "
                "digits, '_' and '-' (it names the run files)",
            )
        if (twin := seen.setdefault(name.casefold(), name)) != name:
            raise scenario.error(
                ("design", "policies", name),
                f"differs from policy '{twin}' only in upper and lower case: their run files would "
                "be one file on macOS and Windows",
            )
    policies = scenario.policies()
    for name, policy in policies.items():
        if name not in design.policies:
            continue
        path = ("design", "policies", name)
        for lever, settings in policy.levers.items():
            _check_lever(scenario, path + ("levers", lever), lever, settings)
        own = flatten(design.policies[name].parameters)
        try:
            Parameters().override(policy.parameters)
        except ParameterError as exc:
            at = path + ("parameters", exc.key) if exc.key in own else ("parameters", exc.key)
            raise scenario.error(at, exc.reason) from None
    axes = scenario.uncertainties()
    if design.type == "zip" and axes:
        lengths = {u.name: len(u.values or ()) for u in axes}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
            raise scenario.error(
                ("design", "uncertainties"), f"a zip design needs lists of equal length ({detail})"
            )
    for u in axes:
        path = ("design", "uncertainties", u.name)
        candidates = list(u.values) if u.values is not None else [u.low, u.high]
        if u.integer and u.values is None:
            candidates = [round(c) for c in candidates]  # type: ignore[arg-type]
        target = u.lever
        if target is None:
            clash = [p for p, pol in design.policies.items() if u.name in flatten(pol.parameters)]
            if clash:
                raise scenario.error(
                    path,
                    f"also set by policy '{clash[0]}'; a parameter is either a "
                    "policy choice or an uncertainty",
                )
            for pol in policies.values():
                for value in candidates:
                    try:
                        params = Parameters().override({**pol.parameters, u.name: value})
                        for name, settings in pol.levers.items():
                            make_lever(name, settings).check(params)
                    except ParameterError as exc:
                        raise scenario.error(path, f"value {_short(value)}: {exc.reason}") from None
                    except LeverError as exc:
                        raise scenario.error(path, f"value {_short(value)}: {exc}") from None
        else:
            lever, setting = target
            users = [p for p in policies.values() if lever in p.levers]
            if not users:
                raise scenario.error(
                    path,
                    f"lever '{lever}' is not used by the scenario or any policy; "
                    f"add it under `levers:` (e.g. `{lever}: {{}}`)",
                )
            for pol in users:
                params = Parameters().override(pol.parameters)
                for value in candidates:
                    try:
                        make_lever(lever, {**pol.levers[lever], setting: value}).check(params)
                    except LeverError as exc:
                        raise scenario.error(path, f"value {_short(value)}: {exc}") from None
    if scenario.run_count() > MAX_RUNS:
        raise scenario.error(
            ("design",), f"plans {scenario.run_count():,} runs, more than the {MAX_RUNS:,} allowed"
        )


# --- loading --------------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file.

    Raises:
        ScenarioError: one line naming the file, the line, the key and what is wrong.
    """
    display = str(path)
    chain = _load_chain(Path(path), display)
    merged: dict[str, Any] = {}
    for source in reversed(chain):
        own = {k: v for k, v in source.data.items() if k not in ("extends", "name", "description")}
        merged = deep_merge(merged, own)
    top = chain[0].data
    merged["name"] = top.get("name", Path(path).stem)
    merged["description"] = top.get("description", "")
    return Scenario.from_mapping(merged, chain)
