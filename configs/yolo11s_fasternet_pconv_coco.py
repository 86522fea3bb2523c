# YOLO11s-FasterNet-PConv (FasterNet blocks in the neck, PConv in the head) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/fasternet_pconv.py']
model = _base_.line.s
