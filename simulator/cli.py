"""The ``simulator`` command: run, validate, schema, list.

Exit codes: 0 success, 2 bad input (a scenario problem, a bad option), 1 an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

from simulator import __version__
from simulator.experiment import run
from simulator.scenario import Scenario, ScenarioError, load_scenario

BAD_INPUT = 2
HERE = Path(__file__).resolve().parent


def scenarios_dir() -> Path:
    """The bundled scenarios: ./scenarios if present, else the ones beside the package."""
    local = Path("scenarios")
    return local if local.is_dir() else HERE.parent / "scenarios"


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed; must be an integer >= 0"
        ) from None
    if value < 0 or value > 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; must be an integer >= 0")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.file)
    result = run(scenario, seed=args.seed, progress=False if args.quiet else None)
    if args.out:
        from simulator.report import write_run

        written = write_run(result, Path(args.out), charts=not args.no_charts)
    if args.json:
        sys.stdout.write(result.to_json())
    else:
        from simulator.report import summary_text

        print(summary_text(result))
        if args.out:
            print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    load_scenario(args.file)
    print(f"{args.file}: ok")
    return 0


def _cmd_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return 0


def _cmd_list(_args: argparse.Namespace) -> int:
    folder = scenarios_dir()
    files = sorted(folder.glob("*.toml"))
    if not files:
        print(f"no scenarios found in {folder}", file=sys.stderr)
        return BAD_INPUT
    width = max(len(str(f)) for f in files)
    for path in files:
        try:
            description = tomllib.loads(path.read_text()).get("description", "")
        except (tomllib.TOMLDecodeError, OSError):
            description = "(unreadable)"
        print(
            f"{str(path).ljust(width)}  {str(description).splitlines()[0] if description else ''}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulator",
        description="Simulate service-to-service calls (gateway -> auth -> database) with faults, "
        "timeouts and resilience policies, and see what happens.",
        epilog="Example: simulator run scenarios/db-slowdown.toml --out out/db-slowdown",
    )
    parser.add_argument("--version", action="version", version=f"simulator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run",
        help="run a scenario file and summarise it",
        description="Run a scenario; print a summary; optionally write files and charts.",
    )
    p.add_argument("file", help="scenario TOML file, e.g. scenarios/steady.toml")
    p.add_argument(
        "--seed", type=_seed, default=None, help="root random seed (default: the file's)"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write summary.json, timeseries.csv, timeline.png and latency.png here",
    )
    p.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of tables"
    )
    p.add_argument("--no-charts", action="store_true", help="with --out: skip the PNG charts")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser(
        "validate",
        help="check a scenario file; list every problem",
        description="Check a scenario file. Exit 0 if it is valid, else print every "
        "problem (one per line) and exit 2.",
    )
    p.add_argument("file", help="scenario TOML file")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of the scenario format",
        description="Print the JSON Schema of scenario files (for editor completion).",
    )
    p.set_defaults(handler=_cmd_schema)

    p = sub.add_parser(
        "list", help="list the bundled scenarios", description="List bundled scenarios."
    )
    p.set_defaults(handler=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return BAD_INPUT
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
