# pin's build, test and release checks. `make test` installs what the
# integration tests need (docker-registry, stock cosign) when missing, so a
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

.PHONY: all build test test-deps vet unit bench fmt lint clean

all: lint test build

## build: bin/pin with version, commit and date stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pin ./cmd/pin

## test-deps: install docker-registry and cosign if missing
test-deps:
	scripts/install-test-deps.sh registry cosign

## test: vet, then every test with the race detector; integration tests must run, not skip
test: test-deps vet
	set -o pipefail; PIN_INTEGRATION=1 $(GO) test -race -timeout 30m -json ./... 2>&1 | $(GO) run ./internal/testenv/testsummary

## unit: plain go test; integration tests skip (saying why) when their tools are missing
unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...

## bench: every benchmark, results in bench.txt
bench:
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem ./... 2>&1 | tee bench.txt

fmt:
	gofmt -w .

## lint: gofmt must have nothing to change, and go vet must be clean
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin dist bench.txt
