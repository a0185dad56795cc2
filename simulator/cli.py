"""The ``simulator`` command: run, trace, compare, sweep, check, validate, schema, list, demo.

Exit codes: 0 success, 2 bad input (a scenario problem, a bad option), 1 an internal error,
130 interrupted (Ctrl-C: local worker processes are stopped at once).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import signal
import sys
import threading
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from simulator import __version__
from simulator.experiment import run
from simulator.report.text import terminal_safe
from simulator.scenario import Scenario, ScenarioError, loads_scenario

BAD_INPUT = 2
HERE = Path(__file__).resolve().parent
MAX_SEED = 2**63 - 1


def _out(text: str = "", file=None) -> None:
    """Print to the terminal with control characters from scenario names escaped."""
    print(terminal_safe(text), file=file)


def bundled_dir() -> Path:
    """The scenarios shipped with the package: simulator/bundled in an installed wheel, the
    checkout's scenarios/ in a source tree or an editable install (the same files)."""
    installed = HERE / "bundled"
    return installed if installed.is_dir() else HERE.parent / "scenarios"


def scenarios_dir() -> Path:
    """The scenarios to list: ./scenarios if present, else the bundled ones."""
    local = Path("scenarios")
    return local if local.is_dir() else bundled_dir()


def resolve_scenario(name: str) -> str:
    """A scenario path as given if it exists, else the bundled scenario of that name:
    ``db-slowdown``, ``db-slowdown.toml`` and ``scenarios/db-slowdown.toml`` all work outside
    the checkout."""
    path = Path(name)
    if path.exists() or name in ("-", "/dev/stdin"):
        return name
    if path.parent in (Path("."), Path("scenarios")):
        for candidate in (path.name, f"{path.name}.toml"):
            found = bundled_dir() / candidate
            if found.is_file():
                return str(found)
    return name


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed; must be an integer >= 0"
        ) from None
    if value < 0 or value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"{value} is not allowed; must be an integer from 0 to 2**63-1 ({MAX_SEED})"
        )
    return value


class BadOption(Exception):
    """An option that cannot be used; reported as one line, exit code 2."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed; must be an integer >= 1"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; must be an integer >= 1")
    return value


def _request_index(text: str) -> int:
    """A request id as the traces print it (``req-000042``) or its arrival index (``42``)."""
    digits = text.removeprefix("req-")
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a request id; write req-000042 or 42 (the arrival index, from 0)"
        )
    return int(digits)


def _time(text: str) -> float:
    """A point in simulated time: seconds or a duration such as '25s'."""
    from simulator.units import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _param(text: str):
    from simulator.experiment.sweep import parse_param

    try:
        return parse_param(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def check_destination(args: argparse.Namespace) -> None:
    """Refuse --out or --report naming a place that cannot take the files, before anything runs
    (not after the whole simulation), and both together (--report writes the --out files too)."""
    from simulator.report.outdir import OutputError
    from simulator.report.outdir import check_destination as check

    if args.out and args.report:
        raise BadOption(
            "give --out DIR or --report DIR, not both: --report writes everything --out does "
            "(summary.json, the CSVs, the charts) beside report.html"
        )
    option, folder = ("--report", args.report) if args.report else ("--out", args.out)
    if folder:
        try:
            check(Path(folder))
        except OutputError as error:
            raise BadOption(f"{option} {folder}: {error}") from None


def _wrote(written: list[Path]) -> None:
    _out("\nwrote " + ", ".join(str(p) for p in written))


def _load_one(args: argparse.Namespace):
    """The scenario FILE (or its --variant) names, with the file's text."""
    from simulator.scenario.loading import read_scenario_text

    text = read_scenario_text(Path(args.file))
    if args.variant:
        from simulator.scenario.variants import loads_scenario_set

        return loads_scenario_set(text, args.file).scenario(args.variant), text
    return loads_scenario(text, args.file), text


def _cmd_run(args: argparse.Namespace) -> int:
    check_destination(args)
    scenario, text = _load_one(args)
    result = run(scenario, seed=args.seed, progress=False if args.quiet else None)
    written: list[Path] = []
    if args.report:
        from simulator.report import write_run_report

        written = write_run_report(result, Path(args.report), source_text=text)
    elif args.out:
        from simulator.report import write_run

        written = write_run(result, Path(args.out), charts=not args.no_charts)
    if args.json:
        from simulator.report.files import summary_json

        sys.stdout.write(summary_json(result))
    else:
        from simulator.analysis.goals import evaluate, goals_text
        from simulator.experiment.replicate import run_metrics
        from simulator.report import summary_text

        _out(summary_text(result))
        if scenario.goals:
            _out("\n" + goals_text(evaluate(scenario.goals, run_metrics(result))))
        if written:
            _wrote(written)
    return 0


