"""The realism report's measurements: real Kaggle-schema tables against a generated sample of the same size.

:func:`build_report` reads the real tables (or takes them already loaded, as training does), generates the
synthetic ones, cleans both the way training does and runs the comparisons asked for (marginals,
building-block missingness, correlations, rows per applicant, the model ranking). Writing the result is
:mod:`training.realism.render`'s job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from service.applicant.schema import CHILD_TABLES
from training.loader import clean_table, load_tables, table_path
from training.modeling import ModelingConfig
from training.pipeline import build_training_matrix
from training.realism import DEFAULT_THREADS, DEFAULT_TUNING_SECONDS
from training.realism.correlations import (
    CorrelationComparison,
    compare_application_correlations,
    compare_history_correlations,
    compare_table_rows,
    history_feature_names,
    most_target_correlated,
    numeric_application_columns,
)
from training.realism.marginals import (
    BlockMissingness,
    MarginalComparison,
    compare_block_missingness,
    compare_marginals,
)
from training.realism.ranking import ModelRun, rank_models
from training.realism.row_counts import Linkage, RowCountComparison, compare_row_counts, table_links
from training.synthetic import generate

__all__ = ["RealismConfig", "RealismReport", "build_report", "load_real_tables"]


_REAL_TABLES = ("application_train", "application_test", *CHILD_TABLES)


def _quick_modeling() -> ModelingConfig:
    modeling = ModelingConfig(tuning_budget_seconds=DEFAULT_TUNING_SECONDS, n_jobs=DEFAULT_THREADS)
    modeling.selection.n_jobs = DEFAULT_THREADS
    return modeling


@dataclass
class RealismConfig:
    """What the realism report compares, and how."""

    real_dir: Path
    """Directory of the real Kaggle CSVs; must hold application_train.csv."""
    history_dir: Path | None = None
    """Directory of the real child tables when they are not in ``real_dir`` (``None``: ``real_dir``)."""
    applicants: int | None = None
    """Generated application_train rows (``None``: as many as the real rows compared)."""
    seed: int = 0
    """Seed of the generator, and of the subsamples the report draws."""
    real_rows: int | None = None
    """Compare at most this many real application rows, drawn at random (``None``: all of them)."""
    top: int = 20
    """Application columns, and child-table aggregates, chosen for the correlation comparisons."""
    threshold: float = 0.30
    """Columns whose marginal distance exceeds this are flagged."""
    models: bool = True
    """Run the model ranking (the slowest part)."""
    child_correlations: bool = True
    """Compare the correlations that involve child tables: application columns against child-table
    aggregates (which builds the training features on both sides) and each child table's columns row by
    row. Off, both are left out and the report says so."""
    modeling: ModelingConfig = field(default_factory=_quick_modeling)
    """Settings of the pipeline's model comparison (folds, holdout share, tuning budget, seed)."""
    progress: bool = False
    """Write a line per step to the log function."""


@dataclass
class RealismReport:
    """Everything the realism report measured."""

    real_source: str
    """Where the real tables came from."""
    generated_source: str
    """How the generated tables were made."""
    real_rows: dict[str, int]
    """Rows of each real table read (application_train after any subsampling)."""
    generated_rows: dict[str, int]
    """Rows of each generated table."""
    base_rates: dict[str, float]
    """Share of TARGET = 1 in the real and the generated application rows."""
    links: dict[str, Linkage]
    """How each real child table links to the real applicants."""
    marginals: MarginalComparison
    """Distance of every application column."""
    block: BlockMissingness
    """Missingness pattern of the building-information block."""
    application_correlations: CorrelationComparison
    """Rank correlations among the most TARGET-correlated numeric application columns."""
    history_correlations: CorrelationComparison | None
    """Application columns against child-table aggregates; ``None`` when not measurable."""
    history_note: str
    """Why the history correlations are absent, or an empty string."""
    table_correlations: list[CorrelationComparison]
    """Row-level correlations within each child table present on both sides."""
    row_counts: list[RowCountComparison]
    """Rows per applicant (per bureau credit for bureau_balance) in every child table."""
    models: list[ModelRun]
    """The model ranking on the real rows and on the generated rows (empty when switched off)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each step, and ``total``."""


