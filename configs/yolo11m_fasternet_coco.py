# YOLO11m-FasterNet (FasterNet backbone) on COCO.
_base_ = ['./_base_/models/yolo11.py', './_base_/lines/fasternet.py']
model = _base_.line.m
