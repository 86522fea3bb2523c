"""Evaluation: ``DetectionPRMetric`` (COCO mAP + P/R/F1 at the best-F1 threshold, fitness),
the one matching implementation (``matching.py``), the operator's files (``reports.py``) and
the config edits behind the tools' ``--eval-dir`` / ``--patience`` (``config_helpers.py``)."""
from .metrics import DetectionPRMetric  # noqa: F401  (registration)
