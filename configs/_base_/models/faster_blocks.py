# Where PConv goes (issue 12): FasterNet's block inside YOLO11's CSP blocks ("C3k2-Faster"), in the
# backbone, the neck or both; PConv (or depthwise convs) in the head's box convs; and FasterNet's two
# other CPU choices, its patch merging (2x2 stride-2 convs) and ReLU.
# A mixin: it holds no `model`, so it can sit beside any YOLO11 base. Each candidate is a `model`
# override (merged into the base config's model); compare_report.py --search measures them all
# (PLACEMENT_SPACE there) against YOLO11n. A leaf config uses one as
#   _base_ = ['./_base_/models/yolo11.py', './_base_/models/faster_blocks.py']
#   model = _base_.faster_candidates.neck   # or backbone / both / ..., then the scale's fields
# Shipped lines: configs/yolo11{n,s}_fasternet_merging_*.py is the `merging` candidate (the pick: the
# only one that kept YOLO11's accuracy), configs/yolo11{n,s}_fasternet_pconv_*.py `neck_head_pconv`.
# Blocks: projects/fasternet_yolo11/models/layers/faster_blocks.py (C3k2Faster, C3kFaster, FasterBottleneck).

# The FasterNet block as in the paper: PConv on 1/4 of the channels, hidden width 2C, the CSP layer's SiLU.
faster_block = dict(type='C3k2Faster', n_div=4, mlp_ratio=2.0)
# The same with every C3k2 in its C3k variant (C3kFaster: 2 FasterBottlenecks), YOLO11 m/l/x's rule.
_c3k = dict(csp_block=faster_block, force_c3k=True)
# PConv + 1x1 instead of each 3x3 conv of the head's box branch (the class branch is depthwise already).
head_pconv_n_div = 4
faster_head = dict(bbox_head=dict(head_module=dict(pconv_n_div=head_pconv_n_div)))
# Depthwise 3x3 + 1x1 instead of each 3x3 conv of the box branch.
dw_head = dict(bbox_head=dict(head_module=dict(box_dwconv=True)))

# FasterNet's two other CPU choices, as ingredients of the placements below: ReLU, which ONNX Runtime
# and OpenVINO fuse into the conv (SiLU costs a separate pass over every map), and patch merging
# (2x2 stride-2 convs instead of 3x3: 4/9 of the multiply-adds of YOLO11's downsampling).
faster_act = dict(type='ReLU', inplace=True)
merging_kernel = 2  # `downsample_kernel` of backbone and neck
_merging = dict(downsample_kernel=merging_kernel)
_relu = dict(act_cfg=faster_act)
_relu_merging = dict(act_cfg=faster_act, downsample_kernel=merging_kernel)
_relu_head = dict(head_module=dict(act_cfg=faster_act))
_relu_pconv_head = dict(head_module=dict(act_cfg=faster_act, pconv_n_div=head_pconv_n_div))

# name -> model override; the base is configs/yolo11{scale}_coco.py unless `faster_candidate_bases` says.
faster_candidates = dict(
    backbone=dict(backbone=dict(csp_block=faster_block)),
    neck=dict(neck=dict(csp_block=faster_block)),
    both=dict(backbone=dict(csp_block=faster_block), neck=dict(csp_block=faster_block)),
    backbone_c3k=dict(backbone=_c3k),
    neck_c3k=dict(neck=_c3k),
    both_c3k=dict(backbone=_c3k, neck=_c3k),
    head_pconv=faster_head,
    # FasterNet-lite backbone (its own PConv) + C3k2-Faster in the neck.
    lite_neck=dict(neck=dict(csp_block=faster_block)),
    # C3k2-Faster with mlp_ratio 1 (the 1x1 convs dominate its MACs; 1 halves them), and the
    # neck + head pair (they run at the largest maps).
    both_mlp1=dict(backbone=dict(csp_block=dict(faster_block, mlp_ratio=1.0)),
                   neck=dict(csp_block=dict(faster_block, mlp_ratio=1.0))),
    neck_head_pconv=dict(neck=dict(csp_block=faster_block), **faster_head),
    # The three places that each saved latency on their own, together: PConv in the backbone
    # (lite), in the neck and in the head; and the same with C3k2-Faster in YOLO11's backbone.
    lite_neck_head=dict(neck=dict(csp_block=faster_block), **faster_head),
    both_head=dict(backbone=dict(csp_block=faster_block), neck=dict(csp_block=faster_block),
                   **faster_head),
    # lite + neck + head with the neck's hidden width halved (mlp_ratio 1: its 1x1 convs dominate).
    lite_neck_mlp1_head=dict(neck=dict(csp_block=dict(faster_block, mlp_ratio=1.0)),
                             **faster_head),
    # The ingredients alone (no PConv), to tell what each buys.
    relu=dict(backbone=_relu, neck=_relu, bbox_head=_relu_head),
    merging=dict(backbone=_merging, neck=_merging),
    relu_merging=dict(backbone=_relu_merging, neck=_relu_merging, bbox_head=_relu_head),
    # PConv where it paid (the head's box convs, then the CSP blocks) with patch merging, keeping
    # YOLO11's SiLU ...
    merging_head=dict(backbone=_merging, neck=_merging, **faster_head),
    merging_neck_head=dict(backbone=_merging,
                           neck=dict(_merging, csp_block=faster_block), **faster_head),
    merging_both_head=dict(backbone=dict(_merging, csp_block=faster_block),
                           neck=dict(_merging, csp_block=faster_block), **faster_head),
    # Patch merging with FasterNet's ReLU in the backbone only (the lite backbone's activation).
    merging_relu_backbone=dict(backbone=_relu_merging, neck=_merging),
    # The box convs as depthwise 3x3 + 1x1 (the class branch's own pair): as cheap as PConv + 1x1
    # but every channel keeps its 3x3 neighbourhood, alone and with patch merging.
    head_dw=dw_head,
    merging_head_dw=dict(backbone=_merging, neck=_merging, **dw_head),
    # PConv in the head (and the CSP blocks) with patch merging, on FasterNet's ReLU.
    relu_head=dict(backbone=_relu, neck=_relu, bbox_head=_relu_pconv_head),
    relu_merging_head=dict(backbone=_relu_merging, neck=_relu_merging, bbox_head=_relu_pconv_head),
    relu_merging_neck_head=dict(backbone=_relu_merging, neck=dict(_relu_merging, csp_block=faster_block),
                                bbox_head=_relu_pconv_head),
    relu_merging_both_head=dict(backbone=dict(_relu_merging, csp_block=faster_block),
                                neck=dict(_relu_merging, csp_block=faster_block),
                                bbox_head=_relu_pconv_head),
)
# Candidates on another base line than plain YOLO11 ('{}' is the scale letter).
faster_candidate_bases = dict(lite_neck='yolo11{}_fasternet_lite_coco.py',
                              lite_neck_head='yolo11{}_fasternet_lite_coco.py',
                              lite_neck_mlp1_head='yolo11{}_fasternet_lite_coco.py')
del _c3k, _merging, _relu, _relu_merging, _relu_head, _relu_pconv_head
