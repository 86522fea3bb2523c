# YOLO26s-FasterNet-lite (CPU variant of the FasterNet backbone on YOLO26) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/yolo26_fasternet_lite.py']
model = _base_.line.s
