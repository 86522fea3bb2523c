# Two commands for a newcomer (see README):  make demo   |   make test
PY := .venv/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup test demo compare clean-venv

setup:  ## create .venv with the pinned OpenMMLab stack (idempotent)
	bash tools/setup_env.sh

test: setup  ## set up, then run the test suite
	$(PY) -m pytest tests

demo: setup  ## set up, then train YOLO11n-FasterNet on the fire demo and evaluate it
	bash tools/run_demo.sh

compare: setup  ## YOLO11 vs YOLO11-FasterNet report (n, s; search; demo mAP at n, 3 seeds): ~1.5 h on 2 cores
	test -f data/fire_demo/fire_demo.yaml || $(PY) tools/misc/make_fire_demo.py --out data/fire_demo
	$(PY) tools/analysis_tools/compare_report.py --scales n s --search --options --seeds 0 1 2 --train-scales n \
		--train-data data/fire_demo/fire_demo.yaml --work-dir work_dirs/compare_report

clean-venv:
	rm -rf .venv
