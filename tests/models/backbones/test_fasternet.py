"""Tests of the FasterNet backbone (projects/fasternet_yolo11/fasternet.py)."""
import logging
import re

import mmyolo.engine  # noqa: F401  (registers YOLOv5OptimizerConstructor)
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmyolo.registry import MODELS

from fasternet_yolo11.models import FasterNet, FasterNetBlock, PConv
from fasternet_yolo11.models.deploy_form import set_pconv_mode

# The official variants (JierunChen/FasterNet cfg/*.yaml), restated here independently of the
# module: embed_dim, depths, activation; all have n_div 4, mlp_ratio 2, feature_dim 1280.
OFFICIAL = {
    't0': (40, (1, 2, 8, 2), nn.GELU),
    't1': (64, (1, 2, 8, 2), nn.GELU),
    't2': (96, (1, 2, 8, 2), nn.ReLU),
    's': (128, (1, 2, 13, 2), nn.ReLU),
    'm': (144, (3, 4, 18, 3), nn.ReLU),
    'l': (192, (3, 4, 18, 3), nn.ReLU),
}
# Paper Tab. 8 / README: params (M) and FLOPs (G, i.e. MACs) with the classifier, 224x224.
PAPER = {'t0': (3.9, 0.34), 't1': (7.6, 0.85), 't2': (15.0, 1.90),
         's': (31.1, 4.55), 'm': (53.5, 8.72), 'l': (93.4, 15.49)}
# Smallest network with every feature, for the fast tests.
TINY = dict(embed_dim=16, depths=(1, 1, 2, 1), act_cfg=dict(type='GELU'))


