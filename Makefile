# Two commands for a newcomer (see README):  make demo   |   make test
PY := .venv/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup test lint demo compare clean-venv

setup:  ## create .venv with the pinned OpenMMLab stack (idempotent)
	bash tools/setup_env.sh

test: setup  ## set up, lint (ruff: one line length, import order), then run the test suite
	.venv/bin/ruff check .
	$(PY) -m pytest -n 2 --dist loadfile tests  # two workers, one per core; a test file stays on one worker

lint: setup  ## ruff only; `.venv/bin/ruff check --fix .` repairs import order
	.venv/bin/ruff check .

demo: setup  ## set up, then train YOLO11n-FasterNet on the fire demo and evaluate it
	bash tools/run_demo.sh

compare: setup  ## YOLO11 vs YOLO11-FasterNet report (n, s; search; demo mAP at n, 3 seeds): ~2.5 h on 2 cores
	test -f data/fire_demo/fire_demo.yaml || $(PY) tools/misc/make_fire_demo.py --out data/fire_demo
	$(PY) tools/analysis_tools/compare_report.py --scales n s --search --options --seeds 0 1 2 --train-scales n \
		--train-data data/fire_demo/fire_demo.yaml --work-dir work_dirs/compare_report

clean-venv:
	rm -rf .venv
