# YOLO11n-Down2x2 (2x2 stride-2 downsampling convs) on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/down2x2.py']
model = _base_.line.n
