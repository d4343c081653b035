# crmsync — see README.md.
GO      ?= go
BIN     := bin/crmsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build test unit services lint-pipelines generated bench bench-go fuzz demo vet clean release

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/crmsync

## test: every test, against the real PostgreSQL and MariaDB (started if installed but stopped)
test: services vet generated lint-pipelines
	$(GO) test -count=1 -timeout 20m ./...

## unit: the tests that need no database server, in well under a minute (-short: no
## release build, no crash or soak test); CRMSYNC_PG_DSN=none and CRMSYNC_MYSQL_DSN=none
## skip the PostgreSQL and MariaDB tests instead of failing them (the status page's
## browser test still runs when /usr/bin/chromium is installed)
unit:
	CRMSYNC_PG_DSN=none CRMSYNC_MYSQL_DSN=none $(GO) test -short -count=1 -timeout 5m ./...

## generated: the generated files (schema/pipeline.schema.json, docs/reference/) are what
## go generate makes from today's code (outside a git work tree, schema's
## TestSchemaIsGenerated checks the same)
GENERATED := schema/pipeline.schema.json docs/reference
generated:
	$(GO) generate ./...
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git diff --exit-code --stat -- $(GENERATED) || { echo "generated files differ from the committed ones: run go generate ./... and commit them"; exit 1; }; \
	fi

services:
	@bash scripts/ensure-services.sh

## release: static (CGO_ENABLED=0) archives for linux, darwin and windows on amd64 and
## arm64 in dist/, with dist/SHA256SUMS (PLATFORMS="linux/amd64" for fewer)
release:
	VERSION=$(VERSION) GO=$(GO) bash scripts/release.sh

vet:
	$(GO) vet ./...

## lint-pipelines: every shipped pipeline must lint clean
lint-pipelines: build
	./$(BIN) lint pipelines/ examples/quickstart/ engine/pipeline/testdata/valid/

## bench: whole processes beside their references in one run, one table of ratios
##  (scripts/bench; CRMSYNC_BENCH_ROWS=200000 for fewer than 1M contacts; see docs/guides/performance.md),
##  then the SQL first sync beside a plain SELECT * (BenchmarkSQLFirstSync, the same CRMSYNC_BENCH_ROWS)
bench: services
	$(GO) run ./scripts/bench
	$(GO) test -run '^$$' -bench SQLFirstSync -benchtime 1x ./engine/runner/

## bench-go: the record-path and load-path Go benchmarks (not part of test)
bench-go: services
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -benchmem ./engine/transform/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./engine/sink/... ./engine/runner/
## (BenchmarkSQLFirstSync: 1M-row 42-column MariaDB job table into PostgreSQL vs a plain SELECT *;
##  CRMSYNC_BENCH_ROWS=200000 for a smaller one)

## fuzz: fuzz the pipeline loader for a minute
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s ./engine/pipeline/

## demo: the quick start against the embedded SQLite destination
demo: build
	bash examples/quickstart/demo.sh

clean:
	rm -rf bin dist
