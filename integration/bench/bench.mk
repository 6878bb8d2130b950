# Benchmarks against the anchors (not part of `make test`). Included by the top Makefile.
# `make bench` runs every part (about 10–15 minutes) and regenerates docs/benchmarks.md; a
# single part re-runs only its section and re-assembles the doc from the sections present in
# bin/bench/. Needs root. Tunables: see integration/bench/run.sh.
BENCH_RUN := ./integration/bench/run.sh

.PHONY: bench bench-coldstart bench-router bench-scale bench-quota bench-density

bench: build
	$(BENCH_RUN) coldstart router scale quota density

bench-coldstart: build
	$(BENCH_RUN) coldstart

bench-router: build
	$(BENCH_RUN) router

bench-scale: build
	$(BENCH_RUN) scale

bench-quota: build
	$(BENCH_RUN) quota

bench-density: build
	$(BENCH_RUN) density