TRACE_CHARTS = 10  # swimlane charts written with --out (the JSON files hold every kept trace)


def _cmd_trace(args: argparse.Namespace) -> int:
    import json

    from simulator.experiment.run import trace
    from simulator.model.tracing import TraceSampler
    from simulator.report.traces import to_chrome, to_jsonl, trace_text

    check_destination(args)
    scenario, _ = _load_one(args)
    if args.request is not None:
        sampler = TraceSampler(requests=frozenset({args.request}))
    else:
        sampler = TraceSampler(slowest=args.slowest or 0, failed=args.failed or 0, at=args.at)
        if sampler.only_named:
            sampler = TraceSampler(first=args.first)
    _, traces = trace(scenario, seed=args.seed, sampler=sampler)
    if not traces:
        _out("no request matched: nothing to show")
        return 0
    _out(trace_text(traces).rstrip("\n"))
    if args.out:
        from simulator.plots.swimlane import swimlane
        from simulator.report.files import PNG_DPI
        from simulator.report.outdir import OutputDir

        with OutputDir(Path(args.out)) as folder:
            folder.write_text("traces.jsonl", to_jsonl(traces))
            folder.write_text("traces.chrome.json", json.dumps(to_chrome(traces)))
            for kept in traces[:TRACE_CHARTS]:
                swimlane(kept).savefig(folder.stage(f"swimlane-{kept.request_id}.png"), dpi=PNG_DPI)
        _wrote(folder.written)
    return 0


SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def check_scheduler(address: str) -> None:
    """Refuse a Dask scheduler address that cannot be one, before connecting."""
    allowed = (
        f"write PROTOCOL://HOST:PORT with PROTOCOL one of {', '.join(SCHEDULER_PROTOCOLS)} "
        "(e.g. tcp://10.0.0.5:8786)"
    )
    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme not in SCHEDULER_PROTOCOLS:
        scheme = text.split("://", 1)[0]
        raise BadOption(
            f"--scheduler {address!r} is not allowed: protocol {scheme!r} is unknown; {allowed}"
        )
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise BadOption(f"--scheduler {address!r} is not allowed: no host and port; {allowed}")


def _executor(args: argparse.Namespace):
    """The executor options as compare() and sweep() take them."""
    if args.scheduler and args.workers:
        raise BadOption("give --workers (local processes) or --scheduler (Dask), not both")
    if args.scheduler:
        check_scheduler(args.scheduler)
    return args.workers


def check_seeds(args: argparse.Namespace, blocks: int = 1) -> None:
    """Refuse a first seed whose replications would run past the largest seed (2**63-1);
    ``blocks`` is how many blocks of R seeds are used (variants with --independent)."""
    if args.seed is None:
        from simulator.scenario.variants import load_scenario_set

        seed = load_scenario_set(args.file).base.seed
    else:
        seed = args.seed
    last = seed + blocks * args.replications - 1
    if last > MAX_SEED:
        raise BadOption(
            f"--seed {seed} with -r {args.replications}: the runs would use seeds up to {last}, "
            f"beyond the maximum seed 2**63-1 ({MAX_SEED}); give --seed "
            f"<= {MAX_SEED - blocks * args.replications + 1}"
        )


def _run_experiment(function, args: argparse.Namespace, **kwargs):
    """Run compare() or sweep() with the executor options, reporting a Dask problem in one line."""
    try:
        return function(
            args.file,
            executor=_executor(args),
            scheduler=args.scheduler,
            progress=False if args.quiet else None,  # None: a bar only on a terminal
            replications=args.replications,
            seed=args.seed,
            **kwargs,
        )
    except ImportError as error:
        raise BadOption(str(error)) from None
    except OSError as error:
        if args.scheduler:
            raise BadOption(f"cannot use the Dask scheduler at {args.scheduler}: {error}") from None
        raise


