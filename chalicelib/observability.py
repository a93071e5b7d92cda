"""Logs, metrics and traces of every request (aws-lambda-powertools).

One powertools ``Logger``, one metrics emitter and, with ``FRS_TRACING`` on,
one ``Tracer`` per process, registered on the Chalice app as middleware by
``register(app)`` (app.py) for every route and for the ``bulk_import``
function, the way Chalice documents it (``ConvertToMiddleware`` around the
powertools decorators, plus one middleware of ours for the request line):

* **Logs**: one line per request (``message: "request"``) with the
  ``X-Request-Id`` we answered, route, project id, status, FRS error code,
  latency and the Lambda context; JSON on Lambda, the same keys on one
  readable line locally (``FRS_LOG_FORMAT``). The records of every
  ``chalicelib.*`` logger go through the same handler. Nothing from the body
  is ever logged: no image, vector, token, SK or password.
* **Metrics**: CloudWatch embedded metric format (EMF) lines on stdout, which
  CloudWatch turns into metrics on Lambda and which print the same locally:
  ``Latency``/``Requests`` per route and per route + status class,
  ``FacesDetected`` per request, ``SearchLatency`` by store backend,
  ``ModelLoadTime`` per model (models load on a container's first use),
  ``FrsErrors`` by FRS error code, powertools' ``ColdStart``.
* **Traces**: X-Ray subsegments for decode, detect, embed, the store query and
  S3 reads (``traced``/``span``). Off (locally by default), ``traced`` hands
  back the undecorated function and ``span`` a shared null context, and
  aws_xray_sdk is never imported.

``FRS_OBSERVABILITY=off`` leaves powertools out entirely (for measuring its
cost, bench/cold_start.py). Lower layers (vision, store, inference) only call
the ``note_*`` hooks and ``traced``/``span``: each is a no-op outside a
request, so CLIs, benchmarks and tests that call services directly print no
metric lines.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.config import settings

F = TypeVar("F", bound=Callable[..., Any])

# Loggers whose records the powertools handler also formats (its own logger
# is named after the service, "openfrs", which http.py and iam.py log to).
OUR_LOGGERS = ("chalicelib",)
NULL_SPAN = contextlib.nullcontext()


@dataclass
class _Scope:
    """What the lower layers noted during one request."""
    request_id: str | None = None
    faces: int | None = None
    searches: list[tuple[str, float]] = field(default_factory=list)
    model_loads: list[tuple[str, float]] = field(default_factory=list)


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("frs_request_scope", default=None)
_cfg = settings()
# Decided once, at import, so that decorated functions are plain functions when off.
TRACING = _cfg.observability and _cfg.tracing
_tracer: Any = None
_logger: Any = None


# --------------------------------------------------------------------------
# Hooks for the lower layers (cheap no-ops outside a request)
def bind_request_id(rid: str) -> None:
    """The request's X-Request-Id (chalicelib.api.http makes it): every log
    line of the rest of the request carries it, not only the request line."""
    s = _scope.get()
    if s is not None and s.request_id is None:
        s.request_id = rid
        if _logger is not None:
            _logger.thread_safe_append_keys(request_id=rid)


def note_faces(n: int) -> None:
    """Faces detected in one image of this request (summed per request)."""
    s = _scope.get()
    if s is not None:
        s.faces = (s.faces or 0) + int(n)


def note_search(backend: str, seconds: float) -> None:
    s = _scope.get()
    if s is not None:
        s.searches.append((backend, seconds))


def note_model_load(model: str, seconds: float) -> None:
    s = _scope.get()
    if s is not None:
        s.model_loads.append((model, seconds))


def tracer() -> Any:
    """The powertools Tracer (created on first use, only with tracing on)."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer
        # Only botocore (S3, SSM, DynamoDB calls): patching everything would
        # also trace each SQLite statement and HTTP call (measured: +47 ms
        # per detect, +105 ms per search, docs/operations.md).
        _tracer = Tracer(service=_cfg.service_name, patch_modules=["botocore"])
    return _tracer


def traced(name: str) -> Callable[[F], F]:
    """Decorator: run the function in an X-Ray subsegment ``name``. With
    tracing off the function itself is returned (no wrapper, no cost). The
    return value and arguments are never recorded (images, vectors)."""
    def decorator(fn: F) -> F:
        if not TRACING:
            return fn

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer().provider.in_subsegment(name):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorator


def span(name: str) -> contextlib.AbstractContextManager:
    """Context manager form of ``traced`` for a block (store query, S3 read)."""
    if not TRACING:
        return NULL_SPAN
    return tracer().provider.in_subsegment(name)


# --------------------------------------------------------------------------
# Log formatting
def _formatter(fmt: str) -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class ReadableFormatter(LambdaPowertoolsFormatter):
        """The JSON line's keys as ``time LEVEL message key=value ...``."""

        def serialize(self, log: dict) -> str:  # type: ignore[override]
            head = " ".join(str(log.pop(k, "")) for k in ("timestamp", "level", "message"))
            log.pop("service", None)
            trace = log.pop("exception", None)  # a traceback reads best on its own lines
            log.pop("stack_trace", None)  # the same traceback, structured for JSON
            rest = " ".join(f"{k}={_text(v)}" for k, v in log.items() if v is not None)
            return f"{head} {rest}".rstrip() + (f"\n{trace}" if trace else "")

    return ReadableFormatter() if fmt == "text" else LambdaPowertoolsFormatter()


