"""Redaction: personal data and secrets out, identifiers and ordinary text intact."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestration.config import load_settings
from orchestration.observability._logs import JsonFormatter, RedactingFilter
from orchestration.observability._redaction import Redactor, luhn_valid, redactor_for

CARD = "4111 1111 1111 1111"  # a Visa test number: passes Luhn
NOT_A_CARD = "4111 1111 1111 1112"  # one digit off: fails Luhn


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail [email] now"),
        (f"card {CARD} please", "card [card] please"),
        ("card 5500-0000-0000-0004.", "card [card]."),
        ("call +44 20 7946 0958 today", "call [phone] today"),
        ("call (555) 123-4567", "call [phone]"),
        ("key sk-proj-abcdefghijklmnop1234", "key [secret]"),
        ("key sk-ant-api03-AbCdEfGhIjKlMnOp", "key [secret]"),
        ("AKIAABCDEFGHIJKLMNOP leaked", "[secret] leaked"),
        ("Authorization: Bearer abc.def-ghi_jkl123", "Authorization: [secret]"),
        ('{"api_key": "hunter2-very"}', '{"api_key": "[secret]"}'),
        ("password=swordfish1&user=x", "password=[secret]&user=x"),
        ("ghp_" + "a" * 36, "[secret]"),
    ],
)
def test_personal_data_and_tokens_are_replaced(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "run 550e8400-e29b-41d4-a716-446655440000 step 12",
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
        "2026-11-24T13:36:57+00:00 took 1234.5 ms",
        f"order {NOT_A_CARD}",
        "ORD-1042 arrived with a cracked screen",
        "version 1.2.3 on port 5555",
    ],
)
def test_identifiers_and_ordinary_text_stay(text: str) -> None:
    assert Redactor().text(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


def test_the_settings_secrets_never_appear(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        openai_api_key=SecretStr("plainsecretvalue"),
        broker_url="redis://user:brokerpass@127.0.0.1:6379/0",
        flower_basic_auth=SecretStr("admin:flowerpass1"),
        alert_webhook_url=SecretStr("https://hooks.example/T0/abcdefsecret"),
    )
    redactor = redactor_for(settings)
    text = (
        "key plainsecretvalue, broker brokerpass, flower flowerpass1, "
        "hook https://hooks.example/T0/abcdefsecret"
    )
    out = redactor.text(text)
    for secret in ("plainsecretvalue", "brokerpass", "flowerpass1", "abcdefsecret"):
        assert secret not in out
    assert out.count("[secret]") == 4


def test_decoded_json_is_redacted_in_place_as_its_text_would_be() -> None:
    redactor = Redactor(["plainsecretvalue"])
    arguments = {
        "email": "jane.doe@example.com",
        "card": 4111111111111111,
        "amount_usd": 1249.0,
        "max_tokens": 64,
        "api_key": "abcd1234",
        "X-Auth-Token": {"nested": "value"},
        "password": None,
        "lines": ["call +44 20 7946 0958", "plainsecretvalue here", 7, True],
        "order_id": "ORD-1042",
    }
    assert redactor.data(arguments) == {
        "email": "[email]",
        "card": "[card]",
        "amount_usd": 1249.0,
        "max_tokens": 64,
        "api_key": "[secret]",
        "X-Auth-Token": "[secret]",
        "password": None,
        "lines": ["call [phone]", "[secret] here", 7, True],
        "order_id": "ORD-1042",
    }
    assert redactor.data("text a@b.co") == "text [email]"


def test_the_approval_webhook_settings_are_secrets(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        approval_webhook_url=SecretStr("https://hooks.example/T0/approvalsecret"),
        approval_webhook_secret=SecretStr("signing-secret-0123456789"),
    )
    out = redactor_for(settings).text(
        "hook https://hooks.example/T0/approvalsecret key signing-secret-0123456789"
    )
    assert "approvalsecret" not in out and "signing-secret" not in out


def test_spans_leave_redacted_attributes_events_and_status() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    from orchestration.observability._tracing import RedactingExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(memory, Redactor())))
    with provider.get_tracer("test").start_as_current_span("lookup a@b.io") as span:
        span.set_attributes({"to": ["a@b.io", "ok"], "tokens": 42, "flags": [True, False]})
        span.add_event("paid", {"card": CARD})
        span.set_status(Status(StatusCode.ERROR, "key sk-proj-abcdefghijklmnop1234 refused"))
    (out,) = memory.get_finished_spans()
    assert out.name == "lookup [email]"
    assert out.attributes is not None and tuple(out.attributes["to"]) == ("[email]", "ok")
    assert out.attributes["tokens"] == 42 and tuple(out.attributes["flags"]) == (True, False)
    assert out.events[0].attributes == {"card": "[card]"}
    assert out.status.description == "key [secret] refused"


def test_log_records_are_redacted_in_text_and_json(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, openai_api_key=SecretStr("plainsecretvalue"))
    record = logging.LogRecord(
        "chordline.test",
        logging.WARNING,
        __file__,
        1,
        "customer %s paid with %s using %s",
        ("jane@example.com", CARD, "plainsecretvalue"),
        None,
    )
    assert RedactingFilter(redactor_for(settings)).filter(record)
    line = JsonFormatter().format(record)
    assert "jane@example.com" not in line and "1111" not in line
    assert "plainsecretvalue" not in line
    assert '"message": "customer [email] paid with [card] using [secret]"' in line
