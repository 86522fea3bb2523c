# The placement search's candidates (tools/analysis_tools/compare_report.py --search): where FasterNet's ideas
# go in YOLO11. FasterNet's block inside YOLO11's CSP blocks ("C3k2-Faster") in the backbone, the neck or both;
# PConv (or depthwise convs) as the head's box convs; FasterNet's two other CPU choices, 2x2 stride-2
# downsampling (its patch merging's kernel) and ReLU; and their combinations. Not a config to train: each
# candidate is a `model` override, merged by the search into configs/yolo11{scale}_coco.py (or the base that
# `faster_candidate_bases` names). The shipped lines are in configs/_base_/lines/; the measured results are in
# docs/benchmarks/.
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
# and OpenVINO fuse into the conv (SiLU costs a separate pass over every map), and 2x2 stride-2 convs
# instead of 3x3 (4/9 of the multiply-adds of YOLO11's downsampling; named "down2x2" below).
faster_act = dict(type='ReLU', inplace=True)
down2x2_kernel = 2  # `downsample_kernel` of backbone and neck
_down2x2 = dict(downsample_kernel=down2x2_kernel)
_relu = dict(act_cfg=faster_act)
_relu_down2x2 = dict(act_cfg=faster_act, downsample_kernel=down2x2_kernel)
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
    down2x2=dict(backbone=_down2x2, neck=_down2x2),
    relu_down2x2=dict(backbone=_relu_down2x2, neck=_relu_down2x2, bbox_head=_relu_head),
    # PConv where it paid (the head's box convs, then the CSP blocks) with 2x2 downsampling, keeping
    # YOLO11's SiLU ...
    down2x2_head=dict(backbone=_down2x2, neck=_down2x2, **faster_head),
    down2x2_neck_head=dict(backbone=_down2x2,
                           neck=dict(_down2x2, csp_block=faster_block), **faster_head),
    down2x2_both_head=dict(backbone=dict(_down2x2, csp_block=faster_block),
                           neck=dict(_down2x2, csp_block=faster_block), **faster_head),
    # 2x2 downsampling with FasterNet's ReLU in the backbone only (the lite backbone's activation).
    down2x2_relu_backbone=dict(backbone=_relu_down2x2, neck=_down2x2),
    # The box convs as depthwise 3x3 + 1x1 (the class branch's own pair): as cheap as PConv + 1x1
    # but every channel keeps its 3x3 neighbourhood, alone and with 2x2 downsampling.
    head_dw=dw_head,
    down2x2_head_dw=dict(backbone=_down2x2, neck=_down2x2, **dw_head),
    # PConv in the head (and the CSP blocks) with 2x2 downsampling, on FasterNet's ReLU.
    relu_head=dict(backbone=_relu, neck=_relu, bbox_head=_relu_pconv_head),
    relu_down2x2_head=dict(backbone=_relu_down2x2, neck=_relu_down2x2, bbox_head=_relu_pconv_head),
    relu_down2x2_neck_head=dict(backbone=_relu_down2x2, neck=dict(_relu_down2x2, csp_block=faster_block),
                                bbox_head=_relu_pconv_head),
    relu_down2x2_both_head=dict(backbone=dict(_relu_down2x2, csp_block=faster_block),
                                neck=dict(_relu_down2x2, csp_block=faster_block),
                                bbox_head=_relu_pconv_head),
)
# Candidates on another base line than plain YOLO11 ('{}' is the scale letter).
faster_candidate_bases = dict(lite_neck='yolo11{}_fasternet_lite_coco.py',
                              lite_neck_head='yolo11{}_fasternet_lite_coco.py',
                              lite_neck_mlp1_head='yolo11{}_fasternet_lite_coco.py')
del _c3k, _down2x2, _relu, _relu_down2x2, _relu_head, _relu_pconv_head
