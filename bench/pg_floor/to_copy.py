#!/usr/bin/env python3
"""Turns bench/gen_people.py's CSV into `COPY people` text rows (CURP order, as the store sends them)."""
import csv
import sys
import unicodedata


def key(s):
    return " ".join(unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower().split())


rows = sorted(list(csv.reader(sys.stdin))[1:], key=lambda r: r[0])
t = "2026-12-02T00:00:00Z"
for curp, given, first, second, sex, cvegeo, email in rows:
    born = "19%s-%s-%s" % (curp[4:6], curp[6:8], curp[8:10])
    sex = "mujer" if sex == "Mujer" else "hombre"  # the codes the store writes (Sex::code)
    cols = [curp, given, first, second, sex, born, r"\N", "", r"\N", cvegeo, email, "", key(" ".join([given, first, second])), t, t]
    print("\t".join(cols))
