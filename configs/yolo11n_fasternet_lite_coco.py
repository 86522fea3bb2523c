# YOLO11n-FasterNet-lite (CPU variant of the FasterNet backbone) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/fasternet_lite.py']
model = _base_.line.n
