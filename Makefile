# County evaluation suite. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.lock
LOCK_STAMP := $(VENV)/.lock-stamp
# the tool that writes the lock lives apart from the project's environment (make lock)
UV_VERSION := 0.13.9
LOCK_TOOLS := $(VENV)/lock-tools
UV     := $(LOCK_TOOLS)/bin/uv
SAMPLE := data/raw/sample
JOBS   ?= 2

.DEFAULT_GOAL := help
.PHONY: help env lock fonts browser office sample data build report test test-all lab bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# requirements.lock pins every package (exact versions with hashes); a changed lock rebuilds .venv from
# scratch, so it holds exactly the locked packages. The project itself is then installed on top, built with
# the locked setuptools, and `pip check` fails if the lock no longer covers pyproject.toml.
$(LOCK_STAMP): $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@touch $(LOCK_STAMP)

$(STAMP): $(LOCK_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check || { echo "$(LOCK) does not cover pyproject.toml: run 'make lock'" >&2; exit 1; }
	@touch $(STAMP)

env: $(STAMP) ## create .venv and install the locked versions (requirements.lock) and the project

# uv resolves for every platform at once (--universal) in seconds and writes the hash of every file of each
# release; an existing lock's pins are kept unless LOCK_ARGS says otherwise (--upgrade, --upgrade-package X).
LOCK_ARGS ?=
$(UV):
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

lock: $(UV) ## refresh requirements.lock from pyproject.toml (LOCK_ARGS=--upgrade to move every pin)
	$(UV) pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o $(LOCK)

fonts: ## make sure a CJK font is installed (Debian/Ubuntu: fonts-noto-cjk), so Chinese renders
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing fonts-noto-cjk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	  else echo "No CJK font found: install one (apt-get install fonts-noto-cjk) or Chinese reports will refuse to render." >&2; fi; }

browser: ## make sure headless Chromium is installed for the report-site browser test (Debian)
	@command -v chromium >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the browser test will be skipped." >&2; fi; }

office: ## make sure LibreOffice (Word -> PDF) and poppler-utils are installed (Debian: libreoffice-writer-nogui)
	@{ command -v soffice >/dev/null && command -v pdftotext >/dev/null; } || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing libreoffice-writer-nogui poppler-utils"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui poppler-utils >/dev/null; \
	  else echo "LibreOffice (soffice) or poppler-utils not found: Word reports are written, their PDFs and the PDF test are skipped (as root: make office)." >&2; fi; }

$(SAMPLE)/ground_truth.json: | $(STAMP)
	$(BIN)/python -m analysis synth --seed 0 --out $(SAMPLE)

sample: $(SAMPLE)/ground_truth.json ## generate the synthetic sample prefecture (raw exports) if missing

data/processed/sources.json: $(SAMPLE)/ground_truth.json
	$(BIN)/python -m analysis ingest $(SAMPLE) --out data/processed --quiet

data: data/processed/sources.json ## ingest the sample exports into data/processed

build: data ## compute all result tables for all regions (skipped when nothing changed)
	$(BIN)/python -m analysis build

report: env fonts office data ## run every notebook for every sample county into reports/ (index: reports/index.html)
	$(BIN)/python -m analysis run --region all --notebook all --jobs $(JOBS)

test: env fonts browser office build ## run the test suite (heavy tests marked slow are left out)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile -m "not slow" --nbval-lax tests notebooks

test-all: env fonts browser office build ## run every test, including the slow ones
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax tests notebooks

# Extra JupyterLab options, e.g. LAB_ARGS="--no-browser --ip=0.0.0.0 --port=8888" in a container.
LAB_ARGS ?=
lab: env data ## open JupyterLab on the notebooks with the project's environment (root too, e.g. in containers)
	$(BIN)/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

bench: env ## run the benchmarks (minutes; see benchmarks/README.md)
	$(BIN)/python benchmarks/bench_income.py
	$(BIN)/python benchmarks/bench_twfe.py
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_documents.py

clean: ## remove generated data and reports (keeps data/raw exports other than the sample)
	rm -rf data/processed/* reports/* $(SAMPLE)
