# Benchmarks (issue 6): retrieval quality, PDF QA, ingestion throughput, query latency. Results: bench/RESULTS.md.
# Included by the main Makefile, which provides $(VENV)/.installed (venv + core package) and the ONNX model.
# The data (../shared/data) is never shipped; every benchmark skips with a message (exit 0) without it.
# `make test` runs the smoke versions in tests/bench; the baseline smoke needs the `bench` extra, else skips.

VENV ?= .venv
PY ?= $(VENV)/bin/python
BENCH_NICE ?= nice -n 5
BENCH_LOGS ?= bench/out/logs

.PHONY: bench bench-deps bench-smoke bench-scifact bench-financebench bench-throughput bench-latency bench-load

# LangChain, Chroma, sentence-transformers: baseline code only, never a runtime dependency.
$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(PIP_INSTALL) -e '.[bench]'
	@touch $@

bench-deps: $(VENV)/.bench-installed

# Full runs, one at a time (2 cores: never run two benchmarks at once). ~1 h in all on an idle machine.
bench: bench-scifact bench-financebench bench-throughput bench-latency bench-load

$(BENCH_LOGS):
	@mkdir -p $@

bench-scifact: $(VENV)/.installed | $(BENCH_LOGS)  ## SciFact test: 3 modes x fp32/int8, levers tuned on train
	$(BENCH_NICE) $(PY) -m bench.scifact --precision fp32,int8 --levers 2>&1 | tee $(BENCH_LOGS)/scifact.log

bench-financebench: $(VENV)/.installed | $(BENCH_LOGS)  ## all 50 PDFs through engine.ingest, 105 questions
	$(BENCH_NICE) $(PY) -m bench.financebench --precision fp32 2>&1 | tee $(BENCH_LOGS)/financebench_fp32.log
	$(BENCH_NICE) $(PY) -m bench.financebench --precision int8 2>&1 | tee $(BENCH_LOGS)/financebench_int8.log

# Interleaved rounds; a round during which other processes kept the machine busy is refused (bench/throughput.py).
# All 50 PDFs: `.venv/bin/python -m bench.throughput --rounds 3` (hours).
bench-throughput: bench-deps | $(BENCH_LOGS)  ## 3 rounds on 4 PDFs: ragline vs embedding floor vs LangChain
	$(PY) -m bench.throughput --limit-files 4 --rounds 3 2>&1 | tee $(BENCH_LOGS)/throughput.log

bench-latency: bench-deps | $(BENCH_LOGS)  ## p50/p99 at 10k and 100k synthetic chunks, ragline and Chroma
	$(BENCH_NICE) $(PY) -m bench.latency --sizes 10000,100000 2>&1 | tee $(BENCH_LOGS)/latency.log

bench-load: $(VENV)/.installed | $(BENCH_LOGS)  ## ragline serve on loopback, demo corpus: 1 client, then 50 for 60 s
	$(BENCH_NICE) $(PY) -m bench.load --clients 50 --seconds 60 2>&1 | tee $(BENCH_LOGS)/load.log

# The same code paths on tiny subsets (each well under 30 s); the data-free parts run everywhere.
bench-smoke: $(VENV)/.installed
	$(PY) -m pytest tests/bench -q
