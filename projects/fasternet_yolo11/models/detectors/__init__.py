from .chained_yolo_detector import ChainedYOLODetector
from .distilled_yolo_detector import DistilledYOLODetector, record_output

__all__ = ['ChainedYOLODetector', 'DistilledYOLODetector', 'record_output']
