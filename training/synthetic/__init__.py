"""Synthetic Home Credit data: the project's embedded default data set.

``generate(n_applicants, seed=..., scenario=...)`` draws all eight Kaggle tables with Kaggle's column names,
order, kinds and quirks (the 365243 sentinel, ``XNA``), marginals modelled on the real samples, keys that
link (bureau -> applicant, bureau_balance -> bureau, POS / instalments / card rows -> previous application ->
applicant), and row ratios per applicant close to Kaggle's. ``TARGET`` is drawn from a documented
probability that depends on observable data only (see :mod:`training.synthetic.target`), which is returned
separately as ``true_probability`` for evaluation. ``write_dataset`` writes the CSV files.

Modules: ``application`` (applicants), ``bureau`` (bureau, bureau_balance), ``previous``
(previous_application), ``balances`` (POS_CASH_balance, installments_payments, credit_card_balance),
``target`` (the probability), ``scenarios`` (drift), ``generator`` (``generate``), ``writer`` (CSV output).
"""

from training.synthetic.generator import (
    DEFAULT_APPLICANTS,
    KAGGLE_APPLICANTS,
    TEST_SHARE,
    SyntheticDataset,
    generate,
    test_rows,
)
from training.synthetic.scenarios import SCENARIOS, Scenario, get_scenario
from training.synthetic.target import default_probability, history_aggregates, logit_terms
from training.synthetic.writer import METADATA_FILE, TRUE_PROBABILITY_FILE, write_dataset

__all__ = [
    "DEFAULT_APPLICANTS",
    "KAGGLE_APPLICANTS",
    "METADATA_FILE",
    "SCENARIOS",
    "TEST_SHARE",
    "TRUE_PROBABILITY_FILE",
    "Scenario",
    "SyntheticDataset",
    "default_probability",
    "generate",
    "get_scenario",
    "history_aggregates",
    "logit_terms",
    "test_rows",
    "write_dataset",
]
