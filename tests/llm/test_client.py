"""generate_script over real HTTP, with the official openai client, against the local fake server."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from remediation.llm.client import (
    LlmError,
    LlmOutputError,
    LlmSettings,
    generate_script,
)
from remediation.llm.prompt import SCRIPT_RESPONSE_SCHEMA, PromptInputs, build_messages
from remediation.llm.scrub import scrub_rca
from tests.fakes.openai_server import (
    CHAT_PATH,
    CannedResponse,
    FakeOpenAIServer,
    chat_completion_body,
    error_body,
)

GOOD_ANSWER: dict[str, Any] = {
    "script": "#!/usr/bin/env bash\nset -euo pipefail\nchronyc -a makestep\n",
    "language": "bash",
    "rollback_script": "#!/usr/bin/env bash\nset -euo pipefail\nsystemctl restart chrony\n",
    "explanation": "Steps the clock once chrony has sources again.",
    "assumptions": ["chrony is the time daemon"],
    "expected_effects": ["clock offset below 100 ms"],
}

MESSAGES = [
    {"role": "system", "content": "You write scripts."},
    {"role": "user", "content": "Fix the clock."},
]


def ok(content: Any = None, **kwargs: Any) -> CannedResponse:
    return CannedResponse(body=chat_completion_body(GOOD_ANSWER if content is None else content, **kwargs))


def test_structured_output_is_parsed_into_a_script(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    openai_server.queue_chat(ok(prompt_tokens=1200, completion_tokens=300))

    result = generate_script(MESSAGES, settings=llm_settings, expected_language="bash")

    assert result.script == GOOD_ANSWER["script"]
    assert result.rollback_script == GOOD_ANSWER["rollback_script"]
    assert result.language == "bash"
    assert result.assumptions == ["chrony is the time daemon"]
    assert result.expected_effects == ["clock offset below 100 ms"]
    assert result.model == "gpt-4o-2024-08-06"
    assert result.attempts == 1
    # Usage and cost: 1200 * 2.5 / 1e6 + 300 * 10 / 1e6
    assert (result.prompt_tokens, result.completion_tokens) == (1200, 300)
    assert result.cost_usd == pytest.approx(0.006)


def test_request_asks_for_strict_json_schema_output(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    openai_server.queue_chat(ok())
    generate_script(MESSAGES, settings=llm_settings)

    (request,) = openai_server.requests_to(CHAT_PATH)
    body = request.json
    assert body["model"] == "gpt-4o"
    assert body["messages"] == MESSAGES
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"] == SCRIPT_RESPONSE_SCHEMA
    assert request.headers["authorization"] == "Bearer sk-test-not-a-real-key"


def test_no_cost_without_prices(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    openai_server.queue_chat(ok())
    settings = dataclasses.replace(llm_settings, input_cost_per_mtok=None, output_cost_per_mtok=None)
    result = generate_script(MESSAGES, settings=settings)
    assert result.cost_usd is None
    assert result.prompt_tokens == 100


def test_base_url_without_api_key_works(openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # A key in the environment must not be picked up behind the settings' back either.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-environment")
    settings = LlmSettings(api_key=None, base_url=openai_server.base_url, backoff_base_seconds=0.001)
    assert settings.enabled
    openai_server.queue_chat(ok())

    result = generate_script(MESSAGES, settings=settings)

    assert result.script == GOOD_ANSWER["script"]
    (request,) = openai_server.requests
    assert "sk-from-environment" not in request.headers.get("authorization", "")


def test_not_configured_is_a_clear_non_retryable_error() -> None:
    settings = LlmSettings(api_key=None, base_url=None)
    assert not settings.enabled
    with pytest.raises(LlmError) as caught:
        generate_script(MESSAGES, settings=settings)
    assert caught.value.retryable is False


def test_429_is_retried_after_the_servers_retry_after(
    openai_server: FakeOpenAIServer, llm_settings: LlmSettings
) -> None:
    openai_server.queue_chat(
        CannedResponse(
            status=429,
            body=error_body("Rate limit reached", error_type="requests", code="rate_limit_exceeded"),
            headers={"Retry-After": "0.3"},
        ),
        ok(),
    )

    result = generate_script(MESSAGES, settings=llm_settings)

    assert result.attempts == 2
    first, second = openai_server.requests_to(CHAT_PATH)
    # The back-off base is 1 ms; only Retry-After explains a 0.3 s gap.
    assert second.received_at - first.received_at >= 0.3
    assert second.received_at - first.received_at < 3


def test_retry_after_ms_is_understood(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    openai_server.queue_chat(
        CannedResponse(status=429, body=error_body("slow down"), headers={"retry-after-ms": "200"}),
        ok(),
    )
    result = generate_script(MESSAGES, settings=llm_settings)
    first, second = openai_server.requests_to(CHAT_PATH)
    assert result.attempts == 2
    assert second.received_at - first.received_at >= 0.2


def test_retry_after_longer_than_the_cap_fails_fast_but_retryable(
    openai_server: FakeOpenAIServer, llm_settings: LlmSettings
) -> None:
    openai_server.queue_chat(
        CannedResponse(status=429, body=error_body("quota"), headers={"Retry-After": "3600"}),
        ok(),
    )
    started = time.monotonic()
    with pytest.raises(LlmError) as caught:
        generate_script(MESSAGES, settings=llm_settings)
    assert time.monotonic() - started < 2
    assert caught.value.retryable is True
    assert caught.value.status_code == 429
    assert len(openai_server.requests) == 1


def test_persistent_500_gives_up_after_max_retries(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    failure = CannedResponse(status=500, body=error_body("The server had an error"))
    openai_server.queue_chat(*[failure] * 10)

    with pytest.raises(LlmError) as caught:
        generate_script(MESSAGES, settings=llm_settings)

    assert not isinstance(caught.value, LlmOutputError)
    assert caught.value.retryable is True
    assert caught.value.status_code == 500
    assert caught.value.attempts == llm_settings.max_retries + 1
    assert len(openai_server.requests) == llm_settings.max_retries + 1


def test_500_then_success(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    openai_server.queue_chat(
        CannedResponse(status=502, body="<html>bad gateway</html>"),
        CannedResponse(status=500, body=error_body("oops")),
        ok(),
    )
    assert generate_script(MESSAGES, settings=llm_settings).attempts == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(openai_server: FakeOpenAIServer, llm_settings: LlmSettings, status: int) -> None:
    openai_server.queue_chat(
        CannedResponse(
            status=status,
            body=error_body("bad request", error_type="invalid_request_error"),
        ),
        ok(),
    )

    with pytest.raises(LlmError) as caught:
        generate_script(MESSAGES, settings=llm_settings)

    assert caught.value.retryable is False
    assert caught.value.status_code == status
    assert caught.value.attempts == 1
    assert len(openai_server.requests) == 1


def test_timeout_is_retried(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    settings = dataclasses.replace(llm_settings, timeout_seconds=0.3)
    openai_server.queue_chat(CannedResponse(body=chat_completion_body(GOOD_ANSWER), delay_seconds=1.5), ok())

    result = generate_script(MESSAGES, settings=settings)

    assert result.attempts == 2
    assert len(openai_server.requests) == 2


def test_timeouts_every_time_end_in_a_retryable_error(
    openai_server: FakeOpenAIServer, llm_settings: LlmSettings
) -> None:
    settings = dataclasses.replace(llm_settings, timeout_seconds=0.2, max_retries=1)
    slow = CannedResponse(body=chat_completion_body(GOOD_ANSWER), delay_seconds=1.0)
    openai_server.queue_chat(slow, slow)
    with pytest.raises(LlmError) as caught:
        generate_script(MESSAGES, settings=settings)
    assert caught.value.retryable is True
    assert caught.value.attempts == 2
    assert "timed out" in str(caught.value)


def test_connection_refused_is_retryable(llm_settings: LlmSettings) -> None:
    server = FakeOpenAIServer().start()
    dead_url = server.base_url
    server.stop()
    settings = dataclasses.replace(llm_settings, base_url=dead_url, max_retries=1)
    with pytest.raises(LlmError) as caught:
        generate_script(MESSAGES, settings=settings)
    assert caught.value.retryable is True
    assert caught.value.attempts == 2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"script": "echo hi", "language": "bash"', "not valid JSON"),
        ("Sure! Here is your script: echo hi", "not valid JSON"),
        (
            {k: v for k, v in GOOD_ANSWER.items() if k != "rollback_script"},
            "rollback_script",
        ),
        ({**GOOD_ANSWER, "rollback_script": "   "}, "empty rollback_script"),
        ({**GOOD_ANSWER, "script": ""}, "empty script"),
        ({**GOOD_ANSWER, "language": "python"}, "'python' but 'bash'"),
        ({**GOOD_ANSWER, "language": "perl"}, "language"),
        ({**GOOD_ANSWER, "confidence": "HIGH"}, "Additional properties"),
        ({**GOOD_ANSWER, "assumptions": "none"}, "assumptions"),
        (None, "no content"),
    ],
)
def test_unusable_output_is_an_output_error_that_keeps_the_spend(
    openai_server: FakeOpenAIServer,
    llm_settings: LlmSettings,
    content: Any,
    reason: str,
) -> None:
    body = chat_completion_body(content, prompt_tokens=1000, completion_tokens=100)
    openai_server.queue_chat(CannedResponse(body=body))

    with pytest.raises(LlmOutputError) as caught:
        generate_script(MESSAGES, settings=llm_settings, expected_language="bash")

    error = caught.value
    assert reason in str(error)
    assert error.retryable is False
    assert (error.prompt_tokens, error.completion_tokens) == (1000, 100)
    assert error.cost_usd == pytest.approx(0.0035)
    assert len(openai_server.requests) == 1  # malformed output is not an HTTP retry


def test_refusal_and_truncation_are_output_errors(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    openai_server.queue_chat(
        CannedResponse(body=chat_completion_body(None, refusal="I can't help with that.")),
        CannedResponse(body=chat_completion_body('{"script": "echo', finish_reason="length")),
    )
    with pytest.raises(LlmOutputError, match="refused"):
        generate_script(MESSAGES, settings=llm_settings)
    with pytest.raises(LlmOutputError, match="cut off"):
        generate_script(MESSAGES, settings=llm_settings)


AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PRIVATE_KEY_BODY = "MIIEpAIBAAKCAQEAx3kq8Zb0vYQ2xJ9gT5mN7hP4rL6sW1dC8fE3jK0uV2yB5nQ"
PASSWORD = "Winter2026!Prod"
BEARER = "tok_9f8e7d6c5b4a39281706f5e4"
EMAIL = "oncall.lead@example.com"


def test_planted_secrets_never_reach_the_server(
    openai_server: FakeOpenAIServer,
    llm_settings: LlmSettings,
    example_rca: Callable[[str], dict[str, Any]],
) -> None:
    rca = example_rca("disk_full_app_cache")
    rca["summary"] += f" Reported by {EMAIL}."
    rca["evidence"] = [
        *rca["evidence"],
        {"kind": "log", "text": f"aws s3 sync failed for key {AWS_KEY}"},
        {
            "kind": "log",
            "text": f"-----BEGIN PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END PRIVATE KEY-----",
        },
        {
            "kind": "log",
            "text": f"cache-warmer: redis AUTH password={PASSWORD} rejected",
        },
        {"kind": "trace", "text": f"POST /purge Authorization: Bearer {BEARER} 401"},
    ]
    scrubbed, redactions = scrub_rca(rca)
    inputs = PromptInputs(
        rca=scrubbed,
        language="bash",
        target_system="linux",
        budget={"max_execution_seconds": 300},
        forbidden_operations=("rm -rf /",),
        closest_template=None,
        similar_scripts=(),
    )
    openai_server.queue_chat(ok())

    generate_script(build_messages(inputs), settings=llm_settings, expected_language="bash")

    (request,) = openai_server.requests
    sent = request.raw_body.decode()
    for secret in (AWS_KEY, PRIVATE_KEY_BODY, PASSWORD, BEARER, EMAIL):
        assert secret not in sent
        assert json.dumps(secret)[1:-1] not in sent
    # ...while the facts the script needs still went through.
    assert "/var/cache/checkout" in sent
    kinds = {r.kind for r in redactions}
    assert {
        "aws_access_key",
        "private_key",
        "password",
        "bearer_token",
        "email",
    } <= kinds
    for redaction in redactions:
        assert redaction.path.startswith(("evidence[", "summary"))
