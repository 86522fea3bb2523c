# YOLO11-FasterNet, the reference YAML's swap: a FasterNet backbone (`[-1, 1, FasterNet, [w]]`, w = the scale's
# width, so n is FasterNet-T0 and takes its ImageNet weights), then SPPF + C2PSA on P5 (built by the neck, so the
# backbone stays exactly FasterNet) and the YOLO11 neck and head.
_base_ = '../yolo11_scales.py'
line = {
    name: dict(
        backbone=dict(
            _delete_=True, type='FasterNet', arch='t0', widen_factor=f['widen_factor'], out_indices=(1, 2, 3),
            out_norm=True, drop_path_rate=0.0,
            init_cfg=None),  # dict(type='Pretrained', checkpoint='fasternet_t0-....pth') for ImageNet weights
        neck=dict(**f, p5_context=True))
    for name, f in _base_.scales.items()
}
