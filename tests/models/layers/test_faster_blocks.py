"""C3k2-Faster: FasterBottleneck, C3kFaster, C3k2Faster and PConv in the head.

Shapes and parameter counts by hand formula, the option off leaves YOLO11 exactly as it was,
the deploy form equals eager, and every placement candidate of configs/_search_/placements.py
exports to ONNX and matches ONNX Runtime."""
import copy

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmengine.config import Config
from mmyolo.registry import MODELS
from mmyolo.utils import register_all_modules
from torch import nn

from fasternet_yolo11.deploy.export_graphs import RawOutputs
from fasternet_yolo11.deploy.onnx_export import export
from fasternet_yolo11.models.deploy_form import switch_to_deploy
from fasternet_yolo11.models.layers import (
    Bottleneck,
    C3k,
    C3k2,
    C3k2Faster,
    C3kFaster,
    FasterBottleneck,
    PConv,
)
from fasternet_yolo11.utils.cli import REPO_ROOT

register_all_modules()
MIXIN = Config.fromfile(f'{REPO_ROOT}/configs/_search_/placements.py')
CANDIDATES = MIXIN.faster_candidates


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def faster_bottleneck_params(c, n_div=4, mlp_ratio=2.):
    """PConv 3x3 on p channels, 1x1 C->h, BN(h) weight+bias, 1x1 h->C."""
    p, h = c // n_div, int(c * mlp_ratio)
    return 9 * p * p + c * h + 2 * h + h * c


def conv_bn(cin, cout, k=1):
    return cin * cout * k * k + 2 * cout


def c3k2_outer_params(cin, cout, num_blocks, e=0.5):
    """C3k2's main_conv (1x1 -> 2 mid) and final_conv (1x1 from (2 + n) mid)."""
    mid = int(cout * e)
    return conv_bn(cin, 2 * mid) + conv_bn((2 + num_blocks) * mid, cout)


def c3k_outer_params(cin, cout, e=0.5):
    """C3k's main_conv, short_conv (1x1 -> mid each) and final_conv (1x1 2 mid -> out)."""
    mid = int(cout * e)
    return 2 * conv_bn(cin, mid) + conv_bn(2 * mid, cout)


@pytest.mark.parametrize('c, n_div, mlp_ratio', [(16, 4, 2.), (32, 2, 1.), (64, 4, 1.5), (24, 8, 3.)])
def test_faster_bottleneck_shape_and_params(c, n_div, mlp_ratio):
    block = FasterBottleneck(c, c, n_div=n_div, mlp_ratio=mlp_ratio)
    assert n_params(block) == faster_bottleneck_params(c, n_div, mlp_ratio)
    assert block.spatial_mixing.dim_conv3 == c // n_div
    x = torch.randn(2, c, 7, 9)
    assert block(x).shape == x.shape
    # the residual: with a zero projection the block is the identity
    nn.init.zeros_(block.mlp[3].weight)
    assert torch.equal(block(x), x)
    no_id = FasterBottleneck(c, c, n_div=n_div, mlp_ratio=mlp_ratio, add_identity=False)
    nn.init.zeros_(no_id.mlp[3].weight)
    assert torch.equal(no_id(x), torch.zeros_like(x))
    with pytest.raises(AssertionError):
        FasterBottleneck(c, 2 * c)


def test_block_activation_is_configurable():
    layer = C3k2Faster(32, 32, 1, block_act_cfg=dict(type='ReLU'))
    assert isinstance(layer.blocks[0].mlp[2], nn.ReLU)
    assert isinstance(layer.main_conv.activate, nn.SiLU)  # the CSP convs keep theirs
    assert isinstance(C3k2Faster(32, 32, 1).blocks[0].mlp[2], nn.SiLU)
    c3k = C3k2Faster(32, 32, 1, use_c3k=True, block_act_cfg=dict(type='ReLU'))
    assert isinstance(c3k.blocks[0].blocks[0].mlp[2], nn.ReLU)


@pytest.mark.parametrize('cin, cout, n, n_div, mlp_ratio, e', [
    (32, 64, 1, 4, 2., 0.25), (64, 64, 2, 4, 2., 0.5), (96, 48, 1, 2, 1., 0.5)])
