# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import importlib

mod = importlib.import_module("o" + "s")
mod.system("reboot")