def _cmd_compare(args: argparse.Namespace) -> int:
    from simulator.experiment.compare import compare
    from simulator.report import comparison_text, write_comparison, write_comparison_report

    check_destination(args)
    if args.include_base and args.exclude_base:
        raise BadOption("give --include-base or --exclude-base, not both")
    include_base = False if args.exclude_base else (True if args.include_base else None)
    blocks = 1
    if args.independent:
        from simulator.experiment.compare import choose_variants
        from simulator.scenario.variants import load_scenario_set

        scenarios = load_scenario_set(args.file)
        blocks = len(choose_variants(scenarios, args.variant or None, include_base))
    check_seeds(args, blocks)
    comparison = _run_experiment(
        compare,
        args,
        variants=args.variant or None,
        baseline=args.baseline,
        include_base=include_base,
        common_random_numbers=not args.independent,
    )
    written: list[Path] = []
    if args.report:
        written = write_comparison_report(comparison, Path(args.report))
    elif args.out:
        written = write_comparison(comparison, Path(args.out), charts=not args.no_charts)
    if args.json:
        sys.stdout.write(comparison.to_json())
    else:
        _out(comparison_text(comparison))
        if written:
            _wrote(written)
    return 0


def _check_metric(name: str) -> None:
    """Refuse a metric name that cannot exist, before anything runs."""
    from simulator.metrics.catalog import ALIASES, is_metric

    if not is_metric(name):
        raise BadOption(
            f"--metric {name!r} is not a metric; use one of {', '.join(sorted(ALIASES))}, "
            "amplification, or HOP.amplification (e.g. gateway->auth.amplification)"
        )


def _missing_part(data, parts: list[str]) -> str | None:
    """Why ``parts`` names nothing in ``data`` (None if it does). A key the file does not spell
    is fine where the schema gives it a meaning (a top-level table such as ``policies``, a field
    left at its default: validation refuses unknown ones), but not a service name: that would
    add an unused service and sweep nothing."""
    from simulator.scenario.errors import format_path

    top_level = {f.alias or name for name, f in Scenario.model_fields.items()}
    node = data
    for depth, part in enumerate(parts):
        where = format_path(parts[:depth]) or "the top level"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"{where} has items 0 to {len(node) - 1}, not {part!r}"
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                named = depth == 1 and parts[0] == "services"
                if not named and (depth > 0 or part in top_level):
                    return None
                close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                keys = ", ".join(repr(str(k)) for k in node) or "nothing"
                return f"{where} has no {part!r} (it has {keys}){hint}"
            node = node[part]
        else:
            return f"{where} is a value, not a table"
    return None


def check_params(file: str, params, variants: list[str] | None) -> None:
    """Refuse a --param whose path names no key of the scenario (a typo would otherwise add an
    unused table and sweep nothing)."""
    from simulator.scenario.variants import BASE, load_scenario_set

    scenarios = load_scenario_set(file)
    names = [BASE] if not variants else list(variants)
    if "all" in names:
        names = [BASE, *scenarios.variants]
    datas = [
        scenarios.raw_of(n) for n in dict.fromkeys(names) if n == BASE or n in scenarios.variants
    ]
    for param in params:
        problems = [_missing_part(d, param.parts) for d in datas]
        if datas and all(problems):
            raise BadOption(f"--param {param.key}: {problems[0]}")


def _cmd_sweep(args: argparse.Namespace) -> int:
    from simulator.experiment.compare import resolve_metric
    from simulator.experiment.sweep import sweep
    from simulator.report import sweep_text, write_sweep, write_sweep_report

    check_destination(args)
    _check_metric(args.metric)
    check_params(args.file, args.param, args.variant)
    check_seeds(args)
    result = _run_experiment(sweep, args, params=args.param, variants=args.variant or None)
    try:
        metric = resolve_metric(args.metric, result.metrics)
    except ValueError as error:
        raise BadOption(f"--metric: {error}") from None
    written: list[Path] = []
    if args.report:
        written = write_sweep_report(result, Path(args.report), metric)
    elif args.out:
        written = write_sweep(result, Path(args.out), metric, charts=not args.no_charts)
    if args.json:
        sys.stdout.write(result.to_json())
    else:
        _out(sweep_text(result, metric))
        if written:
            _wrote(written)
        else:
            print("\n(add --out DIR for the CSVs and the chart, or --report DIR for report.html)")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from simulator.scenario.variants import load_scenario_set

    variants = load_scenario_set(args.file).variants
    suffix = f" ({len(variants)} variant(s): {', '.join(variants)})" if variants else ""
    _out(f"{args.file}: ok{suffix}")
    return 0


