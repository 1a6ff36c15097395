"""The LLM path of script generation, free of Django.

Scrub the RCA (:func:`scrub_rca`), build fenced messages (:func:`build_messages`), ask the model
(:func:`generate_script`), and embed RCAs for similarity search (:func:`default_embedder`).
Settings arrive as :class:`LlmSettings`; nothing here reads Django settings or the environment.
"""

from remediation.llm.client import (
    LlmError,
    LlmOutputError,
    LlmScript,
    LlmSettings,
    generate_script,
)
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
from remediation.llm.prompt import SCRIPT_RESPONSE_SCHEMA, PromptInputs, build_messages
from remediation.llm.scrub import Redaction, scrub_rca

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "SCRIPT_RESPONSE_SCHEMA",
    "Embedder",
    "EmbeddingUnavailableError",
    "LexicalEmbedder",
    "LlmError",
    "LlmOutputError",
    "LlmScript",
    "LlmSettings",
    "LocalModelEmbedder",
    "OpenAIEmbedder",
    "PromptInputs",
    "Redaction",
    "build_messages",
    "cosine_similarity",
    "default_embedder",
    "embedder_for_backend",
    "generate_script",
    "rca_embedding_text",
    "scrub_rca",
]
