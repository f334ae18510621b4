"""Logging for ``wtp-oauth serve``: text or one JSON object per line (SPEC §16).

Every record carries the id of the request being served (:data:`request_id`, set by
``wtp_oauth.metrics.Observability``), uvicorn's access log included. No log line may hold a
password, secret, code or token: the access log's query strings have the values of sensitive
parameters replaced by ``***`` (a code in a URL, a token sent as a query parameter by a
careless client).
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode

#: The current request's id ("-" outside a request).
request_id: ContextVar[str] = ContextVar("wtp_request_id", default="-")

#: Query parameters whose values never reach a log (RFC 6749, RFC 7636, RFC 7009, RFC 8628).
SENSITIVE_PARAMETERS = frozenset(
    {
        "access_token",
        "client_secret",
        "code",
        "code_verifier",
        "device_code",
        "id_token",
        "password",
        "refresh_token",
        "secret",
        "token",
    }
)
REDACTED = "***"


def scrub_target(target: str) -> str:
    """``target`` (a path and query) with the values of sensitive parameters hidden."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SENSITIVE_PARAMETERS for name, _ in pairs):
        return target
    scrubbed = [
        (name, REDACTED if name.lower() in SENSITIVE_PARAMETERS else value) for name, value in pairs
    ]
    return f"{path}?{urlencode(scrubbed, safe='*')}"


class RequestContext(logging.Filter):
    """Adds ``request_id`` to every record and scrubs uvicorn's access log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            args = list(record.args)
            if len(args) == 5 and isinstance(args[2], str):
                args[2] = scrub_target(args[2])
                record.args = tuple(args)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and for the access
    log the client, method, path and status as fields of their own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, http_version, status = args
            entry.update(
                client=client, method=method, path=path, http_version=http_version, status=status
            )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and the application, in ``log_format``
    (``text``: uvicorn's own lines; ``json``); each worker applies it when it starts."""
    if log_format == "json":
        default: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"}
        access: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"}
    else:
        default = {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"}
        access = {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": f"{__name__}.RequestContext"}},
        "formatters": {"default": default, "access": access},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["request"],
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "wtp_oauth": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }
