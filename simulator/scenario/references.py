"""Checks that span sections of a scenario: names that must exist, targets, and call cycles."""

from __future__ import annotations

from simulator.hops import Hop
from simulator.scenario.errors import format_path
from simulator.scenario.goals import parse_goal
from simulator.scenario.schema import (
    CallStep,
    CrashFault,
    Scenario,
    TaggedCall,
    TaggedParallel,
)

CLIENT = "client"
REGISTRY = "registry"
"""The caller of health checks (hop 'registry->auth'), as the client is the workload's."""

# Which kinds of target each fault accepts.
_FAULT_TARGETS = {
    "latency": {"service", "instance", "hop"},
    "errors": {"service", "instance", "hop"},
    "outage": {"service"},
    "crash": {"service"},
    "brownout": {"service", "instance"},
    "hang": {"service", "instance"},
    "misconfigured": {"hop"},
}


def _calls_by_route(scenario: Scenario):
    """Yield (path parts, caller service, route name, CallStep) for every call step."""
    for service_name, service in scenario.services.items():
        for route_name, route in service.routes.items():
            for i, step in enumerate(route.steps):
                parts = ["services", service_name, "routes", route_name, "steps", str(i)]
                if isinstance(step, TaggedCall):
                    yield parts, service_name, route_name, step
                elif isinstance(step, TaggedParallel):
                    for j, call in enumerate(step.parallel):
                        yield [*parts, "parallel", str(j)], service_name, route_name, call


def iter_calls(scenario: Scenario):
    """Yield (path, caller service, CallStep) for every call step in every route.

    The path is written as in error messages, route names quoted like TOML keys:
    ``services.gateway.routes."POST /license/activate".steps.0``.
    """
    for parts, caller, _, step in _calls_by_route(scenario):
        yield format_path(parts), caller, step


def _article(word: str) -> str:
    """``word`` with its indefinite article: 'an instance', 'a hop'."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _known(names, what: str) -> str:
    return f"must be one of the {what}: " + ", ".join(repr(n) for n in sorted(names))


def check_references(scenario: Scenario) -> list[str]:
    """Every cross-reference problem, each as one line ``path: value ...; must be ...``."""
    problems: list[str] = []
    services = scenario.services
    routes = {name: service.route_table() for name, service in services.items()}

    def check_call(path: str, service: str, route: str) -> None:
        if service not in services:
            problems.append(f"{path}: {service!r} is not a service; {_known(services, 'services')}")
        elif route not in routes[service]:
            problems.append(
                f"{path}: route {route!r} does not exist on {service!r}; "
                f"{_known(routes[service], 'routes of ' + service)}"
            )

    workload = scenario.workload
    if workload.target not in services:
        problems.append(
            f"workload.target: {workload.target!r} is not a service; {_known(services, 'services')}"
        )
    elif workload.mix:
        for i, share in enumerate(workload.mix):
            check_call(f"workload.mix.{i}.route", workload.target, share.route)
    else:
        check_call("workload.route", workload.target, workload.route)

    calls: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for parts, caller, route_name, step in _calls_by_route(scenario):
        check_call(format_path([*parts, "call"]), step.call, step.route)
        calls.setdefault((caller, route_name), []).append((step.call, step.route))

    cycle = _find_cycle(calls)
    if cycle:
        chain = " -> ".join(f"{s} {r!r}" for s, r in cycle)
        problems.append(f"services: calls form a cycle ({chain}); a route may not call itself")

    for key in scenario.network.hops:
        hop = Hop.parse(key)
        if hop is None or not _is_known(hop, services, scenario.consumers):
            problems.append(
                f"{format_path(['network', 'hops', key])}: {key!r} is not a hop; must be "
                "'caller->callee' with known services (the workload's caller is 'client', "
                "health checks' 'registry', a consumer's its name)"
            )

    for name, service in services.items():
        for i, route in enumerate(service.optimistic_routes):
            if route not in routes[name]:
                problems.append(
                    f"services.{format_path([name])}.optimistic_routes.{i}: route {route!r} "
                    f"does not exist on {name!r}; {_known(routes[name], 'routes of ' + name)}"
                )

    problems.extend(_check_policies(scenario))
    problems.extend(_check_authentication(scenario, calls))
    problems.extend(_check_discovery(scenario, routes))
    problems.extend(_check_consumers(scenario, routes))

    for i, fault in enumerate(scenario.faults):
        problems.extend(_check_fault(f"faults.{i}.target", fault, scenario))
    workload_routes = [route for route, _ in workload.routes]
    for i, text in enumerate(scenario.goals):
        route = parse_goal(text).route
        if route is None:
            continue
        if len(workload_routes) < 2:
            problems.append(
                f"goals.{i}: {text!r} names route {route!r}; a goal on one route needs a "
                "workload.mix of several routes (with one route, leave the brackets out)"
            )
        elif route not in workload_routes:
            problems.append(
                f"goals.{i}: {text!r} names route {route!r}; must be one of the workload's routes: "
                + ", ".join(repr(r) for r in workload_routes)
            )
    return problems


def _check_policies(scenario: Scenario) -> list[str]:
    """Policies only on hops a route calls, and their route_timeouts only on routes they call."""
    problems: list[str] = []
    workload = scenario.workload
    called: dict[str, set[str]] = {}  # hop -> the callee's routes it calls
    for _, caller, _, step in _calls_by_route(scenario):
        called.setdefault(str(Hop(caller, step.call)), set()).add(step.route)
    if workload.target in scenario.services:
        called.setdefault(str(Hop(CLIENT, workload.target)), set()).update(
            route for route, _ in workload.routes
        )
    for name, consumer in scenario.consumers.items():
        called.setdefault(str(Hop(name, consumer.service)), set()).add(consumer.route)
        if consumer.notify is not None:
            notify = consumer.notify
            called.setdefault(str(Hop(name, notify.service)), set()).add(notify.route)
    for key, policies in scenario.policies.items():
        if key not in called:
            problems.append(
                f"{format_path(['policies', key])}: {key!r} is not a hop any route calls; "
                f"{_known(called, 'hops') if called else 'no calls are made'}"
            )
            continue
        for route in policies.route_timeouts:
            if route not in called[key]:
                problems.append(
                    f"{format_path(['policies', key, 'route_timeouts', route])}: {key!r} never "
                    f"calls route {route!r}; {_known(called[key], 'routes it calls')}"
                )

    return problems


def _check_rotation(path: list[str], rotation, duration: float) -> list[str]:
    """A secret rotation must start and end within the run."""
    if rotation is None or rotation.end < duration:
        return []
    if rotation.at >= duration:
        where, what = "at", f"{rotation.at:g} s starts the rotation after the run"
    else:
        where, what = "spread", f"{rotation.spread:g} s ends the rotation at {rotation.end:g} s"
    return [
        f"{format_path([*path, 'rotation', where])}: {what}; at + spread must be less than "
        f"duration ({duration:g} s)"
    ]


def _reaches(calls, start: tuple[str, str]) -> set[str]:
    """The services a route's calls reach, directly or through others."""
    seen: set[tuple[str, str]] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(calls.get(node, []))
    return {service for service, _ in seen}


