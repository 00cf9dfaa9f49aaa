#!/usr/bin/python3
"""Fits the polynomial of memc's f32 exp (passes/MathApproximation.cpp).

exp(r) ~ 1 + r + r^2 q(r) on |r| <= ln(2)/2, q of degree 4, minimizing the
largest relative error (Lawson's iteratively reweighted least squares on a
Chebyshev grid). Prints q's coefficients as C hex floats (constant term
first) and the error of the float32 evaluation (Horner with FMAs, as the
generated code does), in units of 2^-24.

Usage: scripts/fit_exp_poly.py [DEGREE]
"""
import sys

import numpy as np

degree = int(sys.argv[1]) if len(sys.argv) > 1 else 4
a = np.log(2) / 2 * 1.0001  # a little beyond ln2/2: k's rounding
r = np.cos(np.linspace(0, np.pi, 20001)) * a
r = r[np.abs(r) > 1e-9]
target = (np.expm1(r) - r) / r**2
weight = r**2 / np.exp(r)  # error in q -> relative error in exp(r)
A = np.vander(r, degree + 1, increasing=True)
lawson = np.full(r.shape, 1.0 / len(r))
for _ in range(300):
    s = np.sqrt(lawson) * weight
    c, *_ = np.linalg.lstsq(A * s[:, None], target * s, rcond=None)
    err = np.abs((A @ c - target) * weight)
    lawson *= err
    lawson /= lawson.sum()
c32 = c.astype(np.float32)


def fma32(x, y, z):
    """float32 fma: exact product and sum in float64 (both fit), one rounding."""
    return (x.astype(np.float64) * y + z).astype(np.float32)


x = np.linspace(-a, a, 400001).astype(np.float32)
q = np.full(x.shape, c32[-1], np.float32)
for k in range(degree - 1, -1, -1):
    q = fma32(q, x, c32[k])
p = fma32(q, (x * x).astype(np.float32), x) + np.float32(1)
rel = np.abs(p.astype(np.float64) / np.exp(x.astype(np.float64)) - 1)
print("q coefficients (r^0 first):",
      ", ".join(float(v).hex().replace("0000000p", "p") for v in c32))
print(f"minimax relative error {err.max():.3g}; float32 evaluation "
      f"{rel.max():.3g} = {rel.max() / 2**-24:.2f} x 2^-24")
