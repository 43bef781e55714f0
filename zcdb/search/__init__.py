"""Search algorithms on tabular benchmarks, in CPU-seconds, with stored, reproducible runs.

* :data:`ALGORITHMS` (in :mod:`zcdb.search.registry`): name -> algorithm class and preset,
  filled in one place; :func:`make_algorithm` builds one with overrides;
* the interface (:mod:`zcdb.search.base`): ``start`` / ``ask`` / ``tell`` on arrays with a
  leading seed axis; the runner (:func:`simulate`) owns the budget (:class:`Budget`), the
  simulated clock and the seeds, and drives all seeds in lockstep;
* randomness is counter-based (:mod:`zcdb.search.rng`): a seed's trajectory is the same,
  bit for bit, whether it runs alone or among others, in one process or several;
* :func:`run_search` stores every run and trajectory in the store and reuses stored ones;
  :func:`compare_algorithms` summarizes several algorithms (table, CSV, anytime plot);
* :func:`loop` (:mod:`zcdb.search.loops`): one seed's search written as a plain Python loop
  (``sample``/``mutate``/``query``, paying simulated time), stored like the runner's runs and
  compared beside them (``compare_algorithms(..., loops=[NAME])``);
* constraints (``constraints=["latency_edgegpu<5"]``) apply to every algorithm; two or more
  ``objectives`` make a :class:`MultiObjectiveProblem` (random search, ``mo-rea``, ``parego``),
  summarized by :func:`compare_multiobjective` (hypervolume tables, anytime and fronts plots).

Importing this package reads nothing and computes nothing.
"""

from __future__ import annotations

from .bananas import SURROGATES, EnsembleSurrogate, GBDTEnsemble, HistGBEnsemble
from .base import Algorithm, Context
from .loops import BudgetExhausted, SearchLoop, loop
from .mo_report import MultiObjectiveComparison, compare_multiobjective
from .problem import MultiObjectiveProblem, ProxySet, SearchProblem, multiobjective_problem, problem_from_benchmark
from .registry import ALGORITHMS, config_hash, make_algorithm
from .report import Comparison, compare_algorithms
from .runner import Budget, Trajectories, simulate
from .runs import (SearchResult, load_multiobjective_problem, load_problem, load_trajectories, run_search,
                   stored_runs)

__all__ = [
    "ALGORITHMS", "make_algorithm", "config_hash", "Algorithm", "Context", "SearchProblem", "ProxySet",
    "problem_from_benchmark", "load_problem", "Budget", "Trajectories", "simulate", "run_search", "SearchResult",
    "load_trajectories", "stored_runs", "compare_algorithms", "Comparison", "EnsembleSurrogate", "GBDTEnsemble",
    "HistGBEnsemble", "SURROGATES", "MultiObjectiveProblem", "multiobjective_problem", "load_multiobjective_problem",
    "compare_multiobjective", "MultiObjectiveComparison", "loop", "SearchLoop", "BudgetExhausted",
]