def test_c3k2faster_params_by_formula(cin, cout, n, n_div, mlp_ratio, e):
    layer = C3k2Faster(cin, cout, n, expand_ratio=e, n_div=n_div, mlp_ratio=mlp_ratio)
    mid = int(cout * e)
    assert [type(b) for b in layer.blocks] == [FasterBottleneck] * n
    assert n_params(layer) == c3k2_outer_params(cin, cout, n, e) + \
        n * faster_bottleneck_params(mid, n_div, mlp_ratio)
    # the same outer convs (names and shapes) as C3k2
    plain = C3k2(cin, cout, n, expand_ratio=e)
    outer = {k: v.shape for k, v in layer.state_dict().items() if not k.startswith('blocks.')}
    assert outer == {k: v.shape for k, v in plain.state_dict().items() if not k.startswith('blocks.')}
    assert layer(torch.randn(1, cin, 8, 10)).shape == (1, cout, 8, 10)


@pytest.mark.parametrize('cin, cout', [(64, 64), (96, 128)])
def test_c3k_variant_params_by_formula(cin, cout):
    layer = C3k2Faster(cin, cout, 1, use_c3k=True)
    mid = cout // 2
    inner = layer.blocks[0]
    assert type(inner) is C3kFaster and len(inner.blocks) == 2
    assert all(type(b) is FasterBottleneck for b in inner.blocks)
    inner_mid = mid // 2
    expected = c3k2_outer_params(cin, cout, 1) + c3k_outer_params(mid, mid) + \
        2 * faster_bottleneck_params(inner_mid)
    assert n_params(layer) == expected
    assert layer(torch.randn(2, cin, 6, 8)).shape == (2, cout, 6, 8)
    standalone = C3kFaster(cin, cout, num_blocks=3, n_div=2, mlp_ratio=1.)
    assert n_params(standalone) == c3k_outer_params(cin, cout) + \
        3 * faster_bottleneck_params(cout // 2, 2, 1.)


def test_hooks_leave_c3k2_and_c3k_unchanged():
    """The build_block hooks build exactly the blocks they built before (YOLO11n model.2/6)."""
    assert n_params(C3k2(32, 64, 1, use_c3k=False, expand_ratio=0.25)) == 6640
    assert n_params(C3k2(128, 128, 1, use_c3k=True)) == 87040
    assert type(C3k2(32, 32, 1).blocks[0]) is Bottleneck
    assert type(C3k2(32, 32, 1, use_c3k=True).blocks[0]) is C3k


def build(override, base='yolo11n_coco.py', seed=0):
    """A detector of ``base`` with a candidate's model override, random weights and non-trivial
    BN statistics (a wrong fold shows), eval mode."""
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/{base}')
    cfg.merge_from_dict(dict(model=copy.deepcopy(override)))
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return cfg, model.eval()


def candidate(name):
    base = MIXIN.faster_candidate_bases.get(name, 'yolo11{}_coco.py').format('n')
    return base, CANDIDATES[name]


def test_option_off_is_yolo11():
    """csp_block=None and pconv_n_div=None build the plain YOLO11n: the same keys and shapes
    (the parity with Ultralytics' weights is tests/models/test_yolo11_parity.py's)."""
    _, plain = build({})
    _, off = build(dict(backbone=dict(csp_block=None), neck=dict(csp_block=None),
                        bbox_head=dict(head_module=dict(pconv_n_div=None))))
    assert {k: v.shape for k, v in plain.state_dict().items()} == \
        {k: v.shape for k, v in off.state_dict().items()}


def test_placements_put_blocks_where_asked():
    def kinds(model, part):
        return {type(m) for m in getattr(model, part).modules()
                if isinstance(m, (C3k2, C3k, Bottleneck, FasterBottleneck))}
    _, plain = build({})
    for name, in_backbone, in_neck in [('backbone', True, False), ('neck', False, True),
                                       ('both', True, True), ('backbone_c3k', True, False),
                                       ('neck_c3k', False, True), ('both_c3k', True, True)]:
        _, model = build(CANDIDATES[name])
        assert (C3k2Faster in kinds(model, 'backbone')) == in_backbone, name
        assert (C3k2Faster in kinds(model, 'neck')) == in_neck, name
        assert (Bottleneck in kinds(model, 'backbone')) != in_backbone, name
        if name.endswith('_c3k'):
            part = model.backbone if in_backbone else model.neck
            assert all(type(b) is C3kFaster for m in part.modules() if type(m) is C3k2Faster
                       for b in m.blocks), name
        # keys outside the replaced CSP blocks are YOLO11n's
        ref = {k: v.shape for k, v in plain.state_dict().items() if '.blocks.' not in k}
        got = {k: v.shape for k, v in model.state_dict().items() if '.blocks.' not in k}
        assert ref == got, name
    _, head = build(CANDIDATES['head_pconv'])
    reg = head.bbox_head.head_module.reg_preds[0]
    assert isinstance(reg[0][0], PConv) and reg[0][1].conv.kernel_size == (1, 1)
    assert isinstance(reg[1][0], PConv) and reg[1][0].dim_conv3 == reg[1][1].conv.in_channels // 4
    # the class branch keeps its depthwise 3x3 convs
    cls = head.bbox_head.head_module.cls_preds[0]
    assert cls[0][0].conv.groups == cls[0][0].conv.in_channels
    _, lite = build(CANDIDATES['lite_neck'], base='yolo11n_fasternet_lite_coco.py')
    assert lite.backbone.__class__.__name__ == 'FasterNet'
    assert C3k2Faster in kinds(lite, 'neck')


def test_head_pconv_makes_the_head_lighter():
    # each box 3x3 conv (9 C C') becomes PConv (9 (C/4)^2) + 1x1 (C C') + BN
    _, plain = build({})
    _, head = build(CANDIDATES['head_pconv'])
    assert n_params(head.bbox_head) < n_params(plain.bbox_head)


# YOLO11n's stride-2 convs (in, out): stem, the four stages, the neck's two bottom-up convs.
YOLO11N_DOWNSAMPLES = [(3, 16), (16, 32), (64, 64), (128, 128), (128, 256), (64, 64), (128, 128)]


def stride2_convs(model):
    return [m for part in (model.backbone, model.neck) for m in part.modules()
            if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]


def test_down2x2_candidates_use_2x2_downsampling():
    """``downsample_kernel=2`` turns every stride-2 conv of backbone and neck into a 2x2 one (and
    nothing else): 5 * in * out weights fewer per conv than YOLO11n's 3x3."""
    _, plain = build({})
    assert [(c.in_channels, c.out_channels) for c in stride2_convs(plain)] == YOLO11N_DOWNSAMPLES
    assert all(c.kernel_size == (3, 3) for c in stride2_convs(plain))
    for name in ('down2x2', 'down2x2_head', 'down2x2_neck_head', 'down2x2_both_head', 'down2x2_head_dw',
                 'down2x2_relu_backbone',
                 'relu_down2x2', 'relu_down2x2_head', 'relu_down2x2_neck_head', 'relu_down2x2_both_head'):
        _, model = build(CANDIDATES[name])
        convs = stride2_convs(model)
        assert [(c.in_channels, c.out_channels) for c in convs] == YOLO11N_DOWNSAMPLES, name
        assert all(c.kernel_size == (2, 2) and c.padding == (0, 0) for c in convs), name
    _, down2x2 = build(CANDIDATES['down2x2'])
    assert n_params(plain) - n_params(down2x2) == sum(5 * i * o for i, o in YOLO11N_DOWNSAMPLES)
    assert {k: v.shape for k, v in down2x2.state_dict().items() if v.dim() != 4} == \
        {k: v.shape for k, v in plain.state_dict().items() if v.dim() != 4}


def test_relu_candidates_have_no_silu():
    """The ReLU candidates replace every activation of backbone, neck and head (SiLU is a
    separate pass over the map in ONNX Runtime, ReLU is fused into the conv); the others keep
    YOLO11's SiLU."""
    for name, override in CANDIDATES.items():
        base, _ = candidate(name)
        _, model = build(override, base=base)
        acts = {type(m) for m in model.modules() if isinstance(m, (nn.SiLU, nn.ReLU, nn.GELU))}
        if name.startswith('relu'):
            assert acts == {nn.ReLU}, name
        elif name == 'down2x2_relu_backbone':
            assert {type(m) for m in model.backbone.modules() if isinstance(m, (nn.SiLU, nn.ReLU))} == {nn.ReLU}
            assert {type(m) for m in model.neck.modules() if isinstance(m, (nn.SiLU, nn.ReLU))} == {nn.SiLU}
        elif not name.startswith('lite'):  # lite's backbone is ReLU, its neck and head SiLU
            assert acts == {nn.SiLU}, name


def test_depthwise_box_convs_by_formula():
    """``box_dwconv``: each 3x3 box conv (9 C C' + BN) becomes a depthwise 3x3 (9 C + BN(C)) and a
    1x1 (C C' + BN(C')); the class branch and the last 1x1 are unchanged."""
    _, plain = build({})
    _, dw = build(CANDIDATES['head_dw'])
    saved = 0
    for reg, reg_plain in zip(dw.bbox_head.head_module.reg_preds, plain.bbox_head.head_module.reg_preds):
        for j in (0, 1):
            depthwise, pointwise = reg[j]
            c, c_out = depthwise.conv.in_channels, pointwise.conv.out_channels
            assert depthwise.conv.groups == c == depthwise.conv.out_channels
            assert depthwise.conv.kernel_size == (3, 3) and pointwise.conv.kernel_size == (1, 1)
            assert n_params(reg[j]) == 9 * c + 2 * c + c * c_out + 2 * c_out
            saved += n_params(reg_plain[j]) - n_params(reg[j])
    assert n_params(plain) - n_params(dw) == saved > 0
    plain_keys = {k for k in plain.state_dict() if '.reg_preds.' not in k}
    assert plain_keys == {k for k in dw.state_dict() if '.reg_preds.' not in k}
    with pytest.raises(AssertionError, match='pick one'):
        build(dict(bbox_head=dict(head_module=dict(box_dwconv=True, pconv_n_div=4))))


@pytest.mark.parametrize('name', list(CANDIDATES))
def test_candidate_deploy_form_and_onnx_match_eager(tmp_path, name):
    """Every candidate: eager outputs at 96x128, the deploy form (switch_to_deploy) to 1e-4, and
    its ONNX export (raw head outputs) in ONNX Runtime to 1e-3."""
    base, override = candidate(name)
    cfg, model = build(override, base=base)
    x = torch.rand(2, 3, 96, 128)
    with torch.no_grad():
        ref = RawOutputs(model)(x)
        deployed = switch_to_deploy(copy.deepcopy(model))
        out = RawOutputs(deployed)(x)
    assert [o.shape[-2:] for o in ref[:3]] == [(12, 16), (6, 8), (3, 4)], name
    for a, b in zip(ref, out):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (name, (a - b).abs().max())
    # every FasterBottleneck's BN is folded into its expand conv, every PConv is slicing
    blocks = [m for m in deployed.modules() if isinstance(m, FasterBottleneck)]
    assert all(isinstance(b.mlp[1], nn.Identity) for b in blocks)
    assert all(m.forward_type == 'slicing' for m in deployed.modules() if isinstance(m, PConv))
    if not name.startswith('lite_'):  # FasterNet's per-output norms follow a residual add and stay BN
        assert not [n for n, m in deployed.named_modules() if isinstance(m, nn.BatchNorm2d)]
    info = export(model, cfg, str(tmp_path / f'{name}.onnx'), img_hw=[96, 128], mode='raw', dynamic_batch=True)
    outs = ort.InferenceSession(info['path'], providers=['CPUExecutionProvider']).run(
        None, {'images': x.numpy()})
    assert len(outs) == 6
    for r, o in zip(ref, outs):  # against the training-form model
        np.testing.assert_allclose(o, r.numpy(), atol=1e-3, rtol=1e-3, err_msg=name)
