"""The realism report: how close generated data comes to real Kaggle-schema tables.

``python -m training realism --real DIR`` runs it. Modules, one job each: ``distances`` (KS, total variation,
correlation-matrix differences), ``marginals`` (per application column, and the building-information block's
missingness), ``correlations`` (rank correlations), ``row_counts`` (rows per applicant in the child tables),
``ranking`` (the training pipeline's model comparison), ``report`` (reads, generates, measures), ``plots`` and
``render`` (writes Markdown, JSON and PNG files), ``card_section`` (the shorter section a training run on real
CSVs adds to its data report). ``docs/realism.md`` explains how to run and read it.
"""


# Defaults live here, not in the modules that use them, so that the command line can show them without
# importing the modelling stack (this package's modules are imported only when the report runs).

DEFAULT_TUNING_SECONDS = 10.0
"""LightGBM tuning budget of each model ranking run (the training default is 120 s)."""

DEFAULT_THREADS = 1
"""LightGBM threads of each model ranking run. The report runs three rankings on what is often a shared
machine; one thread avoids LightGBM's collapse when its threads wait for busy cores (on the 2-core machine
under a load of 2 to 3, the whole report took 40 s and 45 s with one thread, 110 s and 298 s with two)."""

REALISM_SECTION_ROWS = 20_000
"""Real application rows the realism section of a training run's data report compares by default (a random
sample of them when there are more). On a Kaggle-scale stand-in the section took 6 to 14 s with this many
rows; with every row it took 47 s on a quiet machine, over a minute under load, and doubled the process's
memory, generating a second Kaggle-scale data set (BENCHMARKS.md)."""
