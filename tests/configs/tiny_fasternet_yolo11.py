# A tiny YOLO11-FasterNet (FasterNet -> YOLO11 neck -> Detect, no SPPF/C2PSA: they need >= 128 channels) with
# the demo recipe cut to one epoch: its checkpoints are small enough to keep as test fixtures.
_base_ = './tiny_fire_recipe.py'

tiny = dict(deepen_factor=0.5, widen_factor=0.0625, max_channels=1024, force_c3k=False)
model = dict(
    backbone=dict(
        _delete_=True, type='FasterNet', arch=dict(embed_dim=8, depths=(1, 1, 1, 1), act_cfg=dict(type='ReLU')),
        out_indices=(1, 2, 3)),
    neck=dict(**tiny, in_channels=[16, 32, 64], p5_context=False),
    bbox_head=dict(head_module=dict(in_channels=[16, 32, 64])))
