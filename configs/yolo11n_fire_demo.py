# YOLO11n with the demo recipe.
_base_ = ['./_base_/fire_demo.py', './_base_/lines/yolo11.py']
model = _base_.line.n
