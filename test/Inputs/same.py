#!/usr/bin/python3
"""same.py A B: exit 0 when the two files are byte-identical, else print the
first differing line of each and exit 1 (diffutils may be absent)."""
import sys

a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        print(f"line {i + 1} differs:\n< {x}\n> {y}")
        sys.exit(1)
if len(a) != len(b):
    print(f"lengths differ: {len(a)} vs {len(b)} lines")
    sys.exit(1)
