# YOLO26n on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/yolo26.py']
model = _base_.line.n