def _cmd_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return 0


DEMO = "db-slowdown.toml"


def _cmd_demo(args: argparse.Namespace) -> int:
    """The main job: the bundled database-slowdown scenario, with its report."""
    path = bundled_dir() / DEMO
    out = Path(args.out)
    demo = argparse.Namespace(
        file=str(path),
        seed=None,
        variant=None,
        quiet=args.quiet,
        report=str(out),
        out=None,
        no_charts=False,
        json=False,
    )
    status = _cmd_run(demo)
    print(f"\nopen {out / 'report.html'} in a browser, or look at {out / 'timeline.png'}")
    return status


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
        _out(f"{str(path).ljust(width)}  {str(description).splitlines()[0] if description else ''}")
    return 0


def challenges_dir() -> Path:
    """The challenges shipped with the package: simulator/challenges in a wheel, the checkout's
    challenges/ in a source tree or an editable install (the same files)."""
    installed = HERE / "challenges"
    return installed if installed.is_dir() else HERE.parent / "challenges"


def _cmd_check(args: argparse.Namespace) -> int:
    """Run a challenge file on its hidden seeds: exit 0 if it passes, 1 if it fails."""
    from simulator.experiment.challenge import challenge_ids, check_challenge, find_original
    from simulator.report.challenge import check_text
    from simulator.scenario.variants import load_scenario_set

    scenarios = load_scenario_set(args.file)
    challenge = scenarios.base.challenge
    if challenge is None:
        raise BadOption(
            f"{args.file} has no [challenge] table: nothing to check (the challenges: "
            f"{', '.join(challenge_ids([challenges_dir()])) or 'none found'})"
        )
    shipped = find_original(challenge.id, [challenges_dir()])
    found = Path(args.original) if args.original else shipped
    if found is not None and not args.original and found.resolve() == Path(args.file).resolve():
        found = None  # the student edited the shipped file itself: nothing to compare with
    original = load_scenario_set(found) if found is not None else None
    result = check_challenge(
        scenarios,
        original,
        executor=args.workers,
        progress=False if args.quiet else None,
    )
    _out(check_text(result).rstrip("\n"))
    return 0 if result.passed else 1


Parser = argparse.ArgumentParser
Subparsers = argparse._SubParsersAction  # the type add_subparsers() returns


def _file_argument(p: Parser, help: str = "scenario TOML file") -> None:
    p.add_argument("file", help=help)


def _seed_option(p: Parser, help: str) -> None:
    p.add_argument("--seed", type=_seed, default=None, help=help)


def _variant_option(p: Parser, verb: str) -> None:
    p.add_argument(
        "--variant", metavar="NAME", help=f"{verb} this variant of the file instead of its base"
    )


def _quiet_option(p: Parser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _no_charts_option(p: Parser) -> None:
    p.add_argument("--no-charts", action="store_true", help="with --out: skip the PNG charts")


def _report_option(p: Parser) -> None:
    p.add_argument(
        "--report",
        metavar="DIR",
        help="write report.html (self-contained: charts, tables, scenario, seeds, versions) "
        "with the JSON, CSV and PNG files into DIR (what --out writes: give one of the two)",
    )


def _replications_option(p: Parser, default: int, per: str) -> None:
    """``-r/--replications R``: runs per variant or per grid point."""
    p.add_argument(
        "-r",
        "--replications",
        type=_positive,
        default=default,
        metavar="R",
        help=f"runs per {per} (default {default})",
    )


def _variants_option(p: Parser, help: str) -> None:
    """``--variant NAME``, repeatable."""
    p.add_argument("--variant", action="append", metavar="NAME", help=help)


def _experiment_options(p: Parser) -> None:
    """Options shared by compare and sweep: seed, where to run, what to write."""
    _seed_option(p, "first seed (default: the file's)")
    p.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="local worker processes (default: one per core; 1 runs in this process)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs the 'dask' extra)",
    )
    p.add_argument("--out", metavar="DIR", help="write summary.json, the CSVs and charts here")
    _report_option(p)
    _no_charts_option(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    _quiet_option(p)


OUTPUT_NOTE = (
    "Files go into --out or --report DIR (made if missing; checked before anything runs) all "
    "together: each is written under a temporary name, then renamed into place, and the files "
    "an earlier run wrote there that this one does not (listed in DIR/.simulator-manifest.json) "
    "are removed. Other files in DIR are left alone."
)


def _add_run(sub: Subparsers) -> None:
    p = sub.add_parser(
        "run",
        help="run a scenario file and summarise it",
        description="Run a scenario; print a summary; optionally write files and charts.",
        epilog=OUTPUT_NOTE,
    )
    _file_argument(p, "scenario TOML file, e.g. scenarios/steady.toml")
    _seed_option(p, "root random seed (default: the file's)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write summary.json, timeseries.csv, timeline.png and latency.png here",
    )
    p.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of tables"
    )
    _no_charts_option(p)
    _quiet_option(p)
    _variant_option(p, "run")
    _report_option(p)
    p.set_defaults(handler=_cmd_run)


