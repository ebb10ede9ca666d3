"""smegrowth: an agent-based model of China's innovative SMEs, little giants and unicorns, and of the
policy levers that change how they grow, borrow, innovate, list and fail."""

from .api import run_scenario, sweep
from .firm_state import Kind, Status
from .firms import SME, Firm, LittleGiant, Unicorn
from .levers import LEVERS, Lever, LeverSettings, make_lever, register_lever
from .model import EnterpriseModel
from .parameters import Parameters
from .scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

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
