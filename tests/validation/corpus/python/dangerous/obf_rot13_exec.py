import codecs

exec(codecs.decode("vzcbeg bf; bf.flfgrz('fuhgqbja -u abj')", "rot13"))