def _add_trace(sub: Subparsers) -> None:
    p = sub.add_parser(
        "trace",
        help="follow requests through every hop and attempt",
        description="Run a scenario with tracing on and print the per-hop log of the chosen "
        "requests (request id, caller -> callee, route, status, duration, attempt, what each "
        "policy did). The run is the same as without tracing.",
        epilog="With --out DIR: traces.jsonl (one span per line), traces.chrome.json (open it in "
        "ui.perfetto.dev or chrome://tracing) and a swimlane chart per request (the first "
        f"{TRACE_CHARTS}). " + OUTPUT_NOTE,
    )
    _file_argument(p, "scenario TOML file, e.g. scenarios/reference.toml")
    _seed_option(p, "root random seed (default: the file's)")
    _variant_option(p, "trace")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--request",
        type=_request_index,
        metavar="ID",
        help="this request only (req-000042 or 42: requests are numbered in arrival order from 0)",
    )
    which.add_argument("--slowest", type=_positive, metavar="K", help="the K slowest requests")
    which.add_argument("--failed", type=_positive, metavar="K", help="the first K failed requests")
    which.add_argument(
        "--at", type=_time, metavar="T", help="requests in flight at time T (up to 20), e.g. 25s"
    )
    p.add_argument(
        "--first",
        type=_positive,
        default=3,
        metavar="N",
        help="without another choice: the first N requests (default 3)",
    )
    p.add_argument("--out", metavar="DIR", help="write the traces as files and charts here")
    p.set_defaults(handler=_cmd_trace, report=None)


def _add_compare(sub: Subparsers) -> None:
    p = sub.add_parser(
        "compare",
        help="run every variant with replications and compare them",
        description="Run each variant of a scenario R times on common random numbers "
        "(replication i of every variant uses seed + i) and report, per variant, means with "
        "95% confidence intervals and paired differences against the baseline, ranked by the "
        "goals met (then goodput) with a verdict per variant. The variants are the base (the "
        "file as written, named by its [base] name, else its name) and then the file's "
        "[variants.NAME] tables; the first is the baseline. Metrics that are the same in every "
        "variant are listed once instead of tabulated.",
        epilog="Example: simulator compare scenarios/compare-retries.toml -r 10 --report out/cmp. "
        + OUTPUT_NOTE,
    )
    _file_argument(p, "scenario TOML file with [variants.NAME] tables")
    _replications_option(p, default=10, per="variant")
    p.add_argument(
        "--baseline", metavar="NAME", help="variant to compare against (default: the first)"
    )
    _variants_option(
        p,
        "run only this variant (repeat for more; 'base' or the base's name is the scenario as "
        "written)",
    )
    p.add_argument(
        "--exclude-base",
        action="store_true",
        help="leave the base out: run only the declared variants",
    )
    p.add_argument(
        "--include-base",
        action="store_true",
        help="the base runs by default now; with --variant, run it too, first",
    )
    p.add_argument(
        "--independent",
        action="store_true",
        help="give each variant seeds of its own instead of common random numbers (to see what "
        "CRN buys: wider intervals of the differences)",
    )
    _experiment_options(p)
    p.set_defaults(handler=_cmd_compare)


