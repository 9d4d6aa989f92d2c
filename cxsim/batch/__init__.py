"""Scenario batches: experiment files, designs, parallel runs, a results store, sensitivity analysis.

An experiment (a TOML file in ``experiments/``) names one or more scenarios, the
replications, the seed and a design (``factorial``, ``lhs``, ``sobol``, ``morris``
or ``points``). :func:`run_experiment` runs its design points in chunks, on worker
processes, into a results directory that survives interruption
(:mod:`cxsim.batch.store`); :func:`load_results` reads a run back into pandas and
:func:`analyze_run` computes sensitivity indices.

Example::

    from cxsim.batch import load_experiment, run_experiment, load_results
    exp = load_experiment("experiments/governance_factorial.toml")
    run_dir = run_experiment(exp, workers=2)
    res = load_results(run_dir)
    res.replications.groupby("point")["success"].mean()
"""

from __future__ import annotations

from .._lazy import lazy_attributes

# Imported on first use (PEP 562): reading a store (the report) needs neither the experiment
# parser nor, through it, the simulator's compiled kernels.
_LAZY = {"Experiment": "experiment", "load_experiment": "experiment", "Results": "store", "load_results": "store"}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


__all__ = ["Experiment", "Results", "analyze_run", "load_experiment", "load_results", "run_experiment"]


def run_experiment(*args, **kwargs):
    """Run an experiment into a results directory (see :func:`cxsim.batch.runner.run_experiment`)."""
    from .runner import run_experiment as _run

    return _run(*args, **kwargs)


def analyze_run(*args, **kwargs):
    """Sensitivity indices of a run (see :func:`cxsim.batch.analyze.analyze_run`)."""
    from .analyze import analyze_run as _analyze

    return _analyze(*args, **kwargs)
