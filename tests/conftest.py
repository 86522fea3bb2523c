"""Test set-up: the package registered and the engine set up as every tool does (``cli.start``).

The package is installed (editable) into the venv by tools/setup_env.sh: no path set-up here.
"""
import fasternet_yolo11  # noqa: F401  (registers the project's modules)
from fasternet_yolo11.utils import cli

cli.start()
