"""cxsim: an agent-based simulator of customer-experience management adoption.

The public API, for notebooks and scripts::

    import cxsim
    sc = cxsim.load_scenario("reference", overrides={"committee.enabled": True})
    res = cxsim.simulate(sc, replications=1000, seed=1)
    res.replications["success"].mean()
    model = cxsim.CXModel(sc, seed=1)   # one replication, step by step
    run = cxsim.load_results("results/governance_factorial/main")  # a batch run's tables
    d = cxsim.discover("results/discovery/main")  # what it takes: PRIM boxes, robust choices
"""

# ruff: noqa: E402  (the cache check runs before the modules with compiled kernels are imported)
from . import _jitcache

_jitcache.refresh()

from ._lazy import lazy_attributes
from .errors import CXSimError, ExperimentError, ResultsError, ScenarioError
from .scenario import Scenario, load_scenario
from .simulate import SimulationResult, simulate  # (eager: importing the module cxsim.simulate would shadow a lazy one)

__version__ = "0.1.0"

# The rest of the API is imported on first use: the results store (pandas, pyarrow),
# discovery (scikit-learn) and the Mesa faces each take from a few tenths of a second
# to two seconds to import, which every command line, batch worker and report would
# otherwise pay without using them all.
_LAZY = {"CXModel": "model", "Decision": "model", "Department": "agents", "Executive": "agents",
         "load_results": "batch.store",
         "discover": "discovery"}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = [
    "CXModel",
    "CXSimError",
    "Decision",
    "Department",
    "Executive",
    "ExperimentError",
    "ResultsError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "discover",
    "load_results",
    "load_scenario",
    "simulate",
    "__version__",
]
