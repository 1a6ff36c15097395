"""Fixtures for the sandbox tests: bubblewrap must be present, and a missing one fails CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.local import SandboxUnavailable, find_bwrap

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bwrap_available() -> str:
    """Skip locally without bwrap; under CI=true a missing sandbox is a failure, never a skip."""
    try:
        return find_bwrap()
    except SandboxUnavailable as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the sandbox tests need bubblewrap in CI: {error}")
        pytest.skip(str(error))
