# YOLO11n-FasterNet-lite (CPU variant of the FasterNet backbone) on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/fasternet_lite.py']
model = _base_.line.n
