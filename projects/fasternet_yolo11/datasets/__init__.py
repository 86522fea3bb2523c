"""Data: the Ultralytics-layout dataset, its transforms, and the generated demo data."""
from .transforms import LenientAlbu
from .yolo_dataset import DataConfigError, YOLOFormatDataset

__all__ = ['YOLOFormatDataset', 'DataConfigError', 'LenientAlbu']
