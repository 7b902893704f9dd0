# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   install system packages and models, build, ingest this repository's docs,
#               answer a question with citations on the embedded model
#   make test   the same set-up plus llama.cpp's server (for the openai tests), every test:
#               cargo's, then HTTP clients against `lore serve` (OpenAI SDK, schemathesis,
#               the web UI in headless Chromium)
#   make test-fast  the tier a developer runs on every change: unit tests and everything
#               that needs no model weights and no servers (under 3 minutes on a warm build)
# Builds share a target dir outside the clone so repeated runs are incremental.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/lore-target
DEMO_DATA ?= $(CURDIR)/.lore-demo
DEMO_DOCS ?= README.md ARCHITECTURE.md docs
# The dev profile (dependencies at opt-level 3) shares its build with `make test`.
LORE = $(CARGO_TARGET_DIR)/debug/lore --data-dir $(DEMO_DATA)
QUESTION ?= What happens when the LLM endpoint is unreachable?
DOCS ?= ../shared/data/docs

.PHONY: demo test test-fast system models llama-server build eval eval-answers bench-embed serve bench-serve

system:
	scripts/setup-system.sh

models:
	scripts/setup-models.sh

llama-server: system
	scripts/setup-llama-server.sh

build: system
	cargo build -p lore

demo: models build
	$(LORE) ingest $(DEMO_DOCS) --collection demo --domain docs
	$(LORE) ask "$(QUESTION)" --collection demo

test: system models llama-server
	cargo test --workspace
	tests/http/run.sh

# No models, no servers: every crate's unit tests, the CLI's, and the extractors' tests
# on real files and hostile samples.
test-fast:
	cargo test --workspace --lib --bins
	cargo test -p lore-ingest --tests
	cargo test -p lore --test settings

eval: models build
	$(LORE) eval beir ../shared/data/beir/scifact --mode all

eval-answers: models build
	$(LORE) eval answers eval/answers.jsonl --docs $(DOCS) --collection docs
	$(LORE) eval answers eval/answers.jsonl --collection docs --generators embedded --llm-model gemma-3-270m-Q4_K_M.gguf

bench-embed: models build
	bench/embed_throughput.sh

serve: models build
	$(LORE) serve

# Load test of POST /v1/search on SciFact (ingest it first with `make eval`): wrk from
# Debian, 100 connections, 30 s.
bench-serve: build
	bench/serve_load.sh
