"""Command line of the training side: ``python -m training COMMAND``.

Commands: ``run``, ``train``, ``generate``, ``scenarios``, ``realism``, ``traffic``, ``export-load-data``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from service.bundle import BUNDLE_MODEL_NAME, CostWeights, is_registered, load_registered, registered_path

if TYPE_CHECKING:
    from training.pipeline import TrainingConfig

DESCRIPTION = """\
Train and register the credit-default scorer.

  run        the main job: train on the embedded synthetic default unless a model is already registered,
             then say where the model and its model card are
  train      always train (synthetic data by default, or --data DIR of Kaggle CSVs) and register
  generate   write synthetic Kaggle-schema CSVs (optionally a drift scenario) to a directory
  scenarios  list the named drift scenarios
  realism    compare generated data with real Kaggle-schema tables (marginals, correlations, rows per
             applicant, model ranking) and write the report as Markdown, JSON and plots
  traffic    send demo traffic to a running service: generated applicants, then a drift scenario
  export-load-data
             write a registered model's reference rows and example applicants as load-test input files
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option says what it does and its default."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from training.age_rule import AGE_RULES, DEFAULT_AGE_RULE
    from training.realism import REALISM_SECTION_ROWS
    from training.synthetic import DEFAULT_APPLICANTS

    def add_training_options(sub: argparse.ArgumentParser) -> None:
        data = sub.add_argument_group("data")
        data.add_argument(
            "--data",
            type=Path,
            metavar="DIR",
            help="directory holding the Kaggle CSVs (application_train.csv, bureau.csv, ...); "
            "default: generate synthetic data in memory",
        )
        data.add_argument(
            "--applicants",
            type=_positive_int,
            default=DEFAULT_APPLICANTS,
            help="labelled applicants to generate when --data is not given (default: %(default)s; "
            "Kaggle scale is 307511)",
        )
        data.add_argument("--seed", type=int, default=0, help="seed of the synthetic generator (default: 0)")
        model = sub.add_argument_group("modelling")
        model.add_argument(
            "--folds", type=_positive_int, default=5, help="cross-validation folds (default: 5)"
        )
        model.add_argument(
            "--holdout-share",
            type=float,
            default=0.2,
            help="share of labelled applicants kept untouched for final metrics (default: 0.2)",
        )
        model.add_argument(
            "--tuning-seconds",
            type=float,
            default=None,
            help="time budget of the LightGBM hyper-parameter search (default: the modelling default)",
        )
        model.add_argument(
            "--max-features",
            type=_positive_int,
            default=40,
            help="most features kept by selection (default: 40)",
        )
        model.add_argument(
            "--random-state", type=int, default=0, help="seed of splits and models (default: 0)"
        )
        model.add_argument(
            "--protected",
            type=_column_list,
            default=(),
            metavar="COLUMNS",
            help="application columns no feature may read, comma-separated, besides CODE_GENDER which always "
            "is (e.g. NAME_FAMILY_STATUS,CNT_CHILDREN,CNT_FAM_MEMBERS)",
        )
        model.add_argument(
            "--age-rule",
            choices=AGE_RULES,
            default=DEFAULT_AGE_RULE,
            help="how the model may use the applicant's age (DAYS_BIRTH): free; monotone, risk never rises "
            "with age (features mixing age with other columns left out); excluded, DAYS_BIRTH protected "
            "(default: %(default)s)",
        )
        cost = sub.add_argument_group("business cost (per applicant; the threshold minimises their sum)")
        defaults = CostWeights()
        cost.add_argument(
            "--cost-fn",
            type=float,
            default=defaults.false_negative,
            help="cost of accepting an applicant who defaults (default: %(default)s)",
        )
        cost.add_argument(
            "--cost-fp",
            type=float,
            default=defaults.false_positive,
            help="cost of refusing an applicant who would have repaid (default: %(default)s)",
        )
        cost.add_argument(
            "--cost-tp",
            type=float,
            default=defaults.true_positive,
            help="cost of correctly refusing a defaulter (default: %(default)s)",
        )
        cost.add_argument(
            "--cost-tn",
            type=float,
            default=defaults.true_negative,
            help="cost of correctly accepting a good client (default: %(default)s)",
        )
        out = sub.add_argument_group("output")
        out.add_argument(
            "--artifacts",
            type=Path,
            default=Path("artifacts"),
            help="folder of the run folders (bundle copy, model card, runs table) (default: artifacts)",
        )
        out.add_argument(
            "--no-register", action="store_true", help="do not store the bundle in the BentoML model store"
        )
        out.add_argument(
            "--no-realism-in-report",
            action="store_true",
            help="with --data of real CSVs, leave out the data report's section on how far the embedded "
            "generator is from them (default: included; never for synthetic data)",
        )
        out.add_argument(
            "--realism-rows",
            type=_positive_int,
            default=REALISM_SECTION_ROWS,
            help="most real application rows that section compares, drawn at random (default: %(default)s)",
        )
        out.add_argument("--quiet", action="store_true", help="no progress bars")

    run = commands.add_parser(
        "run",
        help="main job: train on the synthetic default if no model is registered",
        description="Train on the embedded synthetic default (or --data) unless a credit_scorer model is "
        "already registered in the BentoML model store (see --retrain), then print where it is.",
    )
    add_training_options(run)
    run.add_argument("--retrain", action="store_true", help="train even if a model is already registered")

    train = commands.add_parser("train", help="train, evaluate and register a model")
    add_training_options(train)

    gen = commands.add_parser("generate", help="write synthetic Kaggle-schema CSVs")
    gen.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory (created)")
    gen.add_argument(
        "--applicants",
        type=_positive_int,
        default=DEFAULT_APPLICANTS,
        help="labelled applicants (application_train rows) (default: %(default)s)",
    )
    gen.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files (default: 0)")
    gen.add_argument(
        "--scenario",
        type=_scenario_name,
        default=None,
        help="named drift scenario (see `python -m training scenarios`); default none",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bars")

    commands.add_parser("scenarios", help="list the named drift scenarios")
    _add_realism_parser(commands)
    _add_traffic_parser(commands)
    _add_export_parser(commands)
    return parser


def _add_realism_parser(commands: argparse._SubParsersAction) -> None:
    from training.realism import DEFAULT_THREADS, DEFAULT_TUNING_SECONDS

    realism = commands.add_parser(
        "realism",
        help="compare generated data with real Kaggle-schema tables and write the realism report",
        description="Generate as many applicants as the real application rows (or --applicants) and compare "
        "them with the real tables: the distance of every application column (KS or total variation, "
        "missing values folded in), the building-information block's missingness, rank correlations among "
        "application columns and against child-table aggregates, rows per applicant in every child table, "
        "and the training pipeline's model ranking on both. Writes realism.md, realism.json and PNG plots to "
        "--out. Real child tables whose rows do not belong to the real applicants are compared row by row "
        "only (see docs/realism.md).",
    )
    realism.add_argument(
        "--real",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory of the real Kaggle CSVs: application_train.csv (required), application_test.csv and "
        "the child tables (optional)",
    )
    realism.add_argument(
        "--real-history",
        type=Path,
        default=None,
        metavar="DIR",
        help="read the real child tables from this directory instead of --real (default: --real)",
    )
    realism.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory (created) (default: artifacts/realism/<UTC time>)",
    )
    realism.add_argument(
        "--applicants",
        type=_positive_int,
        default=None,
        help="generated application_train rows (default: as many as the real rows compared)",
    )
    realism.add_argument(
        "--seed", type=int, default=0, help="seed of the generator and of the report's samples (default: 0)"
    )
    realism.add_argument(
        "--real-rows",
        type=_positive_int,
        default=None,
        help="compare at most this many real application rows, drawn at random (default: all)",
    )
    realism.add_argument(
        "--top",
        type=_positive_int,
        default=20,
        help="application columns, and child-table aggregates, in the correlation comparisons "
        "(default: %(default)s)",
    )
    realism.add_argument(
        "--flag-above",
        type=float,
        default=0.30,
        help="flag application columns whose marginal distance exceeds this (default: %(default)s)",
    )
    realism.add_argument(
        "--tuning-seconds",
        type=_positive_float,
        default=DEFAULT_TUNING_SECONDS,
        help="LightGBM tuning budget of each model ranking run (default: %(default)s)",
    )
    realism.add_argument(
        "--tuning-trials",
        type=_positive_int,
        default=None,
        help="most LightGBM configurations tried in each ranking run (default: the training pipeline's); "
        "with a "
        "--tuning-seconds budget long enough for all of them, the ranking no longer depends on the machine's "
        "speed",
    )
    realism.add_argument(
        "--folds", type=_positive_int, default=5, help="cross-validation folds of the ranking (default: 5)"
    )
    realism.add_argument(
        "--random-state", type=int, default=0, help="seed of the ranking's splits and models (default: 0)"
    )
    realism.add_argument(
        "--threads",
        type=_positive_int,
        default=DEFAULT_THREADS,
        help="LightGBM threads of the ranking (default: %(default)s, which keeps the report fast on a "
        "machine whose cores are busy with other work)",
    )
    realism.add_argument("--no-models", action="store_true", help="skip the model ranking (the slowest part)")
    realism.add_argument("--quiet", action="store_true", help="no step timings on stdout")


