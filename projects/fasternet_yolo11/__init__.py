"""YOLO11 and YOLO11-FasterNet for MMYOLO.

Importing this package registers every module of the project in mmyolo's
registries (``custom_imports`` in the configs does it for the tools) and
installs the weights-only checkpoint allow-list.
"""
import os

# albumentations (imported by mmdet's Albu transform) checks PyPI for updates at import; no
# traffic may leave the machine from a training run.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

from . import checkpoint_safety  # noqa: F401,E402  (must come first: tools load checkpoints)
from . import fasternet  # noqa: F401,E402  FasterNet backbone
from . import yolo11_backbone, yolo11_neck, yolo11_head  # noqa: F401,E402  YOLO11
from . import yolo_dataset, transforms, hooks  # noqa: F401,E402  data, hooks
