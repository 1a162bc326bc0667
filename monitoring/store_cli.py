"""Command line of the decision store: ``python -m monitoring outcomes load`` and
``python -m monitoring performance``.

Both take the store's URL from ``--store-url`` or, when that is not given, from the sidecar's variable
``CREDIT_SCORING_MONITOR_DECISION_STORE_URL``. Exit codes: 0 done, 2 refused input (bad file, contradicting
outcomes: nothing was loaded) or missing URL, 1 the store could not be reached or written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from monitoring.settings import ENV_PREFIX

if TYPE_CHECKING:
    from monitoring.performance_job import PerformanceJob

STORE_URL_VARIABLE = f"{ENV_PREFIX}DECISION_STORE_URL"
"""Environment variable read when ``--store-url`` is not given (the sidecar's own setting)."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the ``outcomes`` and ``performance`` sub-commands to the ``monitoring`` parser."""
    outcomes = commands.add_parser("outcomes", help="load loan outcomes into the decision store")
    actions = outcomes.add_subparsers(dest="action", required=True, metavar="{load}")
    load = actions.add_parser(
        "load",
        help="load a CSV or Parquet file of outcomes (all or nothing; see docs/outcomes.md)",
        description="Columns: request_id and/or applicant_id, defaulted, observed_at (docs/outcomes.md).",
    )
    load.add_argument("file", type=Path, help="outcomes file (.csv or .parquet)")
    _store_url(load)
    load.add_argument(
        "--replace",
        action="store_true",
        help="let outcomes that contradict stored ones replace them (corrections); default: refuse the file",
    )
    load.set_defaults(run=_load)
    job = commands.add_parser("performance", help="realized performance per model and decision month")
    _store_url(job)
    job.add_argument("--months", type=int, default=12, help="decision months computed [default 12]")
    job.add_argument(
        "--once", action="store_true", help="compute once, print JSON to stdout, exit (no HTTP endpoint)"
    )
    job.add_argument("--host", default="127.0.0.1", help="address of /metrics [default 127.0.0.1]")
    job.add_argument("--port", type=int, default=9110, help="port of /metrics [default 9110]")
    job.add_argument(
        "--interval-seconds", type=float, default=300.0, help="seconds between computations [default 300]"
    )
    job.add_argument(
        "--auc-alert-margin",
        type=float,
        default=0.05,
        help="alert when a month's realized AUC is this far below the holdout AUC [default 0.05]",
    )
    job.add_argument(
        "--min-outcomes",
        type=int,
        default=500,
        help="outcomes a decision month needs before the AUC alert reads it [default 500]",
    )
    job.add_argument(
        "--outcomes-max-body-bytes",
        type=int,
        default=8 * 1024 * 1024,
        help="largest body of POST /outcomes on the job's port [default 8 MiB]",
    )
    job.set_defaults(run=_performance)


def _store_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store-url",
        default=os.environ.get(STORE_URL_VARIABLE) or None,
        help=f"SQLAlchemy URL of the decision store [default: ${STORE_URL_VARIABLE}]",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level [default INFO]")


def run(args: argparse.Namespace) -> int:
    """Run the parsed sub-command; returns the exit code."""
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.store_url:
        print(f"no decision store: give --store-url or set {STORE_URL_VARIABLE}", file=sys.stderr)
        return 2
    return args.run(args)


def _load(args: argparse.Namespace) -> int:
    from monitoring.outcome_store import OutcomeConflictError, load_outcomes
    from monitoring.outcomes import OutcomeFileError, read_file
    from monitoring.store_schema import open_engine, safe_url

    try:
        outcomes = read_file(args.file)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except OutcomeFileError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        summary = load_outcomes(open_engine(args.store_url), outcomes, replace=args.replace)
    except OutcomeConflictError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        print(
            f"decision store {safe_url(args.store_url)} failed: {reason}; nothing was loaded", file=sys.stderr
        )
        return 1
    print(json.dumps({"file": str(args.file), **summary.as_dict()}))
    return 0


def _performance(args: argparse.Namespace) -> int:
    from monitoring.performance import compute
    from monitoring.performance_job import PerformanceJob, first_month
    from monitoring.store_schema import open_engine

    engine = open_engine(args.store_url)
    if args.once:
        try:
            months, counts = compute(engine, first_month(args.months))
        except SQLAlchemyError as exc:
            print(f"decision store failed: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
        print(json.dumps({"months": [asdict(m) for m in months], "left_out": asdict(counts)}, default=str))
        return 0
    job = PerformanceJob(
        engine,
        args.months,
        args.interval_seconds,
        auc_alert_margin=args.auc_alert_margin,
        min_outcomes=args.min_outcomes,
    )
    return _serve_job(job, args.host, args.port, args.outcomes_max_body_bytes)


def _serve_job(job: PerformanceJob, host: str, port: int, max_body_bytes: int) -> int:
    import signal

    from monitoring.bounded_server import HttpLimits
    from monitoring.outcomes_endpoint import outcomes_response
    from monitoring.server import make_server, serve_in_thread

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = make_server(
        host,
        port,
        job.registry,
        livez=job.livez,
        readyz=lambda: (True, "ready"),
        limits=HttpLimits(max_threads=4, max_pending=64, request_timeout=5.0, write_timeout=30.0),
        outcomes=partial(outcomes_response, job.engine),
        max_body_bytes=max_body_bytes,
    )
    serve_in_thread(server)
    logging.getLogger(__name__).info("performance job listening on %s:%d", host, server.server_address[1])
    worker = threading.Thread(target=job.run, args=(stop,), name="performance", daemon=True)
    worker.start()
    stop.wait()
    server.shutdown()
    server.server_close()
    worker.join(timeout=5)
    return 0
