# YOLO11n-FasterNet-lite on COCO (80 classes), Ultralytics' recipe:
#  the CPU-latency line (FasterNet arch 'lite') -> SPPF, C2PSA on P5 -> YOLO11 neck -> Detect.
_base_ = ['./_base_/models/yolo11.py', './_base_/models/fasternet.py']

scale, fasternet = _base_.scales.n, _base_.fasternet_lite_scales.n
model = dict(
    backbone=dict(_delete_=True, **fasternet.backbone),
    neck=dict(**scale.factors, in_channels=fasternet.out_channels, p5_context=True),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
