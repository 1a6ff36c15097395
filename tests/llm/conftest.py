"""Fixtures for the LLM path: a local OpenAI-compatible server and settings pointing at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from remediation.llm.client import LlmSettings
from tests.fakes.openai_server import FakeOpenAIServer

REPO_ROOT = Path(__file__).resolve().parents[2]

#: shared/ sits beside the checkout, on developers' machines and in CI alike.
EXAMPLES_DIR = REPO_ROOT.parent / "shared" / "examples" / "rca"


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_settings(openai_server: FakeOpenAIServer) -> LlmSettings:
    """Settings for the fake server: tiny back-off so retry tests stay fast."""
    return LlmSettings(
        api_key="sk-test-not-a-real-key",
        base_url=openai_server.base_url,
        model="gpt-4o",
        timeout_seconds=5,
        max_retries=3,
        backoff_base_seconds=0.001,
        input_cost_per_mtok=2.5,
        output_cost_per_mtok=10.0,
    )


@pytest.fixture
def example_rca() -> Callable[[str], dict[str, Any]]:
    """Loads a sample RCA from shared/examples/rca by file stem."""

    def load(name: str) -> dict[str, Any]:
        path = EXAMPLES_DIR / f"{name}.json"
        assert path.exists(), f"shared example RCA {path} is missing"
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    return load


@pytest.fixture
def all_example_rcas() -> dict[str, dict[str, Any]]:
    paths = sorted(EXAMPLES_DIR.glob("*.json"))
    assert paths, f"no sample RCAs under {EXAMPLES_DIR}"
    return {path.stem: json.loads(path.read_text()) for path in paths}
