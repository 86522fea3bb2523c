# The FasterNet backbone of the reference YAML's swap (`[-1, 1, FasterNet, [w]]`): FasterNet-T0's depths and
# GELU, stage widths from the scale's width factor (n is T0 itself and takes its ImageNet weights), P3-P5 out,
# each normalised. A line adds `widen_factor` per scale (configs/_base_/lines/fasternet.py, yolo26_fasternet.py).
fasternet_backbone = dict(
    _delete_=True, type='FasterNet', arch='t0', out_indices=(1, 2, 3), out_norm=True, drop_path_rate=0.0,
    init_cfg=None)  # dict(type='Pretrained', checkpoint='fasternet_t0-....pth') for ImageNet weights
