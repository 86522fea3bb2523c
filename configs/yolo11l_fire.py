# YOLO11l on the fire data.
_base_ = ['./_base_/fire.py', './_base_/lines/yolo11.py']
model = _base_.line.l
