from __future__ import annotations

import io
import json
import logging

import structlog

from openbank_kit.interaction import bind_tenant_id, request_context
from openbank_kit.logging import configure_logging


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_structlog_and_stdlib_lines_share_one_json_shape(log_stream: io.StringIO) -> None:
    with request_context("i-1"):
        bind_tenant_id("team-a")
        structlog.get_logger("kit.test").info("loan_decided", outcome="APPROVED")
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    structured, stdlib = _lines(log_stream)
    for line in (structured, stdlib):
        assert line["service"] == "kit-test"
        assert line["level"] == "info"
        assert line["interaction_id"] == "i-1"
        assert line["tenant_id"] == "team-a"
        assert "T" in line["timestamp"] and line["timestamp"].endswith("Z")
    assert structured["event"] == "loan_decided" and structured["outcome"] == "APPROVED"
    assert stdlib["event"] == "Started server process [42]"


def test_lines_outside_a_request_have_no_request_context(log_stream: io.StringIO) -> None:
    structlog.get_logger("kit.test").warning("startup")
    (line,) = _lines(log_stream)
    assert "interaction_id" not in line and "tenant_id" not in line
    assert line["level"] == "warning"


def test_level_filters_lines(log_stream: io.StringIO) -> None:
    structlog.get_logger("kit.test").debug("noise")
    assert log_stream.getvalue() == ""


def test_configure_logging_twice_does_not_double_lines(log_stream: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("kit-test-2", "INFO", json=True, stream=second)
    structlog.get_logger("kit.test").info("once")
    assert log_stream.getvalue() == ""
    (line,) = _lines(second)
    assert line["service"] == "kit-test-2"
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_openbank_log_handler", False)]
    assert len(ours) == 1


def test_console_mode_is_not_json(log_stream: io.StringIO) -> None:
    console = io.StringIO()
    configure_logging("kit-test", "INFO", json=False, stream=console)
    structlog.get_logger("kit.test").info("hello")
    assert "hello" in console.getvalue()
    assert not console.getvalue().lstrip().startswith("{")
