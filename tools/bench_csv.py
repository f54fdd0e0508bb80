#!/usr/bin/env python3
"""Time pandas.read_csv on a CSV file (median of 3), for tools/bench_csv.c.

usage: bench_csv.py FILE
Prints "pandas_all SECONDS" (every column read, the default call) and
"pandas_numeric SECONDS" (usecols = the numeric columns only, as kdts keeps)."""
import sys
import time

import pandas as pd


def median3(fn):
    ts = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[1]


def main():
    path = sys.argv[1]
    head = pd.read_csv(path, nrows=5)
    numeric = [c for c in head.columns if pd.api.types.is_numeric_dtype(head[c])]
    print("pandas_all %.6f" % median3(lambda: pd.read_csv(path)), flush=True)
    print("pandas_numeric %.6f" % median3(lambda: pd.read_csv(path, usecols=numeric)), flush=True)


if __name__ == "__main__":
    main()
