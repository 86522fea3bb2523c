# YOLO26n-Down2x2-ReLU (2x2 stride-2 convs, ReLU) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/yolo26_down2x2_relu.py']
model = _base_.line.n