def _check_authentication(scenario: Scenario, calls) -> list[str]:
    """Exempt routes exist, rotations fit in the run, token issuers and routes exist, and a
    token refresh never calls back into the caller that needs the token."""
    problems: list[str] = []
    services = scenario.services
    for name, service in services.items():
        auth = service.authentication
        if auth is None:
            continue
        path = ["services", name, "authentication"]
        problems.extend(_check_rotation(path, auth.rotation, scenario.duration))
        table = service.route_table()
        for i, route in enumerate(auth.exempt_routes):
            if route not in table:
                problems.append(
                    f"{format_path([*path, 'exempt_routes', str(i)])}: route {route!r} does not "
                    f"exist on {name!r}; {_known(table, 'routes of ' + name)}"
                )
    for key, policies in scenario.policies.items():
        credentials = policies.credentials
        if credentials is None:
            continue
        path = ["policies", key, "credentials"]
        problems.extend(_check_rotation(path, credentials.rotation, scenario.duration))
        token = credentials.token
        hop = Hop.parse(key)
        if token is None or hop is None:
            continue
        where = format_path([*path, "token"])
        if token.issuer not in services:
            problems.append(
                f"{where}.issuer: {token.issuer!r} is not a service; {_known(services, 'services')}"
            )
        elif token.route not in services[token.issuer].route_table():
            table = services[token.issuer].route_table()
            problems.append(
                f"{where}.route: route {token.route!r} does not exist on {token.issuer!r}; "
                f"{_known(table, 'routes of ' + token.issuer)}"
            )
        elif hop.caller in _reaches(calls, (token.issuer, token.route)):
            problems.append(
                f"{where}.issuer: the token route {token.issuer} {token.route!r} reaches "
                f"{hop.caller!r}, the caller that needs the token; a token must come from "
                "another service"
            )
    return problems


