# YOLO11x on COCO (80 classes), Ultralytics 8.3.0 recipe. The scale numbers come from _base_/yolo11_scales.py.
_base_ = './_base_/models/yolo11.py'

scale = _base_.scales.x
model = dict(
    backbone=dict(**scale.factors),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
