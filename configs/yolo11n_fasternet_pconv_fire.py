# YOLO11n-FasterNet-PConv (FasterNet blocks in the neck, PConv in the head) on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/fasternet_pconv.py']
model = _base_.line.n
