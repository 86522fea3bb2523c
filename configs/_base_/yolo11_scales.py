# YOLO11 model scales: the one place that holds Ultralytics' numbers (yolo11.yaml `scales:`).
# Per-scale configs pick an entry: `scale = _base_.scales.n`.
# name: [depth, width, max_channels], as in yolo11.yaml
_yaml_scales = dict(
    n=[0.50, 0.25, 1024],
    s=[0.50, 0.50, 1024],
    m=[0.50, 1.00, 512],
    l=[1.00, 1.00, 512],
    x=[1.00, 1.50, 512])
# parse_model turns every C3k2 into its C3k variant for these scales
_c3k_scales = 'mlx'


def _width(c, widen_factor, max_channels):
    """parse_model's width rule: make_divisible(min(c, max_channels) * width, 8)."""
    return int(-(-min(c, max_channels) * widen_factor // 8)) * 8  # ceil; no imports in this config


# Everything a scale needs: `factors` are the backbone's and neck's scaling arguments (pass them as
# `**scale.factors`); the P3/P4/P5 widths are derived here once so configs never recompute them: the backbone
# outputs yaml widths 512/512/1024, the neck 256/512/1024 (the head's real in_channels).
scales = {
    name: dict(
        factors=dict(deepen_factor=d, widen_factor=w, max_channels=max_c, force_c3k=name in _c3k_scales),
        backbone_out_channels=[_width(c, w, max_c) for c in (512, 512, 1024)],
        neck_out_channels=[_width(c, w, max_c) for c in (256, 512, 1024)])
    for name, (d, w, max_c) in _yaml_scales.items()
}
del _yaml_scales, _c3k_scales
