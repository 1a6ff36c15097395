"""One call to an OpenAI-compatible Chat Completions endpoint that returns a validated script.

The official ``openai`` client does the HTTP; its own retries are switched off (``max_retries=0``)
and this module retries instead, so that every attempt is counted (the count is stored with the
script and shown to reviewers) and the policy is ours:

* retried: HTTP 429 (honouring ``Retry-After`` / ``retry-after-ms`` up to
  ``LlmSettings.max_retry_after_seconds``), 408, 409, every 5xx, connection errors, timeouts;
  back-off is exponential with jitter, ``backoff_base_seconds * 2**n``, capped;
* not retried: any other 4xx (a bad request stays bad; a wrong key stays wrong);
* a 429 whose ``Retry-After`` is longer than the cap is not slept through: the call fails at
  once with a retryable :class:`LlmError` so that the Celery task can retry later instead of
  holding a worker.

The model's reply is parsed as JSON and validated against
:data:`remediation.llm.prompt.SCRIPT_RESPONSE_SCHEMA`; anything malformed, empty or in the wrong
language raises :class:`LlmOutputError`, which carries the token usage so the spend is not lost.

Settings arrive as an :class:`LlmSettings` value (Django settings build it; nothing here reads
the environment or imports Django).
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import jsonschema
import openai

from remediation.llm.prompt import (
    SCRIPT_LANGUAGES,
    SCRIPT_RESPONSE_SCHEMA,
    SCRIPT_RESPONSE_SCHEMA_NAME,
)

logger = logging.getLogger(__name__)

#: Sent as the API key when only a base URL is configured: compatible servers (vLLM, Ollama,
#: llama.cpp) usually need none, but the client refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"

#: Longest back-off between two attempts, whatever the attempt number.
MAX_BACKOFF_SECONDS = 30.0

#: Status codes worth another attempt besides 429 and 5xx.
_RETRYABLE_STATUS = frozenset({408, 409})

#: How much of a bad reply an LlmOutputError keeps, for the reviewer.
_RAW_OUTPUT_KEPT = 2000

T = TypeVar("T")


@dataclass(frozen=True)
class LlmSettings:
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    model: str = "gpt-4o"
    timeout_seconds: float = 60
    #: Retries after the first attempt; attempts = max_retries + 1 at most.
    max_retries: int = 4
    backoff_base_seconds: float = 1.0
    #: USD per million prompt / completion tokens; cost is None unless both are set.
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None
    #: Longest Retry-After the client will sleep through.
    max_retry_after_seconds: float = 60.0
    #: Cap on the reply length; None leaves it to the server.
    max_output_tokens: int | None = None
    embedding_model: str = "text-embedding-3-small"

    @property
    def enabled(self) -> bool:
        return bool(self.api_key) or bool(self.base_url)

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.input_cost_per_mtok is None or self.output_cost_per_mtok is None:
            return None
        return (prompt_tokens * self.input_cost_per_mtok + completion_tokens * self.output_cost_per_mtok) / 1_000_000


@dataclass(frozen=True)
class LlmScript:
    script: str
    language: str
    rollback_script: str
    explanation: str
    assumptions: list[str]
    expected_effects: list[str]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    #: HTTP attempts made, the successful one included.
    attempts: int


class LlmError(Exception):
    """The LLM call failed. ``retryable`` says whether trying again later may succeed."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        self.attempts = attempts


class LlmOutputError(LlmError):
    """The model answered, but not with a usable script (malformed, schema-violating, empty)."""

    def __init__(
        self,
        message: str,
        *,
        raw_output: str = "",
        model: str = "",
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float | None = None,
        attempts: int = 0,
    ) -> None:
        # Not retryable by default: the same prompt tends to give the same mistake; a caller that
        # wants another try feeds the error back as a repair round.
        super().__init__(message, retryable=False, attempts=attempts)
        self.raw_output = raw_output[:_RAW_OUTPUT_KEPT]
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cost_usd = cost_usd


def build_client(settings: LlmSettings) -> openai.OpenAI:
    """An OpenAI client with its own retries off; ours count and classify every attempt."""
    if not settings.enabled:
        raise LlmError("No LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL.", retryable=False)
    return openai.OpenAI(
        # Always pass a key: with None the client would read OPENAI_API_KEY from the environment
        # behind the caller's back.
        api_key=settings.api_key or PLACEHOLDER_API_KEY,
        base_url=settings.base_url or None,
        timeout=settings.timeout_seconds,
        max_retries=0,
    )


def _retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(header)
        if raw is None:
            continue
        try:
            value = float(raw) / divisor
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if header == "retry-after" else None
            if parsed is None:
                continue
            value = parsed.timestamp() - time.time()
        if math.isfinite(value):
            return max(value, 0.0)
    return None


