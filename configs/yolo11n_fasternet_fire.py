# YOLO11n-FasterNet (FasterNet backbone) on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/fasternet.py']
model = _base_.line.n
