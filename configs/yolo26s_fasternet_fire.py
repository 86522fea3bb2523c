# YOLO26s-FasterNet (the FasterNet backbone swap on YOLO26) on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/yolo26_fasternet.py']
model = _base_.line.s
