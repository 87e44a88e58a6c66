# inplay — every target is phony and documented; `make help` lists them.
GO        ?= go
BIN       := bin/inplay
SCENARIO  ?= scenarios/catalog/smoke.yaml
OUT       ?= out/smoke
GOIMPORTS := golang.org/x/tools/cmd/goimports@v0.39.0

.PHONY: help demo test bench lint build

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  /'

## build: build the inplay binary into bin/
build:
	$(GO) build -o $(BIN) ./cmd/inplay

## demo: build, run scenarios/catalog/smoke.yaml, and print where the report is
demo: build
	./$(BIN) run $(SCENARIO) --out $(OUT)

## test: run every test with the race detector (needs the local services, see README)
test:
	$(GO) test -race -count=1 -timeout 20m ./...

## bench: run the benchmarks and write their figures to bench/RESULTS.md
bench:
	@mkdir -p bench
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./... | tee bench/raw.txt
	@{ echo "# Benchmark results"; echo; echo "Reproduce with: \`make bench\`"; echo; \
	   echo "Machine: $$(nproc) cores, $$(go version)"; echo; echo '```'; cat bench/raw.txt; echo '```'; } > bench/RESULTS.md
	@rm -f bench/raw.txt

## lint: gofmt, goimports (pinned) and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@out=$$($(GO) run $(GOIMPORTS) -l -local github.com/inplaylabs/inplay $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "goimports would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
