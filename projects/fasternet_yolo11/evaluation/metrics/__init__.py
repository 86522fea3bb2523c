"""Registered evaluation metrics."""
from .detection_pr_metric import DetectionPRMetric

__all__ = ['DetectionPRMetric']
