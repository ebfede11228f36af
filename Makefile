# Two entry points: `make demo` and `make test`. Each bootstraps .venv with plain python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXAMPLE := examples/tenants.yaml

.PHONY: demo test schema example bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# Render the example manifest into out/ and prove the result is current and verified.
demo: $(VENV)/.installed
	$(BIN)/plgen validate $(EXAMPLE)
	$(BIN)/plgen render $(EXAMPLE) -o out --no-cache
	$(BIN)/plgen render $(EXAMPLE) -o out --check
	@echo "demo: out/ rendered, verified and up to date"

test: $(VENV)/.installed-test
	bash tests/system-deps.sh
	$(BIN)/python -m pytest -q

# Regenerate the committed JSON Schemas (manifest, a manifest directory's provider and tenant files, `plgen changes --format json`, `plgen release-preview --format json`) and the example rendering.
schema: $(VENV)/.installed
	$(BIN)/plgen schema -o schemas/manifest.schema.json
	$(BIN)/plgen schema provider -o schemas/provider.schema.json
	$(BIN)/plgen schema tenant -o schemas/tenant.schema.json
	$(BIN)/plgen schema changes -o schemas/changes.schema.json
	$(BIN)/plgen schema release-preview -o schemas/release-preview.schema.json

example: $(VENV)/.installed
	$(BIN)/plgen render $(EXAMPLE) -o out --no-cache

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/fleet.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
