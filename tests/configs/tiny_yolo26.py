# A tiny YOLO26 (the yolo26 line at width 1/16) with the demo recipe cut to one epoch, for the tool tests.
_base_ = ['./tiny_fire_recipe.py', '../../configs/_base_/lines/yolo26.py']
tiny = dict(widen_factor=0.0625)
model = dict(_base_.line.n, backbone=dict(_base_.line.n.backbone, **tiny), neck=dict(_base_.line.n.neck, **tiny))
