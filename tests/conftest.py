"""Shared fixtures: small, seeded models so the default suite stays fast."""

import pytest
from smegrowth import EnterpriseModel


@pytest.fixture(scope="module")
def small_run():
    """A 12-quarter baseline at scale 0.05 with the accounts checked every quarter."""
    model = EnterpriseModel(scale=0.05, rng=11, check_accounts=True)
    model.run(quarters=12)
    return model
