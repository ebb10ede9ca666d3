"""Scenario files: schema, extends, one-line errors naming file, line and key; seeds and designs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from smegrowth.design import sample_points
from smegrowth.runner import plan_runs, run_id
from smegrowth.scenario import Scenario, ScenarioError, load_scenario
from smegrowth.seeds import design_seed, replicate_seeds


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


BASE = """
    name: base
    description: a small base
    scale: 0.01
    quarters: 3
    seed: 7
    parameters:
      credit.max_pd: 0.1
      demand:
        replicator_speed: 0.2
"""


# --- valid files ----------------------------------------------------------------------------------


def test_extends_merges_deeply_child_wins_and_name_is_not_inherited(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """
        extends: base.yaml
        quarters: 4
        parameters:
          credit:
            max_pd: 0.09
          venture.round_rate: 0.1
    """)
    s = load_scenario(child)
    assert s.name == "child"  # the file stem, not the parent's name
    assert s.description == ""
    assert (s.scale, s.quarters, s.seed) == (0.01, 4, 7)
    policy = s.policies()["child"]
    assert policy.parameters == {"credit.max_pd": 0.09, "demand.replicator_speed": 0.2,
                                 "venture.round_rate": 0.1}
    assert [src.path.name for src in s.sources] == ["child.yaml", "base.yaml"]
    assert not s.is_sweep and s.run_count() == 1


def test_defaults_and_python_construction():
    s = Scenario.from_mapping({"name": "tiny"})
    assert (s.scale, s.quarters, s.seed, s.snapshots, s.outcomes) == (1.0, 24, 0, False, None)
    with pytest.raises(ScenarioError, match=r"scenario 'tiny': quarters: .*less than or equal"):
        Scenario.from_mapping({"name": "tiny", "quarters": 201})


def test_policies_merge_onto_the_scenarios_own_levers_and_parameters(tmp_path):
    path = write(tmp_path, "sweep.yaml", """
        name: sweep
        scale: 0.01
        quarters: 2
        levers:
          reloan: {quota: 1000.0}
        parameters: {credit.max_pd: 0.1}
        design:
          replicates: 3
          policies:
            baseline: {}
            bigger:
              levers: {reloan: {scale: 2.0}}
              parameters: {venture.round_rate: 0.1}
    """)
    s = load_scenario(path)
    pol = s.policies()
    assert pol["baseline"].levers == {"reloan": {"quota": 1000.0}}
    assert pol["bigger"].levers == {"reloan": {"quota": 1000.0, "scale": 2.0}}
    assert pol["bigger"].parameters == {"credit.max_pd": 0.1, "venture.round_rate": 0.1}
    assert s.run_count() == 6


# --- bad files: one line naming file, line and key ------------------------------------------------

BAD_FILES = {
    "unknown_key": (
        "name: x\n"
        "scalez: 0.1\n",
        ":2: scalez: unknown key",
    ),
    "wrong_type": (
        "name: x\n"
        "scale: '0.1'\n",
        ":2: scale: Input should be a valid number",
    ),
    "bool_is_not_int": (
        "name: x\n"
        "seed: true\n",
        ":2: seed: Input should be a valid integer",
    ),
    "out_of_range": (
        "name: x\n"
        "scale: 20\n",
        ":2: scale: Input should be less than or equal to 10",
    ),
    "zero_scale": (
        "name: x\n"
        "scale: 0\n",
        ":2: scale: Input should be greater than 0",
    ),
    "quarters_range": (
        "name: x\n"
        "quarters: 0\n",
        ":2: quarters: ",
    ),
    "negative_seed": (
        "name: x\n"
        "seed: -1\n",
        ":2: seed: ",
    ),
    "unknown_lever": (
        "name: x\n"
        "levers:\n"
        "  relon: {}\n",
        ":3: levers.relon: unknown lever 'relon'",
    ),
    "bad_lever_setting": (
        "name: x\n"
        "levers:\n"
        "  reloan:\n"
        "    scale: -1\n",
        ":4: levers.reloan.scale: Input should be greater than or equal to 0",
    ),
    "unknown_lever_setting": (
        "name: x\n"
        "levers:\n"
        "  reloan:\n"
        "    speed: 1\n",
        ":4: levers.reloan.speed: unknown setting",
    ),
    "unknown_parameter": (
        "name: x\n"
        "parameters:\n"
        "  credit.max_pdd: 0.1\n",
        ":3: parameters.credit.max_pdd: unknown parameter",
    ),
    "nested_parameter_out_of_range": (
        "name: x\n"
        "parameters:\n"
        "  credit:\n"
        "    max_pd: -1\n",
        ":4: parameters.credit.max_pd: ",
    ),
    "unknown_outcome": (
        "name: x\n"
        "outcomes: [little_giants, happiness]\n",
        ":2: outcomes[1]: unknown outcome 'happiness'",
    ),
    "bad_name": (
        "name: 'my scenario'\n",
        ":1: name: 'my scenario' is not a usable name",
    ),
    "duplicate_key": (
        "name: x\n"
        "scale: 0.1\n"
        "scale: 0.2\n",
        ":3: duplicate key 'scale' (first given on line 2)",
    ),
    "empty": (
        "",
        ": empty scenario file",
    ),
    "comments_only": (
        "# nothing here\n",
        ": empty scenario file",
    ),
    "list": (
        "- 1\n"
        "- 2\n",
        ":1: a scenario must be a mapping",
    ),
    "scalar": (
        "hello\n",
        ":1: a scenario must be a mapping",
    ),
    "syntax": (
        "name: x\n"
        "  bad: [\n",
        ":2: invalid YAML",
    ),
    "two_documents": (
        "name: x\n"
        "---\n"
        "name: y\n",
        "invalid YAML",
    ),
    "python_tag": (
        "name: !!python/object:os.system x\n",
        "invalid YAML",
    ),
    "non_utf8": (
        b'name: caf\xe9\n',
        ":1: not UTF-8 text",
    ),
    "binary": (
        b'\x7fELF\x02\x01\x01\x00\x00\x00',
        ": binary content",
    ),
    "recursive_alias": (
        "a: &a [*a]\n",
        "recursive YAML alias",
    ),
    "unknown_design_key": (
        "name: x\n"
        "design:\n"
        "  typ: grid\n",
        ":3: design.typ: unknown key (allowed here: type,",
    ),
    "bad_design_type": (
        "name: x\n"
        "design:\n"
        "  type: halton\n",
        ":3: design.type: Input should be",
    ),
    "lhs_without_samples": (
        "name: x\n"
        "design:\n"
        "  type: lhs\n"
        "  uncertainties:\n"
        "    credit.max_pd: {low: 0.05, high: 0.1}\n",
        ":3: design.type: a lhs design needs `samples`",
    ),
    "zero_replicates": (
        "name: x\n"
        "design:\n"
        "  replicates: 0\n",
        ":3: design.replicates: ",
    ),
    "policies_differing_only_in_case": (
        "name: x\n"
        "design:\n"
        "  policies:\n"
        "    Base: {}\n"
        "    base: {}\n",
        ":5: design.policies.base: differs from policy 'Base' only in upper and lower case",
    ),
    "no_outcomes_kept": (
        "name: x\n"
        "outcomes: []\n",
        ":2: outcomes: an empty list keeps no outcome",
    ),
    "sobol_not_power_of_two": (
        "name: x\n"
        "design:\n"
        "  type: sobol\n"
        "  samples: 6\n"
        "  uncertainties:\n"
        "    credit.max_pd: {low: 0.05, high: 0.1}\n",
        ":4: design.samples: a sobol design needs a power of two",
    ),
    "samples_on_grid": (
        "name: x\n"
        "design:\n"
        "  type: grid\n"
        "  samples: 4\n",
        ":4: design.samples: `samples` applies",
    ),
    "unknown_uncertainty": (
        "name: x\n"
        "design:\n"
        "  uncertainties:\n"
        "    credit.max_pdd: [0.1]\n",
        ":4: design.uncertainties.credit.max_pdd: unknown parameter",
    ),
    "bounds_on_grid": (
        "name: x\n"
        "design:\n"
        "  uncertainties:\n"
        "    credit.max_pd: {low: 0.05, high: 0.1}\n",
        ":4: design.uncertainties.credit.max_pd: a grid design needs a non-empty list",
    ),
    "list_on_lhs": (
        "name: x\n"
        "design:\n"
        "  type: lhs\n"
        "  samples: 4\n"
        "  uncertainties:\n"
        "    credit.max_pd: [0.1]\n",
        ":6: design.uncertainties.credit.max_pd: a lhs design needs bounds",
    ),
    "low_above_high": (
        "name: x\n"
        "design:\n"
        "  type: lhs\n"
        "  samples: 4\n"
        "  uncertainties:\n"
        "    credit.max_pd: {low: 0.2, high: 0.1}\n",
        ":6: design.uncertainties.credit.max_pd: low (0.2) must be below",
    ),
    "bad_grid_value": (
        "name: x\n"
        "design:\n"
        "  uncertainties:\n"
        "    credit.max_pd: [0.1, -3]\n",
        ":4: design.uncertainties.credit.max_pd: value -3",
    ),
    "zip_lengths": (
        "name: x\n"
        "design:\n"
        "  type: zip\n"
        "  uncertainties:\n"
        "    credit.max_pd: [0.1, 0.2]\n"
        "    venture.round_rate: [0.1]\n",
        ":4: design.uncertainties: a zip design needs lists of equal length",
    ),
    "unused_lever_axis": (
        "name: x\n"
        "design:\n"
        "  uncertainties:\n"
        "    levers.reloan.scale: [0, 1]\n",
        ":4: design.uncertainties.levers.reloan.scale: lever 'reloan' is not used",
    ),
    "unknown_lever_axis_setting": (
        "name: x\n"
        "levers: {reloan: {}}\n"
        "design:\n"
        "  uncertainties:\n"
        "    levers.reloan.speed: [0, 1]\n",
        ":5: design.uncertainties.levers.reloan.speed: lever 'reloan' has no setting",
    ),
    "bad_lever_axis_value": (
        "name: x\n"
        "levers: {reloan: {}}\n"
        "design:\n"
        "  uncertainties:\n"
        "    levers.reloan.scale: [1, -1]\n",
        ":5: design.uncertainties.levers.reloan.scale: value -1",
    ),
    "bad_policy_name": (
        "name: x\n"
        "design:\n"
        "  policies:\n"
        "    'a b': {}\n",
        ":4: design.policies.a b: not a usable policy name",
    ),
    "unknown_policy_key": (
        "name: x\n"
        "design:\n"
        "  policies:\n"
        "    p:\n"
        "      lever: {}\n",
        ":5: design.policies.p.lever: unknown key (allowed here: description, levers, parameters)",
    ),
    "policy_unknown_lever": (
        "name: x\n"
        "design:\n"
        "  policies:\n"
        "    p:\n"
        "      levers:\n"
        "        relon: {}\n",
        ":6: design.policies.p.levers.relon: unknown lever",
    ),
    "policy_bad_parameter": (
        "name: x\n"
        "design:\n"
        "  policies:\n"
        "    p:\n"
        "      parameters:\n"
        "        credit.max_pd: 5\n",
        ":6: design.policies.p.parameters.credit.max_pd: ",
    ),
    "policy_uncertainty_clash": (
        "name: x\n"
        "design:\n"
        "  policies:\n"
        "    p:\n"
        "      parameters: {credit.max_pd: 0.1}\n"
        "  uncertainties:\n"
        "    credit.max_pd: [0.1, 0.2]\n",
        ":7: design.uncertainties.credit.max_pd: also set by policy 'p'",
    ),
    "too_many_runs": (
        "name: x\n"
        "design:\n"
        "  type: lhs\n"
        "  samples: 100000\n"
        "  replicates: 10000\n"
        "  uncertainties:\n"
        "    credit.max_pd: {low: 0.05, high: 0.1}\n",
        ":2: design: plans 1,000,000,000 runs",
    ),
    "bad_import": (
        "name: x\n"
        "imports: [no_such_module_xyz]\n",
        ":2: imports[0]: cannot import 'no_such_module_xyz'",
    ),
    "import_that_exits": (
        "name: x\n"
        "imports: [exits_on_import]\n",
        ":2: imports[0]: cannot import 'exits_on_import': SystemExit: 3",
    ),
    "non_string_key": (
        "name: x\n"
        "levers:\n"
        "  1: {}\n",
        ":3: levers[1]: keys must be text, got 1",
    ),
    # numbers are numbers: lax parsing would read these as 0.2, 1 and 1, and a sweep's tables would
    # then hold a column of mixed types
    "parameter_as_text": (
        "name: x\n"
        "parameters:\n"
        "  credit.max_pd: '0.2'\n",
        ":3: parameters.credit.max_pd: Input should be a valid number, not text",
    ),
    "lever_setting_as_boolean": (
        "name: x\n"
        "levers:\n"
        "  reloan: {duration: yes}\n",
        ":3: levers.reloan.duration: Input should be a valid integer, not a boolean",
    ),
    "axis_mixing_numbers_and_text": (
        "name: x\n"
        "design:\n"
        "  type: grid\n"
        "  uncertainties:\n"
        "    credit.max_pd: [0.1, '0.2']\n",
        ":5: design.uncertainties.credit.max_pd: value '0.2': Input should be a valid number, not text",
    ),
    "integer_beyond_64_bits": (
        "name: x\n"
        "levers:\n"
        "  reloan: {backlog_quarters: 100000000000000000000}\n",
        ":3: levers.reloan.backlog_quarters: Input should be a 64-bit integer, from -9223372036854775808 to "
        "9223372036854775807",
    ),
    "lever_unknown_sector": (
        "name: x\n"
        "levers:\n"
        "  future_industries: {sectors: [nosuch]}\n",
        ":3: levers.future_industries: lever 'future_industries': unknown sectors ['nosuch'] (known: nev_battery",
    ),
    "misspelt_key_beside_required_ones": (
        "name: x\n"
        "levers:\n"
        "  trade_in:\n"
        "    goods:\n"
        "      nev: {prices: 1}\n",
        ":5: levers.trade_in.goods.nev.prices: unknown setting",
    ),
    "trade_in_good_no_sector_makes": (
        "name: x\n"
        "levers:\n"
        "  trade_in:\n"
        "    goods:\n"
        "      drone: {price: 1e4, subsidy_rate: 0.1, subsidy_cap: 1e3, baseline_units: 1e5, elasticity: 1,\n"
        "              old_stock: 1e6, pass_through: 0.5}\n",
        ":3: levers.trade_in: lever 'trade_in': no sector makes the goods ['drone']",
    ),
    "revenue_floor_above_ceiling": (
        "name: x\n"
        "parameters:\n"
        "  population.max_revenue: 5\n",
        ":3: parameters.population.max_revenue: population.min_revenue (10) must not exceed population.max_revenue (5)",
    ),
    "lever_setting_infinite": (
        "name: x\n"
        "levers:\n"
        "  little_giant_grants: {min_investment: .inf}\n",
        ":3: levers.little_giant_grants.min_investment: ",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_one_line_naming_file_line_and_key(tmp_path, case):
    text, expected = BAD_FILES[case]
    write(tmp_path, "exits_on_import.py", "import sys\nsys.exit(3)\n")
    path = write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_numbers_with_an_exponent_are_numbers_as_in_yaml_1_2(tmp_path):
    """PyYAML (YAML 1.1) reads 5e-3 and 3.0e6 as text; scenario files read them as numbers."""
    path = write(tmp_path, "exp.yaml", """
        name: exp
        scale: 5e-3
        parameters:
          credit.max_pd: 1E-1
        levers:
          reloan: {budget: 3.0e6}
    """)
    scenario = load_scenario(path)
    assert scenario.scale == 0.005 and scenario.parameters["credit.max_pd"] == 0.1
    assert scenario.levers["reloan"]["budget"] == 3_000_000.0
    from smegrowth.scenario import yaml_value

    texts = ("1e6", "-2E+3", ".5e1", "1_000", "._e5", "1e")
    assert [yaml_value(t) for t in texts] == [1e6, -2e3, 5.0, 1000, "._e5", "1e"]


def test_a_good_is_accepted_once_a_sector_makes_it(tmp_path):
    path = write(tmp_path, "drone.yaml", """
        name: drone
        parameters:
          sectors.low_altitude.trade_in_goods: [drone]
        levers:
          trade_in:
            goods:
              drone: {price: 1e4, subsidy_rate: 0.1, subsidy_cap: 1e3, baseline_units: 1e5, elasticity: 1,
                      old_stock: 1e6, pass_through: 0.5}
    """)
    assert "drone" in load_scenario(path).levers["trade_in"]["goods"]


def test_a_kind_of_firm_there_is_none_of_needs_no_sector():
    from smegrowth.parameters import ParameterError, Parameters
    from smegrowth.sectors import DEFAULT_SECTORS

    no_unicorn_shares = {f"sectors.{k}.share_unicorns": 0 for k in DEFAULT_SECTORS}
    assert Parameters().override({"population.unicorns": 0, **no_unicorn_shares}).population.unicorns == 0
    with pytest.raises(ParameterError, match="share_unicorns is zero in every sector"):
        Parameters().override(no_unicorn_shares)
    assert Parameters().override({"population.max_revenue": 10.0}).population.max_revenue == 10.0  # = floor


def test_numpy_values_are_numbers():
    from smegrowth.parameters import ParameterError, Parameters

    params = Parameters().override({"credit.bank_shares": np.array([0.42, 0.2, 0.38]),
                                    "credit.max_pd": np.array(0.1), "population.unicorns": np.int64(300)})
    assert params.credit.bank_shares == [0.42, 0.2, 0.38] and params.credit.max_pd == 0.1
    with pytest.raises(ParameterError, match="Input should be a valid number, not a boolean"):
        Parameters().override({"credit.max_pd": np.True_})


def test_a_design_axis_value_that_does_not_fit_is_refused_at_check(tmp_path):
    path = write(tmp_path, "axis.yaml", """
        name: axis
        levers: {future_industries: {}}
        design:
          type: grid
          uncertainties:
            levers.future_industries.sectors: [[low_altitude], [no_such_sector]]
    """)
    with pytest.raises(ScenarioError, match=r":6: design.uncertainties.levers.future_industries.sectors: "
                                            r"value \['no_such_sector'\]: .*unknown sectors"):
        load_scenario(path)


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_a_yes_no_setting_sampled_between_bounds_is_refused_at_check(tmp_path, design):
    """Sampling a yes/no parameter between bounds makes numbers the model refuses in every run;
    check says so and how to vary it instead (a grid of [true, false], which is accepted)."""
    path = write(tmp_path, "yes_no.yaml", f"""
        name: yes_no
        design:
          type: {design}
          samples: 4
          uncertainties:
            sectors.nev_battery.manufacturing: {{low: 0, high: 1}}
    """)
    with pytest.raises(ScenarioError, match=r":6: design.uncertainties.sectors.nev_battery.manufacturing: a yes/no "
                                            rf"setting cannot be sampled between bounds \(a {design} design\); list "
                                            r"\[true, false\] in a grid design"):
        load_scenario(path)
    grid = write(tmp_path, "grid.yaml", """
        name: grid
        design: {type: grid, uncertainties: {sectors.nev_battery.manufacturing: [true, false]}}
    """)
    assert load_scenario(grid).points() == 2


def test_negative_bank_shares_are_refused():
    from smegrowth.parameters import ParameterError, Parameters

    with pytest.raises(ParameterError, match=r"credit.bank_shares: a share cannot be negative, got \[1.0, -0.5, 0.5\]"):
        Parameters().override({"credit.bank_shares": [1.0, -0.5, 0.5]})


def test_the_same_lever_module_imported_under_two_names_is_one_lever(tmp_path, monkeypatch):
    package = tmp_path / "studies"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write(package, "two_names.py", """
        from smegrowth.levers import Lever, register_lever

        @register_lever
        class TwoNames(Lever):
            name = "test_two_names"
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(package))
    try:
        import studies.two_names  # noqa: F401
        import two_names  # noqa: F401 - the same file, another module name
    finally:
        from smegrowth.levers import LEVERS

        LEVERS.pop("test_two_names", None)


def test_alias_bomb_is_refused_quickly(tmp_path):
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "bomb.yaml", "\n".join(levels) + "\n")
    with pytest.raises(ScenarioError, match="alias bomb"):
        load_scenario(path)


def test_oversized_file_is_refused(tmp_path):
    path = write(tmp_path, "big.yaml", "name: x\n" + "# padding\n" * 120_000)
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.yaml: file not found"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(tmp_path)


def test_extends_missing_file_names_the_extending_file_and_line(tmp_path):
    path = write(tmp_path, "child.yaml", "name: c\nextends: gone.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}:2: extends: file not found: {tmp_path / 'gone.yaml'}"


def test_extends_cycle_is_refused(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: c.yaml\n")
    write(tmp_path, "c.yaml", "extends: a.yaml\n")
    cycle = r"extends cycle: .*a\.yaml -> .*b\.yaml -> .*c\.yaml -> .*a\.yaml"
    with pytest.raises(ScenarioError, match=cycle):
        load_scenario(tmp_path / "a.yaml")


def test_error_in_parent_file_names_the_parent_and_its_line(tmp_path):
    write(tmp_path, "base.yaml", "name: b\nscale: 0.01\nparameters:\n  credit.max_pd: -0.5\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nquarters: 2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert str(info.value).startswith(f"{tmp_path / 'base.yaml'}:4: parameters.credit.max_pd:")


def test_child_value_error_points_at_the_child(tmp_path):
    write(tmp_path, "base.yaml", "name: b\nscale: 0.01\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n\nscale: 11\n")
    with pytest.raises(ScenarioError, match=rf"^{child}:3: scale: "):
        load_scenario(child)


# --- seeds and designs ----------------------------------------------------------------------------


def test_replicate_seeds_are_deterministic_prefix_stable_and_distinct():
    a = replicate_seeds(20241014, 5)
    assert a == replicate_seeds(20241014, 5)
    assert replicate_seeds(20241014, 8)[:5] == a
    assert len(set(a)) == 5
    assert replicate_seeds(1, 5) != a
    expected = [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(20241014).spawn(5)]
    assert a == expected
    assert design_seed(20241014) not in a


def sweep_file(tmp_path: Path, design: str) -> Path:
    return write(tmp_path, "sweep.yaml", "name: sw\nscale: 0.01\nquarters: 2\nseed: 3\n"
                 "levers: {reloan: {}}\n" + textwrap.dedent(design))


def test_common_random_numbers_same_replicate_same_seed_everywhere(tmp_path):
    path = sweep_file(tmp_path, """
        design:
          type: lhs
          samples: 3
          replicates: 4
          policies:
            baseline: {levers: {reloan: {scale: 0.0}}}
            reloan: {}
          uncertainties:
            credit.max_pd: {low: 0.05, high: 0.1}
    """)
    plan = plan_runs(load_scenario(path))
    assert len(plan.runs) == 2 * 3 * 4
    seeds = replicate_seeds(3, 4)
    for spec in plan.runs:
        assert spec.seed == seeds[spec.replicate]
        assert spec.run_id == run_id(spec.policy, spec.sample, spec.replicate)
    assert plan.runs[0].run_id == "baseline-s0000-r000"
    assert len({s.run_id for s in plan.runs}) == len(plan.runs)
    assert len({s.config_hash for s in plan.runs}) == len(plan.runs)
    again = plan_runs(load_scenario(path))
    assert [(s.run_id, s.config_hash) for s in again.runs] == [
        (s.run_id, s.config_hash) for s in plan.runs]


def test_grid_is_every_combination_first_axis_slowest(tmp_path):
    path = sweep_file(tmp_path, """
        design:
          type: grid
          uncertainties:
            levers.reloan.scale: [0.0, 1.0, 2.0]
            credit.max_pd: [0.05, 0.1]
    """)
    s = load_scenario(path)
    points = sample_points(s).points
    assert points == [{"levers.reloan.scale": a, "credit.max_pd": b}
                      for a in (0.0, 1.0, 2.0) for b in (0.05, 0.1)]
    plan = plan_runs(s)
    assert [r.levers["reloan"]["scale"] for r in plan.runs] == [
        p["levers.reloan.scale"] for p in points]
    assert [r.parameters["credit.max_pd"] for r in plan.runs] == [
        p["credit.max_pd"] for p in points]
    assert plan.runs[3].columns["lever.reloan.scale"] == 1.0
    assert plan.runs[3].columns["param.credit.max_pd"] == 0.1


def test_zip_pairs_values(tmp_path):
    path = sweep_file(tmp_path, """
        design:
          type: zip
          uncertainties:
            credit.max_pd: [0.05, 0.1]
            venture.round_rate: [0.1, 0.2]
    """)
    assert sample_points(load_scenario(path)).points == [
        {"credit.max_pd": 0.05, "venture.round_rate": 0.1},
        {"credit.max_pd": 0.1, "venture.round_rate": 0.2}]


def test_lhs_stays_in_bounds_stratifies_rounds_integers_and_is_reproducible(tmp_path):
    path = sweep_file(tmp_path, """
        design:
          type: lhs
          samples: 10
          uncertainties:
            credit.max_pd: {low: 0.05, high: 0.1}
            certification.batch_quota: {low: 1000, high: 4000}
    """)
    s = load_scenario(path)
    design = sample_points(s)
    pd_values = np.array([p["credit.max_pd"] for p in design.points])
    assert ((pd_values >= 0.05) & (pd_values <= 0.1)).all()
    strata = np.floor((pd_values - 0.05) / 0.005).astype(int)
    assert sorted(strata) == list(range(10))  # one point per tenth of the range
    assert all(isinstance(p["certification.batch_quota"], int) for p in design.points)
    assert design.problem == {
        "num_vars": 2, "names": ["credit.max_pd", "certification.batch_quota"],
        "bounds": [[0.05, 0.1], [1000.0, 4000.0]]}
    assert sample_points(load_scenario(path)).points == design.points


@pytest.mark.parametrize("second_order, per_base", [(False, 2 + 2), (True, 2 * 2 + 2)])
def test_sobol_has_saltelli_size(tmp_path, second_order, per_base):
    path = sweep_file(tmp_path, f"""
        design:
          type: sobol
          samples: 8
          second_order: {str(second_order).lower()}
          uncertainties:
            credit.max_pd: {{low: 0.05, high: 0.1}}
            venture.round_rate: {{low: 0.05, high: 0.12}}
    """)
    s = load_scenario(path)
    design = sample_points(s)
    assert len(design.points) == 8 * per_base == s.points()
    assert design.problem["calc_second_order"] is second_order


def test_morris_has_one_step_trajectories_and_keeps_its_sample_matrix(tmp_path):
    """A morris design of 3 trajectories over 2 parameters: 3 x (2 + 1) points on a 4-level grid,
    each point one parameter away from the one before within its trajectory, the matrix kept for
    SALib's analysis; reproducible from the root seed."""
    path = sweep_file(tmp_path, """
        design:
          type: morris
          samples: 3
          uncertainties:
            credit.max_pd: {low: 0.05, high: 0.1}
            venture.round_rate: {low: 0.05, high: 0.12}
    """)
    s = load_scenario(path)
    design = sample_points(s)
    assert len(design.points) == 3 * 3 == s.points()
    x = np.array(design.problem["X"])
    assert x.shape == (9, 2) and design.problem["num_levels"] == 4
    levels = np.round((x - [0.05, 0.05]) / ([0.05, 0.07]) * 3, 9)
    assert set(levels.ravel()) <= {0.0, 1.0, 2.0, 3.0}
    for t in range(3):
        steps = np.abs(np.diff(x[3 * t:3 * t + 3], axis=0)) > 0
        assert (steps.sum(axis=1) == 1).all()
    assert [list(p.values()) for p in design.points] == x.tolist()
    assert sample_points(load_scenario(path)).problem["X"] == design.problem["X"]


@pytest.mark.parametrize("design, message", [
    ("type: morris\n  samples: 2\n  uncertainties: {certification.batch_quota: {low: 1000, high: 4000}}",
     ":5: design.uncertainties.certification.batch_quota: a morris design needs continuous parameters"),
    ("type: lhs\n  samples: 2\n  levels: 4\n  uncertainties: {credit.max_pd: {low: 0.05, high: 0.1}}",
     ":5: design.levels: applies to morris designs only"),
    ("type: morris\n  samples: 2\n  levels: 5\n  uncertainties: {credit.max_pd: {low: 0.05, high: 0.1}}",
     ":5: design.levels: must be even \\(got 5\\)"),
])
def test_morris_design_mistakes_are_refused_at_check(tmp_path, design, message):
    path = write(tmp_path, "m.yaml", f"name: m\ndesign:\n  {design}\n")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)

def test_outcomes_filter_keeps_named_outcomes_and_their_totals(tmp_path):
    path = write(tmp_path, "o.yaml", "name: o\nscale: 0.01\nquarters: 2\n"
                 "outcomes: [little_giants, revenue, fiscal_cost_reloan, revenue_ai]\n")
    from smegrowth.runner import execute

    result = execute(plan_runs(load_scenario(path)).runs[0])
    assert set(result.summary) == {"quarters", "little_giants", "revenue", "revenue_total",
                                   "revenue_ai", "revenue_ai_total"}
    assert list(result.timeseries.columns) == ["quarter", "step", "little_giants", "revenue",
                                               "revenue_ai"]


def test_model_is_released_after_a_run(tmp_path):
    """Mesa 3.3 keeps every model alive through Agent._ids (mesa#3179); a run must not."""
    import gc
    import weakref

    from smegrowth import EnterpriseModel
    from smegrowth.runner import release

    model = EnterpriseModel(scale=0.01, rng=1)
    model.run(1)
    ref = weakref.ref(model)
    release(model)
    del model
    gc.collect()
    assert ref() is None
