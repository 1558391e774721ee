# yeastzoi: `make demo` runs the main job, `make test` the fast test suite.
# Both bootstrap .venv from setup.cfg on a fresh machine (Python >= 3.11).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all venv clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) bin/yeastzoi_demo.py -o demo_out

test: $(STAMP)
	$(PY) -m pytest -q -x --timeout=900

test-all: $(STAMP)
	$(PY) -m pytest -q -m "" --timeout=3600

clean:
	rm -rf $(VENV) demo_out build src/*.egg-info
