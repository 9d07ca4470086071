"""The application log as JSON lines (docs/architecture.md#application-log).

One object per record: time (UTC, ISO 8601), level, logger, message, and when known the
request's path, id and user id. JSON escapes every control character and everything outside
ASCII, so a path with an encoded line break ("%0d%0a") stays inside its own line and cannot
start a forged one.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.utils.functional import empty

from cases import events


def _user_id(user: Any) -> int | None:
    """The user's id if the request already read it: the log never queries the database."""
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)  # django.request and django.security set it
        info = events.current_request()
        path = getattr(request, "path", None)
        if path is not None:
            entry["path"] = str(path)
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if info is not None:
            entry["request_id"] = info.request_id
        user_id = _user_id(getattr(request, "user", None) if request is not None
                           else (info.user if info is not None else None))
        if user_id is not None:
            entry["user_id"] = user_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)
