"""YOLO11 backbone, neck, head and detector against Ultralytics 8.3.0's published structure numbers."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from _tools import REPO  # noqa: E402
from mmdet.structures import DetDataSample
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmyolo.registry import MODELS
from mmyolo.utils import switch_to_deploy

from fasternet_yolo11.models.dense_heads.yolo11_head import YOLO11HeadModule
from fasternet_yolo11.models.layers.yolo11_layers import C2PSA, SPPF, C3k2
from fasternet_yolo11.models.necks.yolo11_pafpn import YOLO11PAFPN

# yolo11.yaml summaries (unfused): parameters, of which the 16 of the frozen DFL conv are a buffer here
ULTRALYTICS_PARAMS = dict(n=2_624_080, s=9_458_752, m=20_114_688, l=25_372_160, x=56_966_176)
DFL_PARAMS = 16
# YOLO11n per-layer parameters (layers 0..23) and the module holding each layer here
YOLO11N_LAYER_PARAMS = [
    464, 4672, 6640, 36992, 26080, 147712, 87040, 295424, 346112, 164608, 249728, 0, 0, 111296, 0, 0, 32096,
    36992, 0, 86720, 147712, 0, 378880, 464912
]
LAYER_MODULES = {
    0: 'backbone.stem', 1: 'backbone.stage1.0', 2: 'backbone.stage1.1', 3: 'backbone.stage2.0',
    4: 'backbone.stage2.1', 5: 'backbone.stage3.0', 6: 'backbone.stage3.1', 7: 'backbone.stage4.0',
    8: 'backbone.stage4.1', 9: 'backbone.stage4.2', 10: 'backbone.stage4.3', 13: 'neck.top_down_layers.0',
    16: 'neck.top_down_layers.1', 17: 'neck.downsample_layers.0', 19: 'neck.bottom_up_layers.0',
    20: 'neck.downsample_layers.1', 22: 'neck.bottom_up_layers.1', 23: 'bbox_head'
}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def load_cfg(scale):
    return Config.fromfile(osp.join(REPO, 'configs', f'yolo11{scale}_coco.py'))


def build_detector(scale, **head_overrides):
    cfg = load_cfg(scale)
    cfg.model.bbox_head.head_module.update(head_overrides)
    init_default_scope('mmyolo')
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('scale', ['n', 's', 'm', 'l', 'x'])
def test_param_count_matches_ultralytics(scale):
    model = build_detector(scale)
    assert n_params(model) == ULTRALYTICS_PARAMS[scale] - DFL_PARAMS
    # every parameter trains (Ultralytics' "gradients" count is the same number)
    assert all(p.requires_grad for p in model.parameters())


def test_yolo11n_per_layer_params():
    model = build_detector('n')
    modules = dict(model.named_modules())
    counted = 0
    for layer, expected in enumerate(YOLO11N_LAYER_PARAMS):
        if layer not in LAYER_MODULES:
            assert expected == 0  # Upsample / Concat
            continue
        got = n_params(modules[LAYER_MODULES[layer]])
        assert got == expected - (DFL_PARAMS if layer == 23 else 0), f'model.{layer}'
        counted += got
    assert counted == n_params(model)


@pytest.mark.parametrize('scale, c3k_everywhere, psa_blocks', [('s', False, 1), ('m', True, 1), ('l', True, 2)])
def test_c3k_rule_and_repeats(scale, c3k_everywhere, psa_blocks):
    model = build_detector(scale)
    c3k2 = {name: m for name, m in model.named_modules() if isinstance(m, C3k2)}
    assert len(c3k2) == 8
    yaml_c3k = {'backbone.stage3.1', 'backbone.stage4.1', 'neck.bottom_up_layers.1'}
    for name, m in c3k2.items():
        uses_c3k = type(m.blocks[0]).__name__ == 'C3k'
        assert uses_c3k == (c3k_everywhere or name in yaml_c3k), name
        assert len(m.blocks) == psa_blocks  # yaml n=2 -> round(2 * depth)
    assert len(model.backbone.stage4[3].blocks) == psa_blocks


def test_backbone_neck_shapes_and_names():
    model = build_detector('n').eval()
    x = torch.randn(1, 3, 96, 128)
    feats = model.backbone(x)
    assert [tuple(f.shape) for f in feats] == [(1, 128, 12, 16), (1, 128, 6, 8), (1, 256, 3, 4)]
    assert [type(m).__name__ for m in model.backbone.stage4] == ['ConvModule', 'C3k2', 'SPPF', 'C2PSA']
    outs = model.neck(feats)
    assert [tuple(f.shape) for f in outs] == [(1, 64, 12, 16), (1, 128, 6, 8), (1, 256, 3, 4)]
    assert all(isinstance(m, torch.nn.Identity) for m in model.neck.reduce_layers)


def test_neck_p5_context_for_foreign_backbone():
    """FasterNet-style inputs: real channels in, SPPF(C(1024)) + C2PSA on P5, the same neck widths out."""
    factors = dict(deepen_factor=0.5, widen_factor=0.25, max_channels=1024)
    neck = YOLO11PAFPN(in_channels=[160, 320, 640], p5_context=True, **factors)
    sppf, c2psa = neck.reduce_layers[2]
    assert isinstance(sppf, SPPF) and isinstance(c2psa, C2PSA)
    assert (sppf.conv1.conv.in_channels, sppf.conv2.conv.out_channels) == (640, 256)
    feats = [torch.randn(2, c, s, s) for c, s in ((160, 16), (320, 8), (640, 4))]
    assert [f.shape[1] for f in neck(feats)] == [64, 128, 256]
    # on YOLO11n's own backbone widths the context adds exactly Ultralytics' layers 9 and 10
    plain = YOLO11PAFPN(in_channels=[128, 128, 256], **factors)
    with_context = YOLO11PAFPN(in_channels=[128, 128, 256], p5_context=True, **factors)
    assert n_params(with_context) - n_params(plain) == 164608 + 249728


@pytest.mark.parametrize('in_channels, num_classes, reg_ch, cls_ch', [
    ([64, 128, 256], 80, 64, 80), ([128, 256, 512], 80, 64, 128), ([384, 768, 768], 80, 96, 384),
    ([64, 128, 256], 1000, 64, 100), ([40, 80, 160], 3, 64, 40)])
def test_head_channels(in_channels, num_classes, reg_ch, cls_ch):
    head = YOLO11HeadModule(num_classes, in_channels)
    assert head.in_channels == in_channels  # real channels, no widen_factor
    for i, c in enumerate(in_channels):
        reg, cls = head.reg_preds[i], head.cls_preds[i]
        assert reg[0].conv.in_channels == c and reg[1].conv.out_channels == reg_ch
        assert reg[2].out_channels == 64 and reg[2].bias is not None
        dw, pw = cls[0]
        assert dw.conv.groups == c and dw.conv.kernel_size == (3, 3) and pw.conv.out_channels == cls_ch
        assert cls[1][0].conv.groups == cls_ch and cls[2].out_channels == num_classes


def test_head_bias_init_and_dfl_buffer():
    head = YOLO11HeadModule(80, [64, 128, 256])
    head.init_weights()
    for reg, cls, stride in zip(head.reg_preds, head.cls_preds, (8, 16, 32)):
        assert torch.all(reg[-1].bias == 1.0)
        torch.testing.assert_close(cls[-1].bias, torch.full((80, ), math.log(5 / 80 / (640 / stride)**2)))
    assert torch.isclose(head.cls_preds[0][-1].bias[0], torch.tensor(-11.537), atol=1e-3)
    assert 'proj' not in head.state_dict() and torch.equal(head.proj, torch.arange(16.))
    head.eval()
    feats = [torch.randn(1, c, s, s) for c, s in ((64, 4), (128, 2), (256, 1))]
    cls_scores, bbox_preds = head(feats)
    dist = head.reg_preds[0](feats[0]).view(1, 4, 16, 16).softmax(2)
    torch.testing.assert_close(bbox_preds[0], (dist * torch.arange(16.).view(1, 1, 16, 1)).sum(2).view(1, 4, 4, 4))


def test_init_weights_is_pytorch_default():
    model = build_detector('n')
    model.init_weights()
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            assert m.weight.abs().max() <= 1 / math.sqrt(m.weight[0].numel()) + 1e-7, name


def test_losses_finite_and_falling():
    """YOLO11n on a fixed 2-image 128x128 batch: the three terms are finite, positive and fall within 4 steps."""
    torch.manual_seed(0)
    model = build_detector('n')
    model.init_weights()
    model.train()
    inputs = torch.rand(2, 3, 128, 128)
    # rows: (image index, class, x1, y1, x2, y2) in pixels, as yolov5_collate makes them
    bboxes_labels = torch.tensor([[0, 3, 10., 20., 60., 90.], [0, 7, 70., 30., 120., 70.],
                                  [1, 3, 30., 30., 100., 110.], [1, 0, 5., 5., 40., 30.]])
    samples = dict(bboxes_labels=bboxes_labels,
                   img_metas=[dict(img_shape=(128, 128), batch_input_shape=(128, 128))] * 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(4):
        losses = model.loss(inputs, samples)
        assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
        assert all(torch.isfinite(v) and v > 0 for v in losses.values())
        history.append({k: v.item() for k, v in losses.items()})
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    for key in history[0]:
        assert history[-1][key] < 0.9 * history[0][key], (key, [h[key] for h in history])


def test_predict_and_deploy_flops():
    model = build_detector('n')
    model.init_weights()
    model.eval()
    sample = DetDataSample(metainfo=dict(
        img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.), pad_param=np.zeros(4, dtype=np.float32)))
    data = dict(inputs=[torch.randint(0, 256, (3, 96, 128), dtype=torch.uint8)], data_samples=[sample])
    with torch.no_grad():
        result = model.test_step(data)[0].pred_instances
    assert result.bboxes.shape[1] == 4 and len(result) <= 300
    assert torch.all(result.scores > 0.001)
    assert torch.all(result.bboxes[:, 2] <= 128) and torch.all(result.bboxes[:, 3] <= 96)
    # deploy form for tools/analysis_tools/get_flops.py
    switch_to_deploy(model)
    with torch.no_grad():
        info = get_model_complexity_info(model, inputs=torch.rand(1, 3, 160, 160), show_table=False,
                                         show_arch=False)
    assert info['params'] == n_params(model)
    # MACs grow with the pixel count: 6.6 GFLOPs (= 2 x MACs) at 640 is ~0.2 GMACs at 160
    assert 0.18e9 < info['flops'] < 0.24e9
