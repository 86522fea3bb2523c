# YOLO11n on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/yolo11.py']
model = _base_.line.n
