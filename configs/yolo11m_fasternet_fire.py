# YOLO11m-FasterNet on the fire data (seed:
#  epochs 100, imgsz 640, batch 8): FasterNet -> SPPF, C2PSA on P5 -> YOLO11 neck -> Detect.
_base_ = ['./_base_/yolo11_fire.py', './_base_/models/fasternet.py']

scale, fasternet = _base_.scales.m, _base_.fasternet_scales.m
model = dict(
    backbone=dict(_delete_=True, **fasternet.backbone),
    neck=dict(**scale.factors, in_channels=fasternet.out_channels, p5_context=True),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
