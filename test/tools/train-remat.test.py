"""Checks the reports of train-remat.test: AUTO (default solver), ALL
(--remat=recompute-all), CHEN (--remat=chen) and SWAP (--remat=swap-all),
all at a 224 KiB budget."""
import json
import sys

auto, every, chen, swap = (json.load(open(p)) for p in sys.argv[1:5])
budget = 224 * 1024
ok = True


def check(cond, what):
    global ok
    if not cond:
        print("FAIL:", what)
        ok = False


for name, report, solvers in (("auto", auto, ("milp", "greedy")),
                              ("recompute-all", every, ("recompute-all",)),
                              ("chen", chen, ("chen",)),
                              ("swap-all", swap, ("swap-all",))):
    train = report["train"]
    remat = train["remat"]
    check(remat["solver"] in solvers, f"{name}: solver {remat['solver']}")
    check(remat["budget"] == budget, f"{name}: budget {remat['budget']}")
    check(report["arena_bytes"] <= budget, f"{name}: arena {report['arena_bytes']}")
    choices = [a["choice"] for a in train["activations"]]
    check(choices and set(choices) <= {"keep", "recompute", "swap"},
          f"{name}: choices {choices}")
    check(all(a["planned"] in ("keep", "recompute", "swap")
              for a in train["activations"]), f"{name}: planned")
    # Every recomputed activation is a clone's worth of ops in the step.
    recomputed = sum(c == "recompute" for c in choices)
    check(train["recomputed_ops"] >= recomputed,
          f"{name}: {train['recomputed_ops']} ops for {recomputed} values")
# The default fits its estimate and costs no more (modeled) than the
# baselines.
check(auto["train"]["remat"]["estimated_peak_bytes"] <= budget, "auto estimate")
for base in (every, chen):
    check(auto["train"]["remat"]["extra_ms"] <= base["train"]["remat"]["extra_ms"],
          "auto costs more than a baseline")
check(every["train"]["recomputed_ops"] > auto["train"]["recomputed_ops"],
      "recompute-all recomputes more than the default")
# FLOPs of the clones (memc::opFlops: 2 per point of a contraction).
check(every["train"]["recomputed_flops"] > auto["train"]["recomputed_flops"] > 0,
      "recomputed_flops")
# The report marks the buffers recomputed ops make.
check(any(b.get("recomputed") for b in every["buffers"]), "no recomputed buffer")
# Swapping everything: every saved activation memc-recompute-pointwise left
# (it recomputes cheap pointwise values in any case) is swapped, as planned:
# the copies are ops of the step. Their host copies are in the host pool,
# and each backward reader has a buffer copied back.
acts = swap["train"]["activations"]
swapped = [a for a in acts if a["planned"] != "recompute"]
check(swapped and all(a["planned"] == "swap" and a["choice"] == "swap"
                      for a in swapped), "swap-all: choices")
swapped_bytes = sum(a["bytes"] for a in swapped)
check(swap["train"]["swapped_bytes"] >= swapped_bytes,
      f"swap-all: swapped_bytes {swap['train']['swapped_bytes']} < {swapped_bytes}")
check(swap["host_pool_bytes"] >= swapped_bytes, "swap-all: host pool")
check(any(b.get("swapped_in") for b in swap["buffers"]), "no swapped_in buffer")
sys.exit(0 if ok else 1)