def _text(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return json.dumps(s) if (" " in s or not s) else s


def logger() -> Any:
    """The powertools Logger of the service (created by ``register``)."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.logging.filters import SuppressFilter
        _logger = Logger(service=_cfg.service_name, level=_cfg.log_level,
                         logger_formatter=_formatter(_cfg.log_format))
        for name in OUR_LOGGERS:
            std = logging.getLogger(name)
            std.setLevel(_cfg.log_level)
            if _logger.logger_handler not in std.handlers:
                std.addHandler(_logger.logger_handler)
            # As powertools does for its own logger: the Lambda runtime's root
            # handler would print each record a second time, unformatted.
            for handler in logging.root.handlers:
                if type(handler).__module__ != "_pytest.logging":
                    handler.addFilter(SuppressFilter(name))
    return _logger


# --------------------------------------------------------------------------
# Middleware
def register(app: Any) -> None:
    """Register logging, metrics (and tracing) on ``app``: HTTP routes and
    pure Lambda functions (bulk_import). Nothing when FRS_OBSERVABILITY=off."""
    if not _cfg.observability:
        return
    from aws_lambda_powertools.logging import correlation_paths
    from chalice import ConvertToMiddleware

    log = logger()
    app.register_middleware(ConvertToMiddleware(
        log.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)),
        "http")
    app.register_middleware(ConvertToMiddleware(log.inject_lambda_context(clear_state=True)), "pure_lambda")
    if TRACING:
        # capture_response=False: a response holds vectors and boxes.
        app.register_middleware(ConvertToMiddleware(
            tracer().capture_lambda_handler(capture_response=False)), "all")
    app.register_middleware(_http_middleware, "http")
    app.register_middleware(_function_middleware, "pure_lambda")


_cold = True


def _metrics(context: Any) -> Any:
    """A per-invocation EMF emitter (EphemeralMetrics: nothing shared between
    chalice local's request threads), with powertools' ColdStart on the first."""
    global _cold
    from aws_lambda_powertools.metrics import EphemeralMetrics
    m = EphemeralMetrics(namespace=_cfg.metrics_namespace, service=_cfg.service_name)
    if _cold:
        _cold = False
        if context is not None:
            m.add_cold_start_metric(context)
    return m


def _http_middleware(request: Any, get_response: Callable[[Any], Any]) -> Any:
    start = time.perf_counter()
    scope = _Scope()
    token = _scope.set(scope)
    try:
        response = get_response(request)
    finally:
        _scope.reset(token)
    latency_ms = (time.perf_counter() - start) * 1000.0
    if scope.request_id is not None:
        logger().thread_safe_remove_keys(["request_id"])
    ctx = request.context or {}
    route = f"{request.method} {ctx.get('resourcePath') or request.path}"
    status = int(response.status_code)
    code = _error_code(response.body) if status >= 400 else None
    logger().info("request", extra={
        "request_id": response.headers.get("X-Request-Id"), "route": route,
        "project_id": (request.uri_params or {}).get("project_id"), "status": status,
        "error_code": code, "latency_ms": round(latency_ms, 2)})
    _emit(route, status, code, latency_ms, scope, getattr(request, "lambda_context", None))
    return response


def _function_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    start = time.perf_counter()
    scope = _Scope()
    token = _scope.set(scope)
    status = 200
    try:
        return get_response(event)
    except Exception:
        status = 500
        raise
    finally:
        _scope.reset(token)
        latency_ms = (time.perf_counter() - start) * 1000.0
        name = getattr(event.context, "function_name", None) or "lambda_function"
        logger().info("invocation", extra={"route": name, "status": status,
                                           "latency_ms": round(latency_ms, 2)})
        _emit(name, status, None, latency_ms, scope, event.context)


def _error_code(body: Any) -> str | None:
    """FRS/IAM error code of an error response (``{"error_code": ...}``, or
    IAM's ``{"error": {"code"...}}``); never anything else of the body."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.startswith("{"):
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    code = doc.get("error_code")
    if code is None and isinstance(doc.get("error"), dict):
        code = doc["error"].get("code")
    return str(code) if isinstance(code, (str, int)) else None


def _emit(route: str, status: int, code: str | None, latency_ms: float, scope: _Scope,
          context: Any) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    svc, ns = _cfg.service_name, _cfg.metrics_namespace
    m = _metrics(context)
    m.add_dimension("route", route)
    m.add_dimensions(service=svc, route=route, status_class=f"{status // 100}xx")
    m.add_metric("Latency", MetricUnit.Milliseconds, latency_ms)
    m.add_metric("Requests", MetricUnit.Count, 1)
    if scope.faces is not None:
        m.add_metric("FacesDetected", MetricUnit.Count, scope.faces)
    m.flush_metrics()
    ms = MetricUnit.Milliseconds
    extra = [("SearchLatency", "backend", b, s * 1000.0, ms) for b, s in scope.searches]
    extra += [("ModelLoadTime", "model", n, s * 1000.0, ms) for n, s in scope.model_loads]
    if code:
        extra.append(("FrsErrors", "error_code", code, 1, MetricUnit.Count))
    for name, dim, value, amount, unit in extra:
        with single_metric(name=name, unit=unit, value=amount, namespace=ns) as one:
            one.add_dimension("service", svc)
            one.add_dimension(dim, value)


@contextlib.contextmanager
def request_scope() -> Iterator[_Scope]:
    """A request scope outside the middleware (tests of the hooks)."""
    scope = _Scope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
