from .yolo11_head import YOLO11Head, YOLO11HeadModule

__all__ = ['YOLO11Head', 'YOLO11HeadModule']
