# Two commands on a fresh clone: `make reproduce` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the real lyrics set: data/real-lyrics once fetched; on the project's machines a shared copy beside the checkout
SHARED_LYRICS := $(abspath ../shared/real-lyrics)
ifeq ($(DPLIB_REAL_LYRICS),)
ifneq ($(wildcard $(SHARED_LYRICS)/pairs.csv),)
export DPLIB_REAL_LYRICS := $(SHARED_LYRICS)
endif
endif

.PHONY: setup reproduce test unit notebooks bench lab clean clean-results

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install dplib with its dev extra

reproduce: $(STAMP)  ## run the main job (the notebooks, default size, two at a time): synthetic data, plus the real lyrics set when found or downloadable
	$(PY) -m dplib.cli reproduce

test: unit notebooks  ## unit tests, then every notebook under nbval in quick mode

unit: $(STAMP)  ## the unit tests, one worker per CPU core (pytest-xdist)
	DPLIB_QUICK=1 $(PY) -m pytest -n auto tests

notebooks: $(STAMP)
	DPLIB_QUICK=1 $(PY) -m dplib.cli nbval notebooks

bench: $(STAMP)  ## side-by-side benchmarks on the paper-size synthetic data; writes benchmarks/RESULTS.md
	$(PY) benchmarks/run.py --size paper

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

clean:  ## the virtual environment and build files; results/ (hours of training) stays
	rm -rf $(VENV) build *.egg-info

clean-results:  ## every saved result: the next make reproduce trains everything again
	rm -rf results
