# Everything runs inside a virtual environment that `make` creates on first use.
#   make serve   install (first time) and run the server on the bundled models
#   make test    install (first time) and run the default test suite
#   make test-recipes  the recipes end to end (minutes; CI runs them after make test)
#   make demo    write demo.wav with the bundled speech model
#   make bench   measure generation speed, every backend side by side
#   make soak    mixed, partly hostile traffic against a live server (SOAK_SECONDS, default 300)
#   make gpu-wheels  the wheelhouse bench/gpu_check.sh installs from on a GPU machine without network
#   make gpu-data RECIPE=mel_vocoder  what bench/gpu_train.sh carries to a GPU machine: wheels and packed data
#
# TORCH picks the PyTorch build. The default takes the CPU build of torch 2.13.0; on a CUDA
# machine use e.g. `make test TORCH_INDEX=https://download.pytorch.org/whl/cu128`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_ARGS ?=
SOAK_SECONDS ?= 300

.PHONY: install test-deps test test-recipes test-all serve demo bench soak gpu-wheels gpu-data quality-report quality-render lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages some tests need (needs root): the offline recipes' tools (espeak-ng, MBROLA,
# flite, Asterisk prompts, fluidsynth and a soundfont) and Chromium for the web page test.
# Those tests skip without them, except in CI, which installs them first.
test-deps: install
	PYTHON=$(BIN)/python bash recipes/speech_offline/run.sh deps
	PYTHON=$(BIN)/python bash recipes/piano_offline/run.sh deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-recipes: install
	$(BIN)/python -m pytest -m recipes $(PYTEST_ARGS)

test-all: install
	$(BIN)/python -m pytest -m "" $(PYTEST_ARGS)

serve: install
	$(BIN)/wavenet serve

demo: install
	$(BIN)/wavenet generate checkpoints/speech-small -o demo.wav --speaker asterisk-en_US_f_Allison --seconds 4 --seed 1

bench: install
	$(BIN)/wavenet bench --model ref20 --batch 1,16 --json bench/latest.json

soak: install
	$(BIN)/python bench/soak.py --duration $(SOAK_SECONDS)

# What bench/gpu_check.sh needs beyond torch, triton and numpy (which a PyTorch machine has), for
# CPython 3.10 to 3.13 on x86-64 Linux (the lent machine's Python is not known in advance), to carry
# there: it has no network, and what travels is at most 64 MiB.
GPU_WHEELS := soundfile safetensors tqdm pyyaml soxr fastapi uvicorn pydantic-settings \
	prometheus-client mido pytest httpx
gpu-wheels: install
	for v in 3.10 3.11 3.12 3.13; do \
		$(BIN)/python -m pip download --quiet --dest bench/gpu-wheels --only-binary=:all: \
			--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
			--python-version $$v --implementation cp $(GPU_WHEELS) || exit 1; \
	done
	rm -f bench/gpu-wheels/numpy-*.whl
	du -sh bench/gpu-wheels

# What bench/gpu_train.sh needs on a lent GPU machine (its packages, CPython 3.10 to 3.13) and a recipe's
# prepared data packed into what is left of the 64 MiB that travels: the tracked files, the wheels,
# 2 MiB to spare. RECIPE's data must be prepared (recipes/RECIPE/run.sh ... prepare).
GPU_TRAIN_WHEELS := soundfile safetensors tqdm pyyaml soxr mido
gpu-data: install
	for v in 3.10 3.11 3.12 3.13; do \
		$(BIN)/python -m pip download --quiet --dest bench/gpu-wheels-train --only-binary=:all: \
			--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
			--python-version $$v --implementation cp $(GPU_TRAIN_WHEELS) || exit 1; \
	done
	rm -f bench/gpu-wheels-train/numpy-*.whl
	test -f work/$(RECIPE)/data/dataset.json || { echo "prepare the data first: recipes/$(RECIPE)/run.sh ... prepare"; exit 2; }
	budget=$$(( 64 * 1048576 - $$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) \
		- $$(du -sb bench/gpu-wheels-train | cut -f1) - 2 * 1048576 )); \
	$(BIN)/python -m wavenet.data.pack pack work/$(RECIPE)/data bench/gpu-data/$(RECIPE) \
		--max-mib $$(( budget / 1048576 ))

# docs/QUALITY.md from the bundled models, every section (python -m wavenet.evaluation.reports): each
# measures into docs/quality/*.json, then renders its section from that file alone. The held-out
# audio and the baselines' training data come from the offline recipes: their data is rebuilt from
# Debian packages (as root) when missing. `make quality-render` renders without measuring.
quality-report: install
	test -f work/speech_offline/data/dataset.json || \
		PYTHON=$(BIN)/python bash recipes/speech_offline/run.sh deps corpus manifest prepare
	test -f work/piano_offline/data/dataset.json || \
		PYTHON=$(BIN)/python bash recipes/piano_offline/run.sh deps corpus manifest prepare
	test -f work/mel_vocoder/data/dataset.json || \
		PYTHON=$(BIN)/python bash recipes/mel_vocoder/run.sh corpus manifest prepare
	test -f work/midi_piano/data/dataset.json || \
		PYTHON=$(BIN)/python bash recipes/midi_piano/run.sh corpus manifest prepare
	test -f work/tts/data/dataset.json || \
		PYTHON=$(BIN)/python bash recipes/tts/run.sh corpus manifest prepare
	$(BIN)/python -m wavenet.evaluation.reports all

quality-render: install
	$(BIN)/python -m wavenet.evaluation.reports all --render-only

lint: install
	$(BIN)/ruff check wavenet service recipes tests bench docs
	$(BIN)/ruff format --check wavenet service recipes tests bench docs

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo.wav
