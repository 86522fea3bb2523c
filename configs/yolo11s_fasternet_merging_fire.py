# YOLO11s-FasterNet-Merging on the fire data (seed defaults: epochs 100, imgsz 640, batch 8):
#  YOLO11s with FasterNet's patch merging: every stride-2 conv of the backbone (stem and stages) and of the
#  neck's bottom-up path is a non-overlapping 2x2 conv instead of YOLO11's 3x3 (4/9 of the multiply-adds).
#  The placement search's pick for the CPU (README, "Which model should I run on a CPU?"): the one change
#  that kept YOLO11's accuracy; PConv in the head or the CSP blocks and ReLU were faster but lost mAP.
_base_ = ['./_base_/yolo11_fire.py', './_base_/models/faster_blocks.py']

scale = _base_.scales.s
model = dict(
    backbone=dict(**scale.factors, downsample_kernel=_base_.merging_kernel),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels, downsample_kernel=_base_.merging_kernel),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