def _add_export_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export-load-data",
        help="write a registered model's reference rows and example applicants for the load-test gate",
        description="Read a bundle from the BentoML model store (BENTOML_HOME) and write what the load tests "
        "send: feature vectors (reference rows) and applicant documents (example applicants), in the files "
        "python -m loadtests.gate reads with --applicants and --applicant-documents. Exit status 1 when the "
        "model is not registered or lacks what an output asks for (nothing is written for that output).",
    )
    export.add_argument(
        "--model-tag",
        default=f"{BUNDLE_MODEL_NAME}:latest",
        help="registered bundle to read (default: %(default)s)",
    )
    export.add_argument(
        "--rows",
        type=_positive_int,
        default=2000,
        help="most reference rows, and most example applicants, written (default: %(default)s)",
    )
    export.add_argument(
        "--reference-out", type=Path, metavar="FILE", help="write reference rows as feature vectors here"
    )
    export.add_argument(
        "--documents-out", type=Path, metavar="FILE", help="write example applicant documents here"
    )
    export.add_argument(
        "--seed", type=int, default=0, help="seed of the reference rows' sampling (default: %(default)s)"
    )


def _add_traffic_parser(commands: argparse._SubParsersAction) -> None:
    from training.traffic import DEFAULT_BATCH_SIZE, DEFAULT_EXPLAIN_EVERY, DEFAULT_RATE, FORMS
    from training.traffic_outcomes import DEFAULT_OUTCOMES_BATCH, DEFAULT_OUTCOMES_SHARE, DEFAULT_OUTCOMES_URL

    traffic = commands.add_parser(
        "traffic",
        help="send demo traffic to a running service (baseline applicants, then a drift scenario)",
        description="Generate applicants with the synthetic generator and POST them in batches to "
        "URL/score at a bounded rate, each as an applicant document (its application and credit history, "
        "Kaggle's columns): first applicants like the training data, then (with --scenario) applicants of "
        "a drift scenario. --form features sends the model's feature vectors instead (names from URL/spec).",
    )
    traffic.add_argument(
        "--form",
        choices=FORMS,
        default="applicant",
        help="what each applicant is sent as: its applicant document, or the model's feature vector "
        "(default: %(default)s)",
    )
    traffic.add_argument(
        "--url", required=True, help="base URL of the scoring service, e.g. http://127.0.0.1:3000"
    )
    traffic.add_argument(
        "--scenario",
        type=_scenario_name,
        default=None,
        help="drift scenario sent after the baseline (see `python -m training scenarios`); default none",
    )
    traffic.add_argument(
        "--applicants",
        type=_positive_int,
        default=None,
        help="applicants of the drift-scenario phase (default: 12,000, twice the baseline's, so that "
        "drifted applicants are two thirds of the hour the stability index reads)",
    )
    traffic.add_argument(
        "--baseline-applicants",
        type=_non_negative_int,
        default=6_000,
        help="applicants of the baseline phase, 0 to skip it; the sidecar window holds 5,000 "
        "(default: %(default)s)",
    )
    traffic.add_argument(
        "--rate",
        type=_positive_float,
        default=DEFAULT_RATE,
        help="most applicants sent per second (default: %(default)s)",
    )
    traffic.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        help="applicants per POST /score request (default: %(default)s; the service accepts up to 1000)",
    )
    traffic.add_argument(
        "--explain-every",
        type=_non_negative_int,
        default=DEFAULT_EXPLAIN_EVERY,
        help="every N-th request asks for the 3 strongest reasons, 0 never (default: %(default)s)",
    )
    traffic.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the generator; training uses 0, so the default sends unseen applicants (default: 1)",
    )
    traffic.add_argument(
        "--outcomes-after",
        type=_non_negative_float,
        default=None,
        metavar="SECONDS",
        help="send the outcomes the generator drew for accepted applicants (defaulted or not) this many "
        "seconds after each phase, a simulated delay; refused applicants never get one (default: none sent)",
    )
    traffic.add_argument(
        "--outcomes-url",
        default=DEFAULT_OUTCOMES_URL,
        help="base URL serving POST /outcomes: the drift sidecar (or the performance job) "
        "(default: %(default)s)",
    )
    traffic.add_argument(
        "--outcomes-share",
        type=_share,
        default=DEFAULT_OUTCOMES_SHARE,
        help="share of accepted applicants whose loan has matured and gets an outcome; the others stay "
        "awaiting, so the label-free estimate shows beside the realized figures (default: %(default)s)",
    )
    traffic.add_argument(
        "--outcomes-batch-size",
        type=_positive_int,
        default=DEFAULT_OUTCOMES_BATCH,
        help="outcomes per POST /outcomes request (default: %(default)s)",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m training`` and the ``credit-scoring-train`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("run", "train"):
        from training.age_rule import check_age_rule

        try:
            check_age_rule(args.age_rule, args.protected)
        except ValueError as error:
            parser.error(f"argument --age-rule: {error}")
    if args.command == "scenarios":
        from training.synthetic import SCENARIOS

        for name, scenario in SCENARIOS.items():
            print(f"{name:24s} {scenario.description}")
        return 0
    if args.command == "generate":
        return _generate(args)
    if args.command == "traffic":
        return _traffic(args)
    if args.command == "realism":
        return _realism(args)
    if args.command == "export-load-data":
        return _export_load_data(args)
    if args.command == "run" and not args.retrain and is_registered():
        _print_existing()
        return 0
    return _train(args)


def _generate(args: argparse.Namespace) -> int:
    from training.synthetic import generate, write_dataset

    dataset = generate(args.applicants, seed=args.seed, scenario=args.scenario, progress=not args.quiet)
    out = write_dataset(dataset, args.out)
    print(f"wrote {len(dataset.tables)} Kaggle-schema tables and true_probability.csv to {out}")
    return 0


def _realism(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from training.loader import SchemaError
    from training.modeling import ModelingConfig
    from training.realism.render import write_report
    from training.realism.report import RealismConfig, build_report

    modeling = ModelingConfig(
        n_folds=args.folds,
        random_state=args.random_state,
        tuning_budget_seconds=args.tuning_seconds,
        n_jobs=args.threads,
    )
    if args.tuning_trials is not None:
        modeling.tuning_max_trials = args.tuning_trials
    modeling.selection.n_jobs = args.threads
    config = RealismConfig(
        real_dir=args.real,
        history_dir=args.real_history,
        applicants=args.applicants,
        seed=args.seed,
        real_rows=args.real_rows,
        top=args.top,
        threshold=args.flag_above,
        models=not args.no_models,
        modeling=modeling,
        progress=not args.quiet,
    )
    out = args.out or Path("artifacts") / "realism" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        report = build_report(config)
    except (FileNotFoundError, SchemaError) as exc:
        print(exc, file=sys.stderr)
        return 1
    written = write_report(report, out)
    marginals = report.marginals
    print(
        f"marginals: median {marginals.median:.3f}, max {marginals.maximum:.3f} "
        f"({marginals.columns[0].column}), {len(marginals.flagged)} column(s) above {marginals.threshold:.2f}"
    )
    gap = report.application_correlations.gap
    print(
        f"application correlations: median |diff| {gap.median_abs_difference:.3f}, "
        f"max {gap.max_abs_difference:.3f}"
    )
    for run in report.models:
        print(
            f"models, {run.label}: LightGBM {run.holdout_auc['lightgbm']:.4f}, logistic regression "
            f"{run.holdout_auc['logistic_regression']:.4f}, gap {run.gap:+.4f}"
        )
    print(f"report {written['realism.md']} ({report.timings['total']:.0f} s)")
    return 0


def _traffic(args: argparse.Namespace) -> int:
    from training.traffic import TrafficPlan, run
    from training.traffic_outcomes import OutcomesPlan

    if args.outcomes_after is not None and args.form != "applicant":
        print("--outcomes-after needs --form applicant: the outcomes come with the generated applicant "
              "documents", file=sys.stderr)  # fmt: skip
        return 2
    if args.applicants is not None and args.scenario is None:
        print("--applicants sizes the drift-scenario phase: give --scenario, or size the baseline with "
              "--baseline-applicants", file=sys.stderr)  # fmt: skip
        return 2
    plan = TrafficPlan(
        url=args.url,
        applicants=TrafficPlan.applicants if args.applicants is None else args.applicants,
        baseline_applicants=args.baseline_applicants,
        scenario=args.scenario,
        rate=args.rate,
        batch_size=args.batch_size,
        explain_every=args.explain_every,
        seed=args.seed,
        form=args.form,
        outcomes=None
        if args.outcomes_after is None
        else OutcomesPlan(
            after_seconds=args.outcomes_after,
            url=args.outcomes_url,
            share=args.outcomes_share,
            batch_size=args.outcomes_batch_size,
        ),
    )
    if not plan.phases():
        print("nothing to send: --baseline-applicants 0 and no --scenario", file=sys.stderr)
        return 2
    try:
        reports = run(plan)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    outcomes_failed = any(report.outcomes is not None and report.outcomes.failed for report in reports)
    return 0 if all(report.scored for report in reports) and not outcomes_failed else 1


def _export_load_data(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from loadtests.applicants import documents_to_items, rows_to_applicants, write_applicants, write_documents
    from service.bundle import BundleError

    if args.reference_out is None and args.documents_out is None:
        print("nothing to export: pass --reference-out FILE and/or --documents-out FILE", file=sys.stderr)
        return 2
    tag = args.model_tag
    try:
        bundle = load_registered(
            tag, with_reference=args.reference_out is not None, with_applicants=args.documents_out is not None
        )
    except BundleError as exc:
        print(f"cannot read {tag}: {exc}", file=sys.stderr)
        return 1
    missing = []
    if args.reference_out is not None:
        if bundle.reference is None or bundle.reference.empty:
            missing.append(f"bundle {tag} has no reference sample to load-test with")
        else:
            features = [asdict(spec) for spec in bundle.features]
            rows = rows_to_applicants(bundle.reference, features, args.rows, args.seed)
            write_applicants(args.reference_out, rows)
            print(f"wrote {len(rows)} reference rows of {tag} to {args.reference_out}")
    if args.documents_out is not None:
        if not bundle.example_applicants:
            missing.append(f"bundle {tag} has no example applicants")
        else:
            items = documents_to_items(bundle.example_applicants[: args.rows], "example")
            about = f"example applicants of {tag} (holdout applicants of its training)"
            write_documents(args.documents_out, items, about)
            print(f"wrote {len(items)} example applicants of {tag} to {args.documents_out}")
    for problem in missing:
        print(problem, file=sys.stderr)
    return 1 if missing else 0


def training_config(args: argparse.Namespace) -> TrainingConfig:
    """The training run that the parsed options of ``run`` or ``train`` ask for."""
    from training.modeling import ModelingConfig
    from training.pipeline import TrainingConfig

    modeling = ModelingConfig(
        n_folds=args.folds,
        holdout_share=args.holdout_share,
        random_state=args.random_state,
        cost=CostWeights(args.cost_fn, args.cost_fp, args.cost_tp, args.cost_tn),
    )
    modeling.selection.max_features = args.max_features
    modeling.selection.protected_attributes = args.protected
    modeling.selection.age_rule = args.age_rule
    if args.tuning_seconds is not None:
        modeling.tuning_budget_seconds = args.tuning_seconds
    return TrainingConfig(
        data_dir=args.data,
        applicants=args.applicants,
        seed=args.seed,
        artifacts_dir=args.artifacts,
        register=not args.no_register,
        modeling=modeling,
        progress=not args.quiet,
        realism_in_report=not args.no_realism_in_report,
        realism_rows=args.realism_rows,
    )


def _train(args: argparse.Namespace) -> int:
    from training.pipeline import train

    result = train(training_config(args))
    metrics = result.bundle.metrics
    print()
    print(f"model      {result.tag or '(not registered)'}")
    print(f"run folder {result.run_dir}")
    print(f"model card {result.run_dir / 'bundle' / 'model_card.md'}")
    if result.tag:
        print(f"bundle     {registered_path(result.tag)}")
    print(
        f"holdout AUC {metrics.get('holdout_auc', float('nan')):.4f}, "
        f"threshold {result.bundle.threshold:.3f}, "
        f"cost per 1,000 applicants {metrics.get('cost_at_threshold', float('nan')):.1f}"
    )
    return 0


def _print_existing() -> None:
    bundle = load_registered(with_reference=False)
    path = registered_path()
    print(f"a {BUNDLE_MODEL_NAME} model is already registered (use --retrain to train a new one)")
    print(f"bundle     {path}")
    print(f"model card {path / 'model_card.md'}")
    print(
        f"holdout AUC {bundle.metrics.get('holdout_auc', float('nan')):.4f}, "
        f"threshold {bundle.threshold:.3f}, "
        f"created {bundle.created_at}"
    )


def _scenario_name(text: str) -> str:
    """A drift scenario's name, checked by :func:`training.synthetic.get_scenario` (an argparse type)."""
    from training.synthetic import get_scenario

    try:
        get_scenario(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _column_list(text: str) -> tuple[str, ...]:
    from service.applicant.protected import protected_list

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    try:
        protected_list(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return names


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or a positive number of seconds, got {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a share above 0 and at most 1, got {text}")
    return value
