"""Width of the RCA embedding vectors stored in pgvector (all-MiniLM-L6-v2 and the lexical fallback)."""

EMBEDDING_DIMENSIONS = 384
