# memc — the two commands: `make demo` and `make test`.
# Both set up a fresh Debian 12 machine (apt, as root), build, then run.

BUILD ?= build
JOBS ?= $(shell nproc)
PY := /usr/bin/python3
APT_PKGS := llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 \
  libonnx-dev libonnx-testdata python3-onnx python3-numpy libprotobuf-dev \
  protobuf-compiler libgtest-dev libopenblas-dev cmake ninja-build \
  pybind11-dev python3-dev python3-pytest coinor-libcbc-dev
CONF_JOBS ?= $(JOBS)

.PHONY: all setup setup-fuzz build demo demo-train test unit lit conformance examples bench bench-plan bench-gpu bench-compile bench-train bench-decode bench-remat torch-check fuzz sanitize docs clean python-wheel

all: build

# Install only what is missing (dpkg-query), so a set-up machine costs nothing.
# `make fuzz` also needs clang's libFuzzer and sanitizer runtimes.
FUZZ_APT_PKGS := clang-22 libclang-rt-22-dev
setup-fuzz: APT_PKGS := $(FUZZ_APT_PKGS)
setup setup-fuzz:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "[setup] apt-get install$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

$(BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	@$(MAKE) --no-print-directory examples

examples:
	@$(PY) examples/make_examples.py --quiet

demo: build
	@bash scripts/demo.sh $(BUILD)

# `pip install .` (pyproject.toml, scikit-build-core) into a fresh
# .venv-wheel, and the installed module checked from outside the tree.
python-wheel: setup
	@bash scripts/python_wheel.sh

# The bundled decoder trained on the licence texts with AdamW, 8-bit AdamW,
# GaLore and APOLLO rank 1: loss, time and memory table and loss-curve SVG
# in $(BUILD)/demo-train.{md,svg} (docs/perf.md, "Optimizer-state layouts").
demo-train: build
	@/usr/bin/python3 examples/make_examples.py --quiet
	@/usr/bin/python3 scripts/demo_train.py $(BUILD)

unit: build
	@bash scripts/run_unit.sh $(BUILD)

lit: build
	@bash scripts/run_lit.sh $(BUILD)

conformance: build
	@$(PY) test/conformance/run.py --build $(BUILD) --jobs $(CONF_JOBS)

test: build
	@bash scripts/test_all.sh $(BUILD) $(CONF_JOBS)

torch-check: build
	@bash scripts/torch_check.sh $(BUILD)

bench: build
	@bash scripts/bench_ort.sh $(BUILD)

# The learned memory mapper against the heuristics (issue #3); fails if it
# is ever worse than the best heuristic.
bench-plan: build
	@bash scripts/bench_plan.sh $(BUILD)
# memc --target=cuda vs PyTorch on this machine's GPU (needs one; says so).
bench-gpu: build
	@bash scripts/bench_gpu.sh $(BUILD)
# memc's compile time per stage on Relu chains of 1k..32k nodes: how each
# stage grows with the graph (docs/perf.md, "Compile time").
bench-compile: build
	@bash scripts/bench_compile.sh $(BUILD)
# memc's train step against PyTorch eager (2 threads each): time and memory
# ratios of a decoder LM (AdamW) and a CNN (SGD momentum) against their
# targets (docs/perf.md, "Training"); a missed target is reported, not failed.
bench-train: build
	@bash scripts/bench_train.sh $(BUILD)

# A train step's time against its memory budget: memc's recompute/swap
# decision, Chen's segments, full recompute and swap-only, 0.9x the arena
# down to the smallest feasible budget.
bench-remat: build
	@bash scripts/bench_remat.sh $(BUILD)

# Greedy decoding: memc's decode packages against ONNX Runtime (full
# forward per token, and an export with past_key_values), T = 128..2048.
bench-decode: build
	@bash scripts/bench_decode.sh $(BUILD)

# The importer under libFuzzer + ASan, seeded with the ONNX test models;
# FUZZ_SECONDS bounds the run. Crashes are written to build-fuzz/crash-*.
# Then memc-run's parsers (manifest, model.so's interface, launch plan, .pb
# tensors; test/fuzz/PackageFuzzer.cpp) for PACKAGE_FUZZ_SECONDS, seeded
# with test/fuzz/package-corpus and the examples' tensors.
FUZZ_SECONDS ?= 120
PACKAGE_FUZZ_SECONDS ?= 60
fuzz: setup setup-fuzz
	cmake -G Ninja -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DMEMC_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target memc-import-fuzzer memc-package-fuzzer
	@mkdir -p build-fuzz/corpus && find /usr/share/libonnx-testdata/data/node -name model.onnx | head -300 | \
	  while read -r f; do cp "$$f" "build-fuzz/corpus/$$(echo $$f | md5sum | cut -c1-12).onnx"; done
	cd build-fuzz && ./bin/memc-import-fuzzer -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
	  -timeout=20 -print_final_stats=1 corpus
	@mkdir -p build-fuzz/package-corpus && cp test/fuzz/package-corpus/* build-fuzz/package-corpus/ && \
	  for f in examples/*/test_data_set_0/*.pb; do \
	    { printf '\003'; cat "$$f"; } >"build-fuzz/package-corpus/$$(echo $$f | md5sum | cut -c1-12).pb"; done
	cd build-fuzz && ./bin/memc-package-fuzzer -max_total_time=$(PACKAGE_FUZZ_SECONDS) -rss_limit_mb=4096 \
	  -timeout=20 -print_final_stats=1 package-corpus

# ASan + UBSan build (build-sanitize/) running the unit, lit and conformance
# suites; any sanitizer report fails the test that hit it.
sanitize: setup
	@bash scripts/sanitize.sh build-sanitize $(JOBS)

docs: build
	cmake --build $(BUILD) --target mlir-doc
	@mkdir -p docs/generated && cp -r $(BUILD)/docs/Dialects $(BUILD)/docs/Passes docs/generated/ && echo "docs/generated/ updated"

clean:
	rm -rf $(BUILD)
