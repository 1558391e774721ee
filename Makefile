# yeastzoi: `make demo` runs the main job, `make test` the fast test suite.
# Both bootstrap .venv from setup.cfg on a fresh machine (Python >= 3.11).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JAX_STAMP := $(VENV)/.installed-jax
# the model tests that must also pass under KERAS_BACKEND=jax (DESIGN.md, framework rule)
JAX_TESTS := tests/test_jax_models.py tests/test_seqnn.py tests/test_zoo_specs.py tests/test_weights_keras2.py

.PHONY: demo test test-jax test-all venv wheel clean

$(STAMP): setup.cfg pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(JAX_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,jax]'
	@touch $(JAX_STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) bin/yeastzoi_demo.py -o demo_out

# the [jax] extra too: the JAX training tests start KERAS_BACKEND=jax subprocesses
test: $(JAX_STAMP)
	$(PY) -m pytest -q -x --timeout=900

# the model tests a second time with Keras on JAX's CPU build (jax from the [jax] extra).
# Keras compiles each weight initializer per shape under JAX; the persistent compilation
# cache in .venv keeps those compiles for the next run (cold ~160 s CPU, warm ~70 s).
JAX_ENV := KERAS_BACKEND=jax JAX_PLATFORMS=cpu JAX_COMPILATION_CACHE_DIR=$(abspath $(VENV))/jax-cache \
           JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
test-jax: $(JAX_STAMP)
	$(JAX_ENV) $(PY) -m pytest -q -x --timeout=600 $(JAX_TESTS)

test-all: $(STAMP)
	$(PY) -m pytest -q -m "" --timeout=3600

# build/dist/yeastzoi-*.whl: the package, json_params/ and data/ inside it as yeastzoi/zoo*, bin/ scripts
# (build/ first removed: setuptools would ship modules since deleted from src/)
wheel: $(STAMP)
	rm -rf build
	$(PY) -m pip wheel --quiet --no-deps . -w build/dist

clean:
	rm -rf $(VENV) demo_out build src/*.egg-info