def _add_sweep(sub: Subparsers) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a grid of parameter values with replications",
        description="Run the scenario at every combination of the --param values, R times each "
        "(replication i of every point uses seed + i), and report a metric with 95% intervals. "
        "KEY is a dotted path into the scenario file; quote a part that contains a dot, as in "
        "TOML: services.\"db.primary\".connections. Parts with '->' need no quotes. Pick list "
        "items by index: faults.0.slowdown. Values are read as TOML; bare words such as 5s are "
        "strings.",
        epilog="Example: simulator sweep scenarios/db-slowdown.toml "
        "--param services.db.connections=10,20,40 --param faults.0.slowdown=5,30 --out out/sweep. "
        + OUTPUT_NOTE,
    )
    _file_argument(p)
    p.add_argument(
        "--param",
        action="append",
        type=_param,
        required=True,
        metavar="KEY=V1,V2,...",
        help="a key and its values, e.g. 'policies.gateway->auth.retry.max_attempts=1,2,3' "
        "(repeat for a grid)",
    )
    _replications_option(p, default=5, per="point")
    p.add_argument(
        "--metric",
        default="goodput",
        help="metric to tabulate and chart: goodput (default), success_ratio, p50, p99, "
        "error_ratio, wasted_work, recovery, amplification or HOP.amplification",
    )
    _variants_option(
        p,
        "cross the grid with this variant (repeat; 'all' for the base and every declared "
        "variant; default: the base alone)",
    )
    _experiment_options(p)
    p.set_defaults(handler=_cmd_sweep)


def _add_small_commands(sub: Subparsers) -> None:
    """validate, schema, list and demo: a file, no options, or an output directory."""
    p = sub.add_parser(
        "validate",
        help="check a scenario file; list every problem",
        description="Check a scenario file. Exit 0 if it is valid, else print every "
        "problem (one per line) and exit 2.",
    )
    _file_argument(p)
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

    p = sub.add_parser(
        "demo",
        help="run the bundled database-slowdown scenario and write its report",
        description=f"Run scenarios/{DEMO} (the reference chain through a database slowdown) "
        "and write report.html, summary.json, timeseries.csv and the charts.",
    )
    p.add_argument("--out", metavar="DIR", default="out/demo", help="where to write (out/demo)")
    _quiet_option(p)
    p.set_defaults(handler=_cmd_demo)


def _add_check(sub: Subparsers) -> None:
    p = sub.add_parser(
        "check",
        help="check a challenge: run a student's file on hidden seeds, pass or fail",
        description="Run a challenge file (a scenario with a [challenge] table) on hidden seeds "
        "and judge each of its goals on every seed: PASS only if every goal is met on every "
        "seed and no key changed that the challenge fixes (compared with the original handed "
        "out: the bundled challenges/ID.toml, or --original). Exit 0 on a pass, 1 on "
        "a fail, 2 on bad input. The seeds come from SIMULATOR_CHECK_SECRET (set your own to "
        "grade) and the challenge's id, and are not printed.",
        epilog="Example: simulator check challenges/retry-storm.toml",
    )
    _file_argument(p, "the student's challenge file, e.g. challenges/retry-storm.toml")
    p.add_argument(
        "--original", metavar="FILE", help="the challenge file as handed out (default: by its id)"
    )
    p.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="local worker processes (default: one per core; 1 runs in this process)",
    )
    _quiet_option(p)
    p.set_defaults(handler=_cmd_check)


def build_parser() -> Parser:
    """The ``simulator`` parser: one subcommand per job, each with its handler as a default."""
    parser = argparse.ArgumentParser(
        prog="simulator",
        description="Simulate service-to-service calls (gateway -> auth -> database) with faults, "
        "timeouts and resilience policies, and see what happens.",
        epilog="Examples: simulator run scenarios/db-slowdown.toml --report out/db-slowdown; "
        "simulator compare scenarios/compare-retries.toml -r 10 --report out/compare",
    )
    parser.add_argument("--version", action="version", version=f"simulator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_run, _add_trace, _add_compare, _add_sweep, _add_check, _add_small_commands):
        add(sub)
    return parser


INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command ended by Ctrl-C


def _interrupted(as_command: bool) -> int:
    """Report Ctrl-C in one line. Run as the command, the process is ending: a further Ctrl-C
    is ignored, so that it exits 130 instead of being killed by the signal on its way out."""
    if as_command and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("interrupted", file=sys.stderr)
    return INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """The command: ``argv`` (default: the process's arguments) in, an exit code out."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "file", None):
        args.file = resolve_scenario(args.file)
    try:
        return args.handler(args)
    except ScenarioError as error:
        for problem in error.problems:
            _out(f"error: {problem}", file=sys.stderr)
        return BAD_INPUT
    except BadOption as error:
        _out(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    except BrokenPipeError:
        # The reader went away (``simulator trace ... | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        return _interrupted(as_command=argv is None)


if __name__ == "__main__":
    sys.exit(main())
