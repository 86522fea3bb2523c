from .yolo26_assigner import YOLO26TaskAlignedAssigner

__all__ = ['YOLO26TaskAlignedAssigner']
