from .yolo11_head import YOLO11Head, YOLO11HeadModule
from .yolo26_head import YOLO26Head

__all__ = ['YOLO11Head', 'YOLO11HeadModule', 'YOLO26Head']
