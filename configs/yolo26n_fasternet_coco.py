# YOLO26n-FasterNet (the FasterNet backbone swap on YOLO26) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/yolo26_fasternet.py']
model = _base_.line.n
