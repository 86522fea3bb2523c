"""YOLO11 and YOLO11-FasterNet for MMYOLO.

Importing this package registers every module of the project in mmyolo's
registries (``custom_imports`` in the configs does it for the tools) and
installs the weights-only checkpoint allow-list.
"""
from . import checkpoint_safety  # noqa: F401  (must come first: tools load checkpoints)
from . import fasternet  # noqa: F401,E402  FasterNet backbone
