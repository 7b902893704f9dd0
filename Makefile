# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   install models, build, ingest ../shared/data/docs, search it
#   make test   install models, run every test
# Builds share a target dir outside the clone so repeated runs are incremental.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/lore-target
DOCS ?= ../shared/data/docs
DEMO_DATA ?= $(CURDIR)/.lore-demo
LORE = $(CARGO_TARGET_DIR)/release/lore --data-dir $(DEMO_DATA)
QUESTION ?= How do I configure name-based virtual hosts?

.PHONY: demo test models build eval bench-embed

models:
	scripts/setup-models.sh

build:
	cargo build --release -p lore

demo: models build
	$(LORE) ingest $(DOCS) --collection demo --domain docs
	$(LORE) search "$(QUESTION)" --collection demo --top-k 5

test: models
	cargo test --workspace

eval: models build
	$(LORE) eval beir ../shared/data/beir/scifact --mode all

bench-embed: models build
	bench/embed_throughput.sh
