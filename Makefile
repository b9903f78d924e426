# Everything runs inside a virtual environment that `make` creates on first use.
#   make test    install (first time) and run the default test suite
#   make demo    install (first time) and generate demo.wav
#   make bench   measure generation speed, every backend side by side
#
# TORCH picks the PyTorch build. The default takes the CPU build of torch 2.13.0; on a CUDA
# machine use e.g. `make test TORCH_INDEX=https://download.pytorch.org/whl/cu128`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_ARGS ?=

.PHONY: install test test-all demo bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all: install
	$(BIN)/python -m pytest -m "" $(PYTEST_ARGS)

demo: install
	$(BIN)/wavenet generate ref20 -o demo.wav --seconds 2 --seed 1

bench: install
	$(BIN)/wavenet bench --model ref20 --batch 1,16 --json bench/latest.json

lint: install
	$(BIN)/ruff check wavenet tests
	$(BIN)/ruff format --check wavenet tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo.wav
