# YOLO26l on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/yolo26.py']
model = _base_.line.l
