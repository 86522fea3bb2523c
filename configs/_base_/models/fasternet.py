# FasterNet as YOLO11's backbone, mirroring the seed YAML:
#   backbone: [-1, 1, FasterNet, [w]]  ->  P2..P5;  [-1, 1, SPPF, [1024, 5]];  [-1, 2, C2PSA, [1024]]
#   head:     the YOLO11 head, concatenating FasterNet's P4 and P3.
# Here the backbone is exactly the (ImageNet-pretrainable) FasterNet; SPPF + C2PSA on P5 are built by
# the neck (YOLO11PAFPN(p5_context=True)). A mixin: it holds only `fasternet_*` keys, so it can sit
# beside any YOLO11 base. Leaf configs use it as
#   scale, fasternet = _base_.scales.n, _base_.fasternet_scales.n
#   model = dict(backbone=dict(_delete_=True, **fasternet.backbone),
#                neck=dict(**scale.factors, in_channels=fasternet.out_channels, p5_context=True), ...)

# The seed YAML's FasterNet argument per YOLO scale.
_fasternet_widen = dict(n=0.25, s=0.5, m=1.0, l=1.0, x=1.5)


def _fasternet_scales(arch, base_embed_dim, widen=_fasternet_widen):
    """One entry per YOLO scale: the backbone dict and its P3/P4/P5 channels (2, 4, 8 x embed_dim,
    embed_dim = make_divisible(base_embed_dim * w, 8), FasterNet's width rule)."""
    return {
        name: dict(
            backbone=dict(
                type='FasterNet',
                arch=arch,
                widen_factor=w,
                out_indices=(1, 2, 3),  # P3/P4/P5 (strides 8/16/32)
                out_norm=True,  # BN on each output, as the official detection backbone
                drop_path_rate=0.0,
                init_cfg=None),  # dict(type='Pretrained', checkpoint='fasternet_t0-....pth') for ImageNet weights
            out_channels=[k * int(-(-base_embed_dim * w // 8)) * 8 for k in (2, 4, 8)])
        for name, w in widen.items()
    }


# The seed's line: T0's depths and GELU, embed_dim 160 * w, so the n scale is FasterNet-T0.
fasternet_scales = _fasternet_scales('t0', 160)
# The CPU-latency line (arch 'lite', not in the paper; see the README's comparison): embed_dim 128 * w
# (YOLO11's own backbone widths), depths 1/2/4/2, ReLU.
fasternet_lite_scales = _fasternet_scales('lite', 128)
del _fasternet_widen
