"""Friendly validation errors: one line per problem, naming the key, the value, what is allowed."""

from __future__ import annotations

import difflib
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

# Keys of real libraries (opossum, resilience4j, Hystrix, Polly, gRPC, Envoy, Node http.Agent,
# AWS SDK, pybreaker; see docs/policies.md) -> our key, for "did you mean" on an unknown key.
LIBRARY_KEYS: dict[str, str] = {
    "errorThresholdPercentage": "failure_rate_threshold",
    "failureRateThreshold": "failure_rate_threshold",
    "FailureRatio": "failure_rate_threshold",
    "resetTimeout": "half_open_after",
    "reset_timeout": "half_open_after",
    "waitDurationInOpenState": "half_open_after",
    "sleepWindowInMilliseconds": "half_open_after",
    "BreakDuration": "half_open_after",
    "volumeThreshold": "minimum_calls",
    "minimumNumberOfCalls": "minimum_calls",
    "requestVolumeThreshold": "minimum_calls",
    "MinimumThroughput": "minimum_calls",
    "fail_max": "consecutive_failures",
    "rollingCountTimeout": "window_duration",
    "SamplingDuration": "window_duration",
    "rollingCountBuckets": "window_buckets",
    "slidingWindowSize": "window_size",
    "slidingWindowType": "window",
    "permittedNumberOfCallsInHalfOpenState": "half_open_probes",
    "slowCallDurationThreshold": "slow_call_duration",
    "slowCallRateThreshold": "slow_call_rate_threshold",
    "maxAttempts": "max_attempts",
    "MaxRetryAttempts": "retries",
    "num_retries": "retries",
    "retryExceptions": "retry_on",
    "retryableStatusCodes": "retry_on",
    "ShouldRetryAfterHeader": "honour_retry_after",
    "waitDuration": "base",
    "initialBackoff": "base",
    "base_interval": "base",
    "exponentialBackoffMultiplier": "multiplier",
    "backoffMultiplier": "multiplier",
    "maxBackoff": "cap",
    "max_interval": "cap",
    "MaxDelay": "cap",
    "maxConcurrentCalls": "max_concurrent",
    "maxConcurrentRequests": "max_concurrent",
    "max_requests": "max_concurrent",
    "maxWaitDuration": "max_wait",
    "hedgingDelay": "delay",
    "MaxHedgedAttempts": "max_hedges",
    "nonFatalStatusCodes": "non_fatal",
    "keepAlive": "keep_alive",
    "maxSockets": "max_sockets",
    "max_connections": "max_sockets",
    "maxFreeSockets": "max_free_sockets",
    "max_pending_requests": "max_pending",
    "budgetPercent": "budget_percent",
    "minRetryConcurrency": "min_retry_concurrency",
    "maxTokens": "max_tokens",
    "tokenRatio": "token_ratio",
    "expiresIn": "expiry",
    "expirationSeconds": "expiry",
}
_LIBRARY_KEYS_FOLDED = {k.lower(): v for k, v in LIBRARY_KEYS.items()}


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, Annotated, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _container_item(annotation: Any) -> Any:
    """The item type of a list or dict annotation (through Optional and Annotated), else None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _container_item(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            item = _container_item(arg)
            if item is not None:
                return item
        return None
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


def _tag_of(model: type[BaseModel]) -> str | None:
    for key in ("dist", "kind"):
        field = model.model_fields.get(key)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return typing.get_args(field.annotation)[0]
    return None


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[str], list[type[BaseModel]]]:
    """The display path for ``loc`` (union tags and validator names dropped) and the models that
    could hold its last key (for "did you mean" suggestions)."""
    path: list[str] = []
    annotation: Any = root
    parents: list[type[BaseModel]] = [root]
    for part in loc:
        models = _models_in(annotation)
        tags = {_tag_of(m): m for m in models if _tag_of(m)}
        if isinstance(part, str) and part in tags and len(models) > 1:
            annotation = tags[part]
            continue
        if isinstance(part, str) and part.startswith(("function-", "tagged-union", "lax-")):
            continue
        path.append(str(part))
        if models:
            parents = models
            fields = {(f.alias or n): f for m in models for n, f in m.model_fields.items()}
            annotation = fields[part].annotation if part in fields else None
        else:
            annotation = _container_item(annotation)
    return path, parents


def _allowed_keys(models: list[type[BaseModel]]) -> list[str]:
    keys: list[str] = []
    for model in models:
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            key = field.alias or name
            if key not in keys:
                keys.append(key)
    return keys


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: dict[str, Any], parents: list[type[BaseModel]], key: str) -> str:
    """The part of the line after ``path:``."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(parents)
        ours = _LIBRARY_KEYS_FOLDED.get(key.lower())
        if ours in allowed:
            return f"unknown key (another library's name); did you mean {ours!r}?"
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "allowed keys: " + ", ".join(allowed)
        return f"unknown key; {hint}"
    if kind == "missing":
        return "is required"
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        op, name = bounds[kind]
        return f"{_show(value)} is not allowed; must be {op} {ctx.get(name)}"
    plain = {
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "finite_number": "a finite number (not nan or inf)",
        "bool_type": "true or false (not quoted)",
        "int_type": "an integer (not quoted, no decimal point)",
        "bool_parsing": "true or false",
        "string_type": "a string",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
        "list_type": "a list",
        "string_pattern_mismatch": "letters, digits, '_', '.' or '-'",
    }
    if kind in plain:
        return f"{_show(value)} is not allowed; must be {plain[kind]}"
    if kind == "literal_error":
        return f"{_show(value)} is not allowed; must be {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return f"{ctx.get('tag')!r} is not allowed; must be one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"needs the key {ctx.get('discriminator')}"
    if kind in ("too_short", "too_long") and ctx.get("actual_length") is None:
        if kind == "too_short":
            return f"has too few items; must have at least {ctx.get('min_length')}"
        return f"has too many items; must have at most {ctx.get('max_length')}"
    if kind in ("too_short", "too_long"):
        return f"has {ctx.get('actual_length')} item(s); " + (
            f"must have at least {ctx.get('min_length')}"
            if kind == "too_short"
            else f"must have at most {ctx.get('max_length')}"
        )
    if kind in ("string_too_short", "string_too_long"):
        return f"{_show(value)} is not allowed; " + (
            f"must have at least {ctx.get('min_length')} character(s)"
            if kind == "string_too_short"
            else f"must have at most {ctx.get('max_length')} characters"
        )
    message = str(error.get("msg", kind))
    return message.removeprefix("Value error, ")


def format_path(parts: list[str]) -> str:
    """Dotted path, quoting keys that are not bare TOML keys (``routes."POST /a".steps``)."""
    if not parts:
        return "(top level)"
    return ".".join(
        p if p.isascii() and p.replace("_", "").replace("-", "").isalnum() else json.dumps(p)
        for p in parts
    )


def format_validation_error(root: type[BaseModel], error: ValidationError | list[Any]) -> list[str]:
    """One line per pydantic error: ``path: value is not allowed; must be ...``."""
    lines: list[str] = []
    items = error.errors() if isinstance(error, ValidationError) else error
    for item in items:
        path, parents = _walk(root, tuple(item["loc"]))
        key = path[-1] if path else ""
        explanation = _explain(item, parents if item["type"] == "extra_forbidden" else [], key)
        if item["type"] == "extra_forbidden":
            _, parents = _walk(root, (*tuple(item["loc"][:-1]), "\x00"))
            explanation = _explain(item, parents, key)
        line = f"{format_path(path)}: {explanation}"
        if line not in lines:
            lines.append(line)
    return lines
