"""Command line of the training side: ``python -m training {run,train,generate,scenarios}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.bundle import BUNDLE_MODEL_NAME, CostWeights, is_registered, load_registered, registered_path

DESCRIPTION = """\
Train and register the credit-default scorer.

  run        the main job: train on the embedded synthetic default unless a model is already registered,
             then say where the model and its model card are
  train      always train (synthetic data by default, or --data DIR of Kaggle CSVs) and register
  generate   write synthetic Kaggle-schema CSVs (optionally a drift scenario) to a directory
  scenarios  list the named drift scenarios
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option says what it does and its default."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
        default=None,
        help="named drift scenario (see `python -m training scenarios`); default none",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bars")

    commands.add_parser("scenarios", help="list the named drift scenarios")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m training`` and the ``credit-scoring-train`` script."""
    args = build_parser().parse_args(argv)
    if args.command == "scenarios":
        from training.synthetic import SCENARIOS

        for name, scenario in SCENARIOS.items():
            print(f"{name:24s} {scenario.description}")
        return 0
    if args.command == "generate":
        return _generate(args)
    if args.command == "run" and not args.retrain and is_registered():
        _print_existing()
        return 0
    return _train(args)


def _generate(args: argparse.Namespace) -> int:
    from training.synthetic import SCENARIOS, generate, write_dataset

    if args.scenario is not None and args.scenario not in SCENARIOS:
        print(f"unknown scenario {args.scenario!r}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    dataset = generate(args.applicants, seed=args.seed, scenario=args.scenario, progress=not args.quiet)
    out = write_dataset(dataset, args.out)
    print(f"wrote {len(dataset.tables)} Kaggle-schema tables and true_probability.csv to {out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from training.modeling import ModelingConfig
    from training.pipeline import TrainingConfig, train

    modeling = ModelingConfig(
        n_folds=args.folds,
        holdout_share=args.holdout_share,
        random_state=args.random_state,
        cost=CostWeights(args.cost_fn, args.cost_fp, args.cost_tp, args.cost_tn),
    )
    modeling.selection.max_features = args.max_features
    if args.tuning_seconds is not None:
        modeling.tuning_budget_seconds = args.tuning_seconds
    config = TrainingConfig(
        data_dir=args.data,
        applicants=args.applicants,
        seed=args.seed,
        artifacts_dir=args.artifacts,
        register=not args.no_register,
        modeling=modeling,
        progress=not args.quiet,
    )
    result = train(config)
    metrics = result.bundle.metrics
    print()
    print(f"model      {result.tag or '(not registered)'}")
    print(f"run folder {result.run_dir}")
    print(f"model card {result.run_dir / 'model_card.md'}")
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value
