from .chained_yolo_detector import ChainedYOLODetector

__all__ = ['ChainedYOLODetector']