def _check_discovery(scenario: Scenario, routes) -> list[str]:
    """A registry's health checks call a route the service has, and run within the run."""
    problems = []
    for name, service in scenario.services.items():
        discovery = service.discovery
        if discovery is None or discovery.mode != "registry":
            continue
        check = discovery.health_check
        path = f"services.{format_path([name])}.discovery.health_check"
        if check.route not in routes[name]:
            problems.append(
                f"{path}.route: {check.route!r} is not a route of {name!r}; add "
                f"[services.{format_path([name, 'routes', check.route])}] (its steps are the "
                f"check's cost) or name one of: " + ", ".join(repr(r) for r in sorted(routes[name]))
            )
        if check.interval >= scenario.duration:
            problems.append(
                f"{path}.interval: {check.interval:g} s is not shorter than the run "
                f"({scenario.duration:g} s); no instance would be checked twice"
            )
    return problems


def _is_known(hop: Hop, services, consumers=()) -> bool:
    """Both ends of ``hop`` exist (the workload's caller is 'client', health checks' 'registry',
    a consumer's its own name)."""
    callers = hop.caller in services or hop.caller in (CLIENT, REGISTRY) or hop.caller in consumers
    return callers and hop.callee in services


def _check_consumers(scenario: Scenario, routes) -> list[str]:
    """A consumer reads a queue service and calls routes that exist; its name is no service's;
    every queue has a consumer."""
    problems = []
    services = scenario.services
    queues = sorted(name for name, service in services.items() if service.kind == "queue")
    read = set()
    for name, consumer in scenario.consumers.items():
        path = f"consumers.{format_path([name])}"
        if name in services or name in (CLIENT, REGISTRY):
            problems.append(
                f"{path}: {name!r} is already the name of a "
                f"{'service' if name in services else 'caller'}; a consumer is the caller on "
                "its hops and needs a name of its own"
            )
        queue = consumer.queue
        if queue not in services or services[queue].kind != "queue":
            what = "is not a service" if queue not in services else "is not a queue"
            known = _known(queues, "queues") if queues else "add a service with kind = 'queue'"
            problems.append(f"{path}.queue: {queue!r} {what}; {known}")
        else:
            read.add(queue)
        targets = [("service", "route", consumer.service, consumer.route)]
        if consumer.notify is not None:
            targets.append(
                ("notify.service", "notify.route", consumer.notify.service, consumer.notify.route)
            )
        for service_key, route_key, service, route in targets:
            if service not in services:
                problems.append(
                    f"{path}.{service_key}: {service!r} is not a service; "
                    f"{_known(services, 'services')}"
                )
            elif services[service].kind == "queue":
                problems.append(
                    f"{path}.{service_key}: {service!r} is a queue; a consumer calls a worker "
                    "service (publish to another queue from that service's route)"
                )
            elif route not in routes[service]:
                problems.append(
                    f"{path}.{route_key}: route {route!r} does not exist on {service!r}; "
                    f"{_known(routes[service], 'routes of ' + service)}"
                )
    for name in queues:
        if name not in read:
            problems.append(
                f"services.{format_path([name])}: queue {name!r} has no consumer; its messages "
                f"would never leave it; add [consumers.worker] with queue = {name!r}"
            )
    return problems


def _check_fault(path: str, fault, scenario: Scenario) -> list[str]:
    place = fault.place
    kind, name, index = place.kind, place.service, place.instance
    allowed = _FAULT_TARGETS[fault.kind]
    services = scenario.services
    if kind not in allowed:
        return [
            f"{path}: {fault.target!r} is {_article(kind)}; {_article(fault.kind)} fault must "
            "target " + " or ".join(_article(target) for target in sorted(allowed))
        ]
    if place.hop is not None:
        if not _is_known(place.hop, services, scenario.consumers):
            return [f"{path}: {fault.target!r} is not a hop between known services"]
        return []
    if name not in services:
        return [f"{path}: {name!r} is not a service; {_known(services, 'services')}"]
    instances = services[name].instances
    if index is not None and not 0 <= index < instances:
        return [
            f"{path}: {fault.target!r} is not an instance; "
            f"must be {name}#0 to {name}#{instances - 1}"
        ]
    if isinstance(fault, CrashFault) and fault.count > instances:
        return [
            f"{path.rsplit('.', 1)[0]}.count: {fault.count} is not allowed; "
            f"{name!r} has {instances} instance(s)"
        ]
    return []


def _find_cycle(calls: dict[tuple[str, str], list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """A route-level call cycle, as the list of (service, route) on it, or [] if none."""
    state: dict[tuple[str, str], int] = {}
    stack: list[tuple[str, str]] = []

    def visit(node: tuple[str, str]) -> list[tuple[str, str]]:
        state[node] = 1
        stack.append(node)
        for nxt in calls.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in list(calls):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


__all__ = ["CLIENT", "CallStep", "check_references", "iter_calls"]
