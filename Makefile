# Targets mirror the README; PY is the virtualenv's python.
VENV ?= .venv
PY = $(VENV)/bin/python

.PHONY: setup evaluate baselines test lint lab bench cv pretrain notebooks

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch 2.13 first: on our CI machine it resolves to the CPU build (no CUDA download)
	$(PY) -m pip install "torch==2.13.*"
	$(PY) -m pip install -e ".[dev]"

# the venv's nbconvert config: `jupyter nbconvert --execute --inplace` then saves no execution timestamps
# and merges each cell's stdout into one output after the run (not in pieces as it arrived), so an
# executed notebook equals the committed one and git status stays clean
NBCONVERT_CONFIG = $(VENV)/etc/jupyter/jupyter_nbconvert_config.json
$(NBCONVERT_CONFIG): Makefile | $(PY)
	mkdir -p $(dir $@)
	echo '{"ExecutePreprocessor": {"record_timing": false}, "Exporter": {"preprocessors":' \
	     '["nbconvert.preprocessors.CoalesceStreamsPreprocessor"]}}' > $@

setup: $(PY) $(NBCONVERT_CONFIG)

# the main job: the shipped DeRPoF (scored out of fold) and the three baselines on valid
evaluate: setup
	$(PY) -m posepred evaluate --predictor derpof --split valid
	$(PY) -m posepred evaluate --predictor zero-velocity --split valid
	$(PY) -m posepred evaluate --predictor constant-velocity --split valid
	$(PY) -m posepred evaluate --predictor damped-velocity --split valid

baselines: evaluate

lint: setup
	$(VENV)/bin/ruff check posepred tests benchmarks scripts notebooks/*.py

test: setup
	$(PY) scripts/check_notebooks_synced.py
	$(VENV)/bin/pytest tests
	$(VENV)/bin/pytest --nbval notebooks/ --nbval-sanitize-with notebooks/sanitize.cfg -p no:randomly \
		--nbval-cell-timeout=300

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

# speed and memory figures of this machine -> results/bench.json -> the README's Performance section
bench: setup
	$(PY) benchmarks/bench.py --floor --profile --compile --save
	$(PY) -m posepred report

cv: setup
	$(PY) -m posepred cv --save-folds checkpoints/derpof --overwrite
	$(PY) -m posepred report

pretrain: setup
	$(PY) -m posepred pretrain --overwrite

# re-sync every .py/.ipynb pair and re-execute the notebooks in place (300 s per cell at most;
# no execution timestamps or widget state saved): see scripts/execute_notebooks.py
notebooks: setup
	$(PY) scripts/execute_notebooks.py --timeout 300
