# Two commands for a newcomer (see README):  make demo   |   make test
PY := .venv/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup test demo clean-venv

setup:  ## create .venv with the pinned OpenMMLab stack (idempotent)
	bash tools/setup_env.sh

test: setup  ## set up, then run the test suite
	$(PY) -m pytest tests

demo: setup  ## set up, then train YOLO11n-FasterNet on the fire demo and evaluate it
	bash tools/run_demo.sh

clean-venv:
	rm -rf .venv
