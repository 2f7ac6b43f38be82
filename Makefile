# PoseCoach: one entry point for setup, the main job, tests and benchmarks.
# POSECOACH_CUDA=cu126 make setup   -> CUDA torch + mmcv CUDA ops (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
INBOX ?= inbox
STORE ?= store
REPORTS ?= reports_out
RUN_ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup setup-test run test test-fast lint typecheck format bench bench-live eval clean

setup:
	@bash scripts/setup.sh

# The main job: set up, then run the nightly flow once over $(INBOX).
run: setup
	$(VENV)/bin/posecoach run --inbox $(INBOX) --store $(STORE) --reports $(REPORTS) $(RUN_ARGS)

# The tests also want Debian's chromium (report pages in a real browser) and ffmpeg (rotated
# phone videos); setup installs them where apt is available, else those tests skip.
setup-test:
	@POSECOACH_TEST_TOOLS=1 bash scripts/setup.sh

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy over the packages (settings in pyproject.toml, [tool.mypy]).
typecheck: setup
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Everything, slow tier included (what CI runs).
test: lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast tier only, for the edit-test loop.
test-fast: lint
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py

# Live coaching's speed: a client streaming two_people_1080p.mp4 as JPEG at 28 frames/s to
# posecoach web's /api/live (BENCH_ARGS="--minutes 10" for the memory check; README "Figures").
BENCH_ARGS ?=
bench-live: setup
	$(PY) bench/live_speed.py $(BENCH_ARGS)

# Coaching evaluation: rep counts, views and findings against truth (real and generated clips).
eval: setup
	$(PY) bench/eval_coaching.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache test-output