def official_counts(embed_dim, depths, n_div=4, mlp_ratio=2):
    """(all backbone parameters, of which BN affine) from the official definition."""
    conv = 3 * 4 * 4 * embed_dim                        # patch_embed.proj 4x4
    bn = 2 * embed_dim                                  # patch_embed.norm
    for i, depth in enumerate(depths):
        dim, hidden = embed_dim * 2**i, int(embed_dim * 2**i * mlp_ratio)
        if i:                                           # PatchMerging 2x2, dim/2 -> dim, + BN
            conv, bn = conv + (dim // 2) * dim * 4, bn + 2 * dim
        conv += depth * (9 * (dim // n_div)**2 + 2 * dim * hidden)  # PConv + two 1x1
        bn += depth * 2 * hidden
    return conv + bn, bn


def classifier_counts(embed_dim):
    """Official head: Conv1x1(8C -> 1280, no bias) + act + Linear(1280 -> 1000)."""
    return 8 * embed_dim * 1280 + 1280 * 1000 + 1000


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch', list(OFFICIAL))
def test_arch_matches_official_definition(arch):
    embed_dim, depths, act = OFFICIAL[arch]
    with torch.device('meta'):  # counts only: skip allocating up to 90M parameters
        model = FasterNet(arch=arch, out_indices=(0, 1, 2, 3), out_norm=False)
    total, bn = official_counts(embed_dim, depths)
    assert n_params(model) == total
    assert model.stage_channels == [embed_dim * 2**i for i in range(4)]
    assert [len(model.stages[2 * i].blocks) for i in range(4)] == list(depths)
    acts = {type(m) for m in model.modules() if isinstance(m, (nn.GELU, nn.ReLU))}
    assert acts == {act}
    # The paper's totals (with the classifier) are reproduced: README / Tab. 8 counts the
    # BN-fused deployment model without BN parameters (3.9/7.6/15.0/31.1/53.5/93.4 M);
    # counting BN too stays within 0.1M of them (Tab. 3 gives L as 93.5M).
    with_head = total + classifier_counts(embed_dim)
    assert round((with_head - bn) / 1e6, 1) == PAPER[arch][0]
    assert abs(with_head / 1e6 - PAPER[arch][0]) < 0.1


def test_out_norms_are_extra_and_counted_separately():
    plain = FasterNet('t0', out_indices=(0, 1, 2, 3), out_norm=False)
    normed = FasterNet('t0', out_indices=(1, 2, 3))
    out_norms = [n for n, _ in normed.named_children() if n.startswith('norm')]
    assert out_norms == ['norm2', 'norm4', 'norm6']     # official fork_feat names
    assert n_params(normed) - n_params(plain) == 2 * (80 + 160 + 320)


def meta_forward(model_kwargs, shape):
    """Output shapes, computed on the meta device (no memory, no arithmetic): the big
    variants (up to 90M parameters) stay fast to check."""
    with torch.device('meta'):
        model = FasterNet(**model_kwargs).eval()
        return model, model(torch.empty(*shape))


@pytest.mark.parametrize('arch', list(OFFICIAL))
def test_output_channels_and_strides(arch):
    model, outs = meta_forward(dict(arch=arch, out_indices=(0, 1, 2, 3)), (1, 3, 64, 64))
    embed_dim = OFFICIAL[arch][0]
    assert model.out_channels == [embed_dim * 2**i for i in range(4)]
    assert [tuple(o.shape) for o in outs] == [(1, c, 64 // s, 64 // s) for c, s in
                                              zip(model.out_channels, (4, 8, 16, 32))]


@pytest.mark.parametrize('widen_factor,embed_dim', [(0.25, 40), (0.5, 80), (1.0, 160),
                                                    (1.5, 240)])
def test_widen_factor(widen_factor, embed_dim):
    # The detector's default: strides 8/16/32 (out_indices (1, 2, 3)).
    model, outs = meta_forward(dict(widen_factor=widen_factor), (2, 3, 64, 96))
    assert model.out_channels == [2 * embed_dim, 4 * embed_dim, 8 * embed_dim]
    assert [tuple(o.shape) for o in outs] == [(2, c, 64 // s, 96 // s) for c, s in
                                              zip(model.out_channels, (8, 16, 32))]


def test_yolo_n_scale_is_t0():
    yolo_n = FasterNet(widen_factor=0.25)
    t0 = FasterNet('t0')
    assert {k: v.shape for k, v in yolo_n.state_dict().items()} == \
        {k: v.shape for k, v in t0.state_dict().items()}
    assert any(isinstance(m, nn.GELU) for m in yolo_n.modules())
    assert yolo_n.out_channels == [80, 160, 320]
    with torch.no_grad():  # and a real forward at a detector-like input
        outs = yolo_n.eval()(torch.rand(1, 3, 96, 128))
    assert [tuple(o.shape) for o in outs] == [(1, 80, 12, 16), (1, 160, 6, 8), (1, 320, 3, 4)]
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize('widen_factor,embed_dim', [(0.25, 32), (0.5, 64), (1.0, 128)])
def test_lite_arch_has_yolo11_widths_half_depth_and_relu(widen_factor, embed_dim):
    # The CPU line: embed_dim from 128 (not 160), so n/s stage widths are YOLO11n/s's
    # backbone widths; stage 3 has 4 blocks instead of T0's 8; ReLU instead of GELU.
    model = FasterNet('lite', widen_factor=widen_factor)
    assert model.embed_dim == embed_dim and model.depths == (1, 2, 4, 2)
    assert len(model.stages[4].blocks) == 4
    acts = {type(m) for m in model.modules() if isinstance(m, (nn.ReLU, nn.GELU))}
    assert acts == {nn.ReLU}
    with torch.no_grad():
        outs = model.eval()(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [2 * embed_dim, 4 * embed_dim, 8 * embed_dim]
    assert FasterNet('lite').embed_dim == 128  # without widen_factor: the table's own width


def test_registered_in_mmyolo():
    model = MODELS.build(dict(type='FasterNet', widen_factor=0.5))
    assert isinstance(model, FasterNet) and model.out_channels == [160, 320, 640]


def test_pconv_split_cat_equals_slicing_and_keeps_input():
    torch.manual_seed(0)
    split = PConv(16, 4, 'split_cat')
    slicing = PConv(16, 4, 'slicing')
    slicing.load_state_dict(split.state_dict())
    x = torch.randn(2, 16, 8, 8)
    x_copy, version = x.clone(), x._version
    out = slicing(x)
    assert torch.equal(x, x_copy) and x._version == version   # the residual's input is intact
    assert torch.allclose(out, split(x), atol=0, rtol=0)
    assert torch.equal(out[:, 4:], x[:, 4:])                     # 3/4 of channels untouched
    assert not torch.equal(out[:, :4], x[:, :4])


@pytest.mark.parametrize('forward_type', PConv.forward_types)
def test_gradients_flow(forward_type):
    torch.manual_seed(0)
    block = FasterNetBlock(16, pconv_fw_type=forward_type, layer_scale_init_value=0.5,
                           drop_path=0.1)
    x = torch.randn(8, 16, 8, 8, requires_grad=True)
    block(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_pconv_slicing_mode_keeps_outputs():
    torch.manual_seed(0)
    model = FasterNet(arch=TINY, out_indices=(0, 1, 2, 3)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = model(x)
        assert set_pconv_mode(model, 'slicing') == sum(TINY['depths'])
        assert {m.forward_type for m in model.modules() if isinstance(m, PConv)} == {'slicing'}
        out = model(x)
    assert all(torch.allclose(a, b, atol=0, rtol=0) for a, b in zip(ref, out))


def test_drop_path_rates_rise_linearly():
    model = FasterNet(arch=TINY, drop_path_rate=0.4)
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0.0
             for m in model.stages[::2] for b in m.blocks]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_frozen_stages():
    model = FasterNet(arch=TINY, frozen_stages=2, out_indices=(0, 1, 2, 3))
    model.train()
    frozen = [model.patch_embed, *model.stages[:3], model.norm0, model.norm2]
    trained = [*model.stages[3:], model.norm4, model.norm6]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not b.training for b in m.modules())
    for m in trained:
        assert all(p.requires_grad for p in m.parameters())
        assert all(b.training for b in m.modules())
    model(torch.rand(2, 3, 64, 64))[-1].sum().backward()
    assert model.patch_embed.proj.weight.grad is None
    assert model.stages[6].blocks[0].mlp[0].weight.grad is not None


def test_norm_eval():
    model = FasterNet(arch=TINY, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns)
    assert model.stages[0].training                  # the rest trains
    assert all(p.requires_grad for p in model.parameters())
    before = bns[0].running_mean.clone()
    model(torch.rand(2, 3, 32, 32))
    assert torch.equal(bns[0].running_mean, before)  # statistics frozen


def test_default_init_is_official_trunc_normal():
    torch.manual_seed(0)
    model = FasterNet('t0')
    model.init_weights()
    weight = model.stages[4].blocks[0].mlp[0].weight  # 160 -> 320 1x1 conv
    assert abs(weight.std().item() - 0.02) < 0.002 and weight.abs().max() <= 2


# ---------------------------------------------------------------- official / timm checkpoints
def official_state_dict(arch='t0', seed=0):
    """A state dict in the official classification layout, with random values everywhere
    (including BN statistics) so that a wrong mapping cannot go unnoticed."""
    torch.manual_seed(seed)
    src = FasterNet(arch, out_indices=(0, 1, 2, 3), out_norm=False)  # official keys exactly
    state = {k: (torch.randn_like(v) if v.is_floating_point() else v + 7)
             for k, v in src.state_dict().items()}
    dim = src.stage_channels[-1]
    state['avgpool_pre_head.1.weight'] = torch.randn(1280, dim, 1, 1)
    state['head.weight'] = torch.randn(1000, 1280)
    state['head.bias'] = torch.randn(1000)
    return state


def to_timm(state):
    """Official -> timm key names (timm.models.fasternet layout)."""
    out = {}
    for key, value in state.items():
        key = re.sub(r'^stages\.(\d+)\.', lambda m: (
            f'stages.{int(m[1]) // 2}.' if int(m[1]) % 2 == 0
            else f'stages.{(int(m[1]) + 1) // 2}.downsample.'), key)
        key = re.sub(r'^avgpool_pre_head\.1\.', 'conv_head.', key)
        key = re.sub(r'^head\.', 'classifier.', key)
        out[key] = value
    return out


class LogCapture(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def load(path, **kwargs):
    model = FasterNet(init_cfg=dict(type='Pretrained', checkpoint=str(path)), **kwargs)
    logger = MMLogger.get_current_instance()
    handler = LogCapture()
    logger.addHandler(handler)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    return model, [line for line in handler.lines if line.startswith('FasterNet:')]


def assert_backbone_equal(model, state):
    own = model.state_dict()
    backbone_keys = [k for k in own if not re.match(r'norm\d', k)]
    assert backbone_keys and all(torch.equal(own[k], state[k]) for k in backbone_keys)


def test_load_official_lightning_checkpoint(tmp_path):
    state = official_state_dict()
    path = tmp_path / 'fasternet_t0-epoch=281-val_acc1=71.9180.pth'
    torch.save({'epoch': 281, 'state_dict': {'model.' + k: v for k, v in state.items()}}, path)
    model, log = load(path)
    assert_backbone_equal(model, state)
    assert len(log) == 1
    assert 'official layout' in log[0] and "prefix 'model.'" in log[0]
    assert 'skipped 3 keys (ImageNet classifier)' in log[0]
    assert 'norm2, norm4, norm6 not in the checkpoint' in log[0]


def test_load_timm_checkpoint(tmp_path):
    state = official_state_dict(seed=1)
    timm_state = to_timm(state)
    assert 'stages.1.downsample.reduction.weight' in timm_state
    assert 'stages.3.blocks.1.mlp.3.weight' in timm_state and 'classifier.bias' in timm_state
    torch.save(timm_state, tmp_path / 'timm.pth')
    model, log = load(tmp_path / 'timm.pth', out_norm=False)
    assert_backbone_equal(model, state)
    assert 'timm layout' in log[0] and "prefix ''" in log[0]


def test_load_detector_checkpoint_with_out_norms(tmp_path):
    """An official Mask R-CNN-style file: ``backbone.`` prefix, norm0..6, neck keys."""
    state = official_state_dict(seed=2)
    state = {k: v for k, v in state.items() if not k.startswith(('avgpool', 'head'))}
    for i, c in zip((0, 2, 4, 6), (40, 80, 160, 320)):
        state[f'norm{i}.weight'], state[f'norm{i}.bias'] = torch.randn(c), torch.randn(c)
        state[f'norm{i}.running_mean'], state[f'norm{i}.running_var'] = torch.randn(c), \
            torch.rand(c)
        state[f'norm{i}.num_batches_tracked'] = torch.tensor(5)
    ckpt = {'meta': {}, 'state_dict': {'backbone.' + k: v for k, v in state.items()}}
    ckpt['state_dict']['neck.lateral_convs.0.conv.weight'] = torch.randn(256, 40, 1, 1)
    torch.save(ckpt, tmp_path / 'det.pth')
    model, log = load(tmp_path / 'det.pth')
    own = model.state_dict()
    assert all(torch.equal(own[k], state[k]) for k in own)  # norm2/4/6 loaded too
    assert "outside prefix 'backbone.'" in log[0]
    assert 'per-output norm not built' in log[0]            # norm0: not an output here


def test_wrong_shape_names_key(tmp_path):
    state = official_state_dict()
    key = 'stages.4.blocks.3.mlp.0.weight'
    state[key] = torch.randn(321, 160, 1, 1)
    torch.save(state, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=re.escape(f'{key}: checkpoint (321, 160, 1, 1) vs '
                                                   'model (320, 160, 1, 1)')):
        load(tmp_path / 'bad.pth')


def test_missing_and_foreign_keys_are_errors(tmp_path):
    state = official_state_dict()
    del state['stages.6.blocks.1.spatial_mixing.partial_conv3.weight']
    torch.save(state, tmp_path / 'missing.pth')
    with pytest.raises(ValueError, match='stages.6.blocks.1.spatial_mixing.partial_conv3.weight'):
        load(tmp_path / 'missing.pth')
    # a deeper net (S has 13 blocks in its third stage) into T0's shape: extra blocks
    state = official_state_dict()
    state['stages.4.blocks.8.mlp.3.weight'] = torch.randn(160, 320, 1, 1)
    torch.save(state, tmp_path / 'extra.pth')
    with pytest.raises(ValueError, match=r'stages\.4\.blocks\.8\.mlp\.3\.weight'):
        load(tmp_path / 'extra.pth')


def test_official_layer_scale_key_maps_to_weight(tmp_path):
    state = {k: v.clone() for k, v in FasterNet(
        arch=TINY, out_norm=False, layer_scale_init_value=1.0).state_dict().items()}
    official = {k.replace('layer_scale.weight', 'layer_scale'): torch.randn_like(v)
                if v.is_floating_point() else v for k, v in state.items()}
    assert 'stages.0.blocks.0.layer_scale' in official
    torch.save(official, tmp_path / 'ls.pth')
    model, _ = load(tmp_path / 'ls.pth', arch=TINY, out_norm=False, layer_scale_init_value=1.0)
    assert torch.equal(model.stages[0].blocks[0].layer_scale.weight,
                       official['stages.0.blocks.0.layer_scale'])


# ------------------------------------------------------------------------- optimizer
def test_layer_scale_trained_by_yolov5_optimizer_constructor():
    torch.manual_seed(0)
    model = FasterNet(arch=TINY, layer_scale_init_value=0.1)
    optim_wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper',
        constructor='mmyolo.YOLOv5OptimizerConstructor',
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4,
                       batch_size_per_gpu=16)))
    scales = [m.layer_scale.weight for m in model.modules() if isinstance(m, FasterNetBlock)]
    assert len(scales) == 5
    grouped = {id(p) for g in optim_wrapper.optimizer.param_groups for p in g['params']}
    assert all(id(s) in grouped for s in scales)
    assert grouped == {id(p) for p in model.parameters()}  # nothing left out
    before = [s.detach().clone() for s in scales]
    loss = sum(o.square().mean() for o in model(torch.randn(2, 3, 32, 32)))
    optim_wrapper.update_params(loss)
    assert all(not torch.equal(b, s) for b, s in zip(before, scales))
