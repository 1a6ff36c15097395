import pickle

with open("/var/tmp/state.bin", "rb") as handle:
    state = pickle.load(handle)
