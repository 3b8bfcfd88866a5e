# intimacy_ssg: `make build` then `make test` is all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
SSG    := $(BIN)/intimacy-ssg
# Re-install only when the project's dependencies change.
STAMP     := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help install install-dev build watch check serve test fuzz ci lint format bench bench-pair screenshots audit golden schema clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(STAMP)

install: $(STAMP) ## create .venv and install the generator

install-dev: $(DEV_STAMP) ## install with the dev extras (pytest, ruff, mypy)

build: $(STAMP) ## build the shipped site into output/
	$(SSG) build

watch: $(STAMP) ## build into output/, then again after every save (Ctrl-C to stop)
	$(SSG) build --watch

check: $(STAMP) ## run every validation in strict mode, write nothing
	$(SSG) check --strict

serve: $(STAMP) ## live-reload preview on http://127.0.0.1:8000/ (PORT=... to change)
	$(SSG) serve --port $(or $(PORT),8000)

test: $(DEV_STAMP) ## run the whole test suite (fails if no test ran)
	$(PY) -m pytest

fuzz: $(DEV_STAMP) ## the property tests with many more examples (slow)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_properties.py
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_cache.py -k after_any_edits

ci: lint test ## what CI runs: lint, tests, strict check, build with a report
	$(SSG) check --strict --format github
	$(SSG) build --strict --report build-report.json

lint: $(DEV_STAMP) ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV_STAMP) ## benchmark 1,000 and 10,000 synthetic pages; writes bench/results.json
	$(PY) -m bench.run

KINDS ?= prose,title
PAIRS ?= 8
PAGES ?= 10000
bench-pair: $(DEV_STAMP) ## BASE=<git ref>: its builds and the working tree's, in pairs; bench/paired.json
	@test -n "$(BASE)" || { echo "usage: make bench-pair BASE=<git ref> [KINDS=$(KINDS)] [PAIRS=$(PAIRS)] [PAGES=$(PAGES)]" >&2; exit 2; }
	$(PY) -m bench.pair --base '$(BASE)' --kinds '$(KINDS)' --pairs '$(PAIRS)' --pages '$(PAGES)'

screenshots: $(DEV_STAMP) ## README screenshots (hub and article, light and dark) with chromium
	$(PY) -m tests.screenshots

audit: $(DEV_STAMP) ## Lighthouse scores of a hub and an article into audit/ (needs npm, chromium)
	$(PY) -m audit.run

golden: $(DEV_STAMP) ## regenerate the golden output trees under tests/golden/
	$(PY) -m tests.golden

schema: $(STAMP) ## regenerate schema/frontmatter.schema.json
	$(SSG) schema > schema/frontmatter.schema.json

clean: ## remove output/, the build cache (.cache/), tool caches and .venv
	rm -rf output .output.staging-* .output.journal .cache build-report.json $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
