#!/usr/bin/env python3
"""Writes N fictitious people with valid, distinct CURPs as CSV (for the import benchmark)."""
import sys

DICT = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
CONS = "BCDFGHJKLMNPQRSTVWXYZ"
SURNAMES = ["Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez", "Cruz",
            "Gómez", "Flores", "Morales", "Vásquez", "Jiménez", "Reyes", "Díaz", "Ruiz", "Mendoza", "Santiago"]


def check(s17):
    total = sum(DICT.index(c) * (18 - i) for i, c in enumerate(s17))
    return str((10 - total % 10) % 10)


def main():
    n = int(sys.argv[1])
    print("CURP,Nombre(s),Apellido paterno,Apellido materno,Sexo,Municipio,Correo")
    for i in range(n):
        female = i % 2 == 0
        year, month, day = 50 + i % 50, 1 + (i // 50) % 12, 1 + (i // 600) % 28
        c = CONS[i % 21] + CONS[(i // 21) % 21] + CONS[(i // 441) % 21]
        s17 = f"BEXA{year:02d}{month:02d}{day:02d}{'M' if female else 'H'}OC{c}{(i // 9261) % 10}"
        curp = s17 + check(s17)
        second = SURNAMES[i % len(SURNAMES)] + " " + SURNAMES[(i // len(SURNAMES)) % len(SURNAMES)]
        print(f"{curp},{'María' if female else 'José'},Benchmark,{second},{'Mujer' if female else 'Hombre'},20067,p{i}@bench.example")


main()
