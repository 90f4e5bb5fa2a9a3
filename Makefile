# pin's build, test and release checks. `make test` installs what the
# integration tests need (docker-registry, stock cosign, local-kms) when missing, so a
# fresh clone needs only Go.

SHELL   := /bin/bash
GO      ?= go
GOBIN   := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN),)
GOBIN   := $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin
endif
export PATH := $(GOBIN):$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
# grpcnotrace: grpc (linked through sigstore-go's Rekor v2 code; pin makes no gRPC
# calls) otherwise imports golang.org/x/net/trace, whose html/template debug pages
# switch off the linker's dead-method elimination for the whole binary: 30.9 MB
# instead of 22.5 MB (BENCHMARKS.md, "Binary size"). .goreleaser.yaml and
# bench/run.go pass the same tag.
TAGS    := grpcnotrace
# MAXSIZE: issue 16's limit for the stripped binary, checked by make size.
MAXSIZE := 25000000

.PHONY: all build size test test-deps vet unit bench fmt lint clean fuzz fuzz-seeds

all: lint test build size

## build: bin/pin with version, commit and date stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/pin ./cmd/pin

## size: build, then fail if the stripped binary is over MAXSIZE bytes, or if any
## code the linker keeps calls reflect's Method/MethodByName with a name known only at
## run time (the linker marks it <ReflectMethod> and keeps every exported method: +8 MB)
size: build
	@size=$$(stat -c %s bin/pin); echo "bin/pin: $$size bytes (limit $(MAXSIZE))"; \
	if [ "$$size" -gt $(MAXSIZE) ]; then echo "bin/pin is over the size limit: see BENCHMARKS.md, Binary size" >&2; exit 1; fi
	@set -o pipefail; found=$$(CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags=-dumpdep -o /dev/null ./cmd/pin 2>&1 | grep -F '<ReflectMethod>' | head -5); \
	if [ -n "$$found" ]; then printf 'dead-method elimination is off; reachable:\n%s\n' "$$found" >&2; exit 1; fi; \
	echo "bin/pin: dead-method elimination on (no reachable <ReflectMethod>)"

## test-deps: install docker-registry, cosign and local-kms if missing
test-deps:
	scripts/install-test-deps.sh registry cosign kms

## test: vet, then every test with the race detector; integration tests must run, not skip
test: test-deps vet
	set -o pipefail; PIN_INTEGRATION=1 $(GO) test -race -timeout 30m -json ./... 2>&1 | $(GO) run ./internal/testenv/testsummary

## unit: plain go test; integration tests skip (saying why) when their tools are missing
unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...

## bench: every Go benchmark (bench.txt), then the resolve harness (crane and
## regctl side by side, 30 ms per request), which rewrites BENCHMARKS.md's
## generated section; about 5 minutes
bench:
	scripts/install-test-deps.sh registry crane regctl
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem ./... 2>&1 | tee bench.txt
	$(GO) run ./bench -write BENCHMARKS.md -gobench bench.txt

## fuzz: run every fuzz target in turn for FUZZTIME (make fuzz FUZZTIME=5m for the long run;
## FUZZ=regexp picks targets by name). go test fuzzes one target per invocation, hence the loop.
## New inputs are minimized for at most FUZZMINIMIZE: the default, 60s, leaves the slower
## targets (HCL, YAML) minimizing most of the time instead of fuzzing. -timeout 0: go test's
## default 10m timeout would otherwise end a FUZZTIME of 10m or more as a failure.
FUZZTIME     ?= 30s
FUZZPARALLEL ?= 2
FUZZMINIMIZE ?= 5s
FUZZ         ?= .
fuzz:
	@set -eo pipefail; \
	grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's#^\./##; s#/[^/]*_test\.go:func # #' | \
	sort | grep -E " .*$(FUZZ)" | while read -r pkg fn; do \
		echo "== $$fn (./$$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel $(FUZZPARALLEL) -timeout 0 ./$$pkg; \
	done

## fuzz-seeds: rewrite the committed seed corpora (testdata/fuzz/*/seed-*) from the current examples
fuzz-seeds:
	find . -path '*/testdata/fuzz/*/seed-*' -delete
	PIN_FUZZ_SEEDS=write $(GO) test -count=1 -run '^Fuzz' ./...

fmt:
	gofmt -w .

## lint: gofmt must have nothing to change, and go vet and staticcheck must be clean
## (staticcheck is installed when missing)
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	scripts/install-test-deps.sh staticcheck
	staticcheck ./...

clean:
	rm -rf bin dist bench.txt
