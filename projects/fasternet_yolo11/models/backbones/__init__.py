from .fasternet import FasterNet
from .yolo11_csp_darknet import YOLO11CSPDarknet

__all__ = ['FasterNet', 'YOLO11CSPDarknet']
