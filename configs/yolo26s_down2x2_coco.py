# YOLO26s-Down2x2 (2x2 stride-2 convs) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/yolo26_down2x2.py']
model = _base_.line.s