def _backoff_seconds(settings: LlmSettings, retry_number: int) -> float:
    """Exponential back-off with "equal jitter": half fixed, half random, so retries spread out."""
    ceiling = min(MAX_BACKOFF_SECONDS, settings.backoff_base_seconds * (2 ** (retry_number - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class _Failure:
    error: LlmError
    #: Delay the server asked for, if any.
    retry_after: float | None = None


def _classify(exc: openai.OpenAIError) -> _Failure:
    if isinstance(exc, openai.APITimeoutError):
        return _Failure(LlmError(f"LLM request timed out: {exc}", retryable=True))
    if isinstance(exc, openai.APIConnectionError):
        return _Failure(LlmError(f"Could not reach the LLM endpoint: {exc}", retryable=True))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status == 429 or status >= 500 or status in _RETRYABLE_STATUS
        retry_after = _retry_after_seconds(exc.response.headers) if status in (429, 503) else None
        return _Failure(
            LlmError(
                f"LLM endpoint answered HTTP {status}: {exc.message}",
                retryable=retryable,
                status_code=status,
            ),
            retry_after=retry_after,
        )
    return _Failure(LlmError(f"LLM client error: {exc}", retryable=False))


def call_with_retries(settings: LlmSettings, operation: Callable[[openai.OpenAI], T]) -> tuple[T, int]:
    """Run ``operation`` with a fresh client, retrying transient failures; return (result, attempts)."""
    client = build_client(settings)
    try:
        attempt = 0
        while True:
            attempt += 1
            try:
                return operation(client), attempt
            except openai.OpenAIError as exc:
                failure = _classify(exc)
            error = failure.error
            error.attempts = attempt
            if not error.retryable or attempt > settings.max_retries:
                raise error
            if failure.retry_after is not None:
                if failure.retry_after > settings.max_retry_after_seconds:
                    # Sleeping minutes inside a worker helps nobody: let the task queue retry later.
                    raise LlmError(
                        f"{error} (server asked to wait {failure.retry_after:.0f}s, longer than "
                        f"{settings.max_retry_after_seconds:.0f}s)",
                        retryable=True,
                        status_code=error.status_code,
                        attempts=attempt,
                    )
                delay = failure.retry_after
            else:
                delay = _backoff_seconds(settings, attempt)
            logger.warning("LLM attempt %d failed (%s); retrying in %.2fs", attempt, error, delay)
            time.sleep(delay)
    finally:
        client.close()


def _string_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def parse_script_output(content: str | None, *, expected_language: str | None) -> dict[str, Any]:
    """Decode and check the model's JSON reply; raise LlmOutputError (without usage) when unusable."""
    if content is None or not content.strip():
        raise LlmOutputError("The model returned no content.", raw_output=content or "")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise LlmOutputError(f"The model's reply is not valid JSON: {exc}", raw_output=content) from exc
    validator = jsonschema.Draft202012Validator(SCRIPT_RESPONSE_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        described = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5])
        raise LlmOutputError(
            f"The model's reply does not match the script schema: {described}",
            raw_output=content,
        )
    for required_text in ("script", "rollback_script"):
        if not data[required_text].strip():
            raise LlmOutputError(f"The model's reply has an empty {required_text}.", raw_output=content)
    if expected_language is not None and data["language"] != expected_language:
        raise LlmOutputError(
            f"The model wrote {data['language']!r} but {expected_language!r} was asked for.",
            raw_output=content,
        )
    return data


def generate_script(
    messages: Sequence[Mapping[str, str]],
    *,
    settings: LlmSettings,
    expected_language: str | None = None,
) -> LlmScript:
    """Ask the model for a script with structured output; retry transient failures.

    ``expected_language`` (one of :data:`SCRIPT_LANGUAGES`) makes a reply in another language an
    :class:`LlmOutputError`; pass the language the prompt asked for.
    """
    if expected_language is not None and expected_language not in SCRIPT_LANGUAGES:
        raise ValueError(f"Unknown script language {expected_language!r}; expected one of {SCRIPT_LANGUAGES}")
    request: dict[str, Any] = {
        "model": settings.model,
        "messages": [dict(message) for message in messages],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": SCRIPT_RESPONSE_SCHEMA_NAME,
                "strict": True,
                "schema": SCRIPT_RESPONSE_SCHEMA,
            },
        },
    }
    if settings.max_output_tokens is not None:
        request["max_completion_tokens"] = settings.max_output_tokens

    completion, attempts = call_with_retries(settings, lambda client: client.chat.completions.create(**request))

    usage = completion.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    cost = settings.cost_usd(prompt_tokens, completion_tokens) if usage else None
    model = completion.model or settings.model

    def output_error(message: str, raw_output: str = "") -> LlmOutputError:
        # Keeps the spend: a useless reply was still paid for.
        return LlmOutputError(
            message,
            raw_output=raw_output,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            attempts=attempts,
        )

    if not completion.choices:
        raise output_error("The model returned no choices.")
    choice = completion.choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise output_error(f"The model refused: {refusal}", str(refusal))
    if choice.finish_reason == "length":
        raise output_error("The model's reply was cut off at the token limit.", message.content or "")
    try:
        data = parse_script_output(message.content, expected_language=expected_language)
    except LlmOutputError as exc:
        raise output_error(str(exc), exc.raw_output) from exc

    return LlmScript(
        script=data["script"],
        language=data["language"],
        rollback_script=data["rollback_script"],
        explanation=data["explanation"],
        assumptions=_string_list(data["assumptions"]),
        expected_effects=_string_list(data["expected_effects"]),
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost,
        attempts=attempts,
    )


__all__ = [
    "PLACEHOLDER_API_KEY",
    "LlmError",
    "LlmOutputError",
    "LlmScript",
    "LlmSettings",
    "build_client",
    "call_with_retries",
    "generate_script",
    "parse_script_output",
]
