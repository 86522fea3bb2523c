# YOLO11 (Ultralytics 8.3.0 yolo11.yaml): the CSPDarknet backbone ending with SPPF + C2PSA, the PAFPN, Detect.
_base_ = '../yolo11_scales.py'
line = {name: dict(backbone=dict(**f), neck=dict(**f)) for name, f in _base_.scales.items()}