def load_real_tables(real_dir: Path, history_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Read (and clean) application_train, application_test when present, and the child tables present.

    Child tables are read from ``history_dir`` when given, else from ``real_dir``.
    """
    real_dir = Path(real_dir)
    history = Path(history_dir) if history_dir is not None else real_dir
    tables = load_tables(
        real_dir,
        [name for name in ("application_train", "application_test") if table_path(real_dir, name).is_file()]
        or ["application_train"],  # absent: load_tables names the missing file
    )
    present = [name for name in CHILD_TABLES if table_path(history, name).is_file()]
    if present:
        tables.update(load_tables(history, present))
    return tables


def _subsample(application: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    if rows is None or rows >= len(application):
        return application
    return application.sample(n=rows, random_state=seed).sort_index()


def _describe_source(config: RealismConfig, tables: Mapping[str, pd.DataFrame]) -> str:
    children = [t for t in CHILD_TABLES if t in tables]
    history = config.history_dir or config.real_dir
    source = f"application rows from {config.real_dir}"
    if children:
        source += f"; child tables {', '.join(children)} from {history}"
    return source


def _history_correlations(
    real_app: pd.DataFrame,
    real_features: pd.DataFrame,
    gen_app: pd.DataFrame,
    gen_features: pd.DataFrame,
    columns: list[str],
    linked: list[str],
    top: int,
) -> tuple[CorrelationComparison | None, str]:
    if not linked:
        return None, (
            "not measurable: no real child table links to the real applicants (see the row counts), so "
            "the real per-applicant aggregates would describe nobody's whole history"
        )
    target = real_app["TARGET"]
    aggregates = most_target_correlated(real_features, target, history_feature_names(linked), top)
    if not aggregates:
        return None, "not measurable: no child-table aggregate has a defined correlation with TARGET"
    real = pd.concat([real_app[columns], real_features[aggregates]], axis=1)
    generated = pd.concat([gen_app[columns], gen_features[aggregates]], axis=1)
    return compare_history_correlations(real, generated, columns, aggregates), ""


CHILD_CORRELATIONS_OFF = "not measured in this run (the full report, `python -m training realism`, has them)"
"""The history note of a report run without the child-table correlations."""


def build_report(
    config: RealismConfig,
    *,
    log: Callable[[str], None] = print,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> RealismReport:
    """Measure how the generated data compares with the real tables of ``config.real_dir``.

    Args:
        config: what to compare, and how.
        log: where progress lines go (with ``config.progress``).
        tables: the real tables already loaded and cleaned as :func:`load_real_tables` does (training's
            :func:`~training.loader.load_tables`): application_train, optionally application_test and child
            tables. ``None`` reads them from ``config.real_dir`` (and ``config.history_dir``). The mapping
            is not changed.
    """
    timings: dict[str, float] = {}
    started_all = time.perf_counter()
    started = started_all

    def step(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 2)
        if config.progress:
            log(f"[realism] {name}: {timings[name]:.1f} s")
        started = time.perf_counter()

    real = (
        load_real_tables(config.real_dir, config.history_dir)
        if tables is None
        else {name: table for name, table in tables.items() if name in _REAL_TABLES}
    )
    links = table_links(real)  # on every real applicant, before any subsampling
    real["application_train"] = _subsample(real["application_train"], config.real_rows, config.seed)
    real.pop("application_test", None)
    linked = [t for t in CHILD_TABLES if t in links and links[t].linked]
    step("read real tables" if tables is None else "real tables")

    n_generated = config.applicants or len(real["application_train"])
    dataset = generate(n_generated, seed=config.seed)
    generated = {name: clean_table(name, table) for name, table in dataset.tables.items()}
    truth = dataset.true_probability.set_index("SK_ID_CURR")["TRUE_PROBABILITY"]
    step("generate")

    real_app = real["application_train"].set_index("SK_ID_CURR", drop=False)
    gen_app = generated["application_train"].set_index("SK_ID_CURR", drop=False)
    marginals = compare_marginals(real_app, gen_app, threshold=config.threshold)
    block = compare_block_missingness(real_app, gen_app)
    step("marginals")

    if config.models or config.child_correlations:
        real_features, real_target = build_training_matrix(
            {"application_train": real["application_train"]} | {t: real[t] for t in linked}
        )
        gen_features, gen_target = build_training_matrix(generated)
        step("features")

    columns = most_target_correlated(real_app, real_app["TARGET"], numeric_application_columns(), config.top)
    application_correlations = compare_application_correlations(real_app, gen_app, columns)
    history_correlations, history_note, table_correlations = None, CHILD_CORRELATIONS_OFF, []
    if config.child_correlations:
        history_correlations, history_note = _history_correlations(
            real_app, real_features, gen_app, gen_features, columns, linked, config.top
        )
        table_correlations = [
            comparison
            for table in CHILD_TABLES
            if table in real
            and (comparison := compare_table_rows(table, real[table], generated[table], seed=config.seed))
        ]
    step("correlations")

    row_counts = compare_row_counts(real, generated, links)
    step("row counts")

    models = []
    if config.models:
        models.append(
            rank_models(
                real_features,
                real_target,
                label="real",
                tables=["application_train", *linked],
                modeling=config.modeling,
            )
        )
        step("models on real rows")
        if len(linked) < len(CHILD_TABLES):
            like_for_like, like_target = build_training_matrix(
                {"application_train": generated["application_train"]} | {t: generated[t] for t in linked}
            )
            models.append(
                rank_models(
                    like_for_like,
                    like_target,
                    label="generated, same tables as real",
                    tables=["application_train", *linked],
                    modeling=config.modeling,
                    true_probability=truth.reindex(like_for_like.index),
                )
            )
            step("models on generated rows, same tables as real")
        models.append(
            rank_models(
                gen_features,
                gen_target,
                label="generated, all tables",
                tables=["application_train", *CHILD_TABLES],
                modeling=config.modeling,
                true_probability=truth.reindex(gen_features.index),
            )
        )
        step("models on generated rows, all tables")
    timings["total"] = round(time.perf_counter() - started_all, 2)

    return RealismReport(
        real_source=_describe_source(config, real),
        generated_source=f"training.synthetic.generate({n_generated}, seed={config.seed}), "
        "cleaned like the real tables",
        real_rows={name: len(table) for name, table in real.items()},
        generated_rows={name: len(table) for name, table in generated.items()},
        base_rates={
            "real": float(real_app["TARGET"].mean()),
            "generated": float(gen_app["TARGET"].mean()),
        },
        links=links,
        marginals=marginals,
        block=block,
        application_correlations=application_correlations,
        history_correlations=history_correlations,
        history_note=history_note,
        table_correlations=table_correlations,
        row_counts=row_counts,
        models=models,
        timings=timings,
    )
