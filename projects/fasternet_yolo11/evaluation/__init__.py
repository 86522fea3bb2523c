"""Evaluation: ``DetectionPRMetric`` (COCO mAP + P/R/F1 at the best-F1 threshold, fitness),
the one matching implementation (``matching.py``) and the operator's files (``reports.py``).
The config edits behind the tools' ``--eval-dir`` / ``--patience`` live in ``config/``."""
from .metrics import DetectionPRMetric  # noqa: F401  (registration)
