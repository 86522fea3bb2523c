# YOLO26-Down2x2-ReLU: YOLO26-Down2x2 with FasterNet's ReLU everywhere (ONNX Runtime and OpenVINO fuse it into
# the conv; SiLU costs a pass over every map).
_base_ = './yolo26_down2x2.py'
relu = dict(type='ReLU', inplace=True)
line = {name: dict(backbone=dict(act_cfg=relu), neck=dict(act_cfg=relu), bbox_head=dict(head_module=dict(act_cfg=relu)))
        for name in _base_.scales}
