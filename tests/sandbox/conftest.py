"""Fixtures for the sandbox tests: bubblewrap must be present, and a missing one fails CI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    # The editable install's finder may predate the sandbox package; the checkout is what we test.
    sys.path.insert(0, str(REPO_ROOT))

from sandbox.local import SandboxUnavailable, find_bwrap


@pytest.fixture(scope="session")
def bwrap_available() -> str:
    """Skip locally without bwrap; under CI=true a missing sandbox is a failure, never a skip."""
    try:
        return find_bwrap()
    except SandboxUnavailable as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the sandbox tests need bubblewrap in CI: {error}")
        pytest.skip(str(error))
