"""Command line of the drift sidecar: ``python -m monitoring serve`` and ``python -m monitoring report``."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from pathlib import Path

from monitoring import store_cli
from monitoring.settings import ENV_PREFIX, MonitorSettings, add_arguments, from_sources

DESCRIPTION = f"""\
Drift sidecar of the credit scorer. Every option can also be set by an environment variable
{ENV_PREFIX}<OPTION> (upper case, underscores); a flag wins over the variable.

  serve   tail the payload spool, keep the rolling window, compute drift, serve /metrics /livez /readyz
  report  write Evidently's HTML drift report of the current window (from the sidecar's checkpoint, or
          from payload-log segments given with --records)
  outcomes load   load loan outcomes (CSV or Parquet) into the decision store
  performance     realized performance per model and decision month, from the decision store
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``monitoring`` argument parser with its two sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m monitoring",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{serve,report,outcomes,performance}"
    )
    serve = commands.add_parser("serve", help="run the sidecar (ingest + drift + HTTP endpoint)")
    serve.set_defaults(settings_source=add_arguments(serve))
    report = commands.add_parser("report", help="write the Evidently HTML report of the current window")
    report.add_argument(
        "--output",
        type=Path,
        default=Path("drift-report.html"),
        help="HTML file to write [default drift-report.html]",
    )
    report.add_argument(
        "--records",
        type=Path,
        default=None,
        help="payload-log segment (.arrows) or a directory of them, instead of the sidecar's window",
    )
    report.set_defaults(settings_source=add_arguments(report))
    store_cli.add_commands(commands)
    return parser


def _report(settings: MonitorSettings, output: Path, records: Path | None) -> int:
    from monitoring.drift import DriftDetector
    from monitoring.report import window_from_checkpoint, window_from_records_file, write_report
    from monitoring.sidecar import load_bundle

    bundle = load_bundle(settings)
    if records is not None:
        view, skipped = window_from_records_file(records, bundle.feature_names, settings.window_records)
        if skipped:
            logging.warning("skipped %d malformed records or segment ends of %s", skipped, records)
    else:
        view = window_from_checkpoint(
            settings.checkpoint_path, bundle.feature_names, settings.window_records, settings.window_seconds
        )
    if len(view) < settings.min_records:
        print(
            f"insufficient data: {len(view)} records in the window, {settings.min_records} needed",
            file=sys.stderr,
        )
        return 2
    detector = DriftDetector(bundle.reference, bundle.features, bundle.threshold, settings)
    detector.calibrate()
    result = detector.compute(view)
    write_report(detector, bundle.reference, view, output)
    print(
        f"wrote {output}: {len(view)} records, "
        f"{result.drifted_count}/{len(result.features)} features drifted, "
        f"dataset drift {result.dataset_drifted}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command in ("outcomes", "performance"):
        return store_cli.run(args)
    try:
        settings = from_sources(args.settings_source, args)
    except ValueError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "report":
        return _report(settings, args.output, args.records)
    return _serve(settings)


def _serve(settings: MonitorSettings) -> int:
    stop_event = threading.Event()
    # before the sidecar's imports and the bundle load (seconds): a signal from here on exits with 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_event.set())
    from monitoring.sidecar import Sidecar

    Sidecar(settings, stop_event=stop_event).run_until_signalled()
    return 0


def exit_quickly(code: int) -> None:
    """Exit with ``code``, skipping the interpreter's final garbage collections.

    After Evidently was imported they walk its whole module graph, which takes seconds on a busy node; the
    state that matters (the checkpoint) is already on disk and the logs are flushed at exit as usual.
    """
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    exit_quickly(main())
