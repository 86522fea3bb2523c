# YOLO11n-FasterNet (FasterNet backbone) with the demo recipe.
_base_ = ['./_base_/fire_demo.py', './_base_/lines/fasternet.py']
model = _base_.line.n
