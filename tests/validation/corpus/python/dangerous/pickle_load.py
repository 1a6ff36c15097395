# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import pickle

with open("/var/tmp/state.bin", "rb") as handle:
    state = pickle.load(handle)
