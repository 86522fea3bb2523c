# YOLO11n-FasterNet-lite (CPU variant of the FasterNet backbone) with the demo recipe.
_base_ = ['./_base_/fire_demo.py', './_base_/lines/fasternet_lite.py']
model = _base_.line.n
