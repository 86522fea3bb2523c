"""YOLO11 blocks: shapes, structure and parameter counts against Ultralytics 8.3.0's YOLO11n layers."""
import math

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from fasternet_yolo11.models.layers.yolo11_layers import (
    C2PSA,
    SPPF,
    Attention,
    Bottleneck,
    C3k,
    C3k2,
    PSABlock,
    build_downsample_conv,
    reset_conv_parameters,
    yolo11_channels,
)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('c, w, max_c, expected', [
    (64, 0.25, 1024, 16), (1024, 0.25, 1024, 256), (1024, 0.5, 1024, 512), (1024, 1.0, 512, 512),
    (64, 1.5, 512, 96), (1024, 1.5, 512, 768), (256, 1.5, 512, 384)])
def test_channels_follow_parse_model(c, w, max_c, expected):
    assert yolo11_channels(c, w, max_c) == expected


# YOLO11n per-layer parameter counts (reference list, layers 2, 4, 6, 8, 9, 10, 13, 16, 19, 22)
@pytest.mark.parametrize('build, expected', [
    (lambda: C3k2(32, 64, 1, use_c3k=False, expand_ratio=0.25), 6640),  # model.2
    (lambda: C3k2(64, 128, 1, use_c3k=False, expand_ratio=0.25), 26080),  # model.4
    (lambda: C3k2(128, 128, 1, use_c3k=True), 87040),  # model.6
    (lambda: C3k2(256, 256, 1, use_c3k=True), 346112),  # model.8
    (lambda: SPPF(256, 256, 5), 164608),  # model.9
    (lambda: C2PSA(256, 256, 1), 249728),  # model.10
    (lambda: C3k2(384, 128, 1), 111296),  # model.13
    (lambda: C3k2(256, 64, 1), 32096),  # model.16
    (lambda: C3k2(192, 128, 1), 86720),  # model.19
    (lambda: C3k2(384, 256, 1, use_c3k=True), 378880),  # model.22
])
def test_yolo11n_layer_params(build, expected):
    assert n_params(build()) == expected


def test_c3k2_blocks_and_shapes():
    x = torch.randn(2, 32, 8, 12)
    plain = C3k2(32, 48, num_blocks=2, use_c3k=False)
    assert all(type(b) is Bottleneck for b in plain.blocks) and len(plain.blocks) == 2
    # Bottleneck inside C3k2: hidden width mid/2, both convs 3x3, residual on
    block = plain.blocks[0]
    assert block.conv1.conv.kernel_size == block.conv2.conv.kernel_size == (3, 3)
    assert block.conv1.conv.out_channels == plain.mid_channels // 2 and block.add_identity
    assert plain.final_conv.conv.in_channels == (2 + 2) * plain.mid_channels
    c3k = C3k2(32, 48, num_blocks=1, use_c3k=True)
    inner = c3k.blocks[0]
    assert isinstance(inner, C3k) and len(inner.blocks) == 2
    # C3k: 1x1 convs to half width, bottlenecks at full (expansion 1.0) width, 3x3 kernels
    assert inner.main_conv.conv.out_channels == inner.short_conv.conv.out_channels == c3k.mid_channels // 2
    assert inner.blocks[0].conv1.conv.out_channels == c3k.mid_channels // 2
    assert inner.blocks[0].conv1.conv.kernel_size == (3, 3)
    for m in (plain, c3k):
        assert m(x).shape == (2, 48, 8, 12)


def test_bn_and_act_defaults():
    m = C2PSA(128, 128)
    bns = [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)]
    assert bns and all(b.eps == 1e-3 and b.momentum == 0.03 for b in bns)
    convs = [x for x in m.modules() if isinstance(x, ConvModule)]
    assert all(c.conv.bias is None for c in convs)
    # activations: SiLU except Attention's qkv/proj/pe and the FFN's second conv
    no_act = {id(m.blocks[0].attn.qkv), id(m.blocks[0].attn.proj), id(m.blocks[0].attn.pe), id(m.blocks[0].ffn[1])}
    for c in convs:
        assert (not c.with_activation) == (id(c) in no_act)
        if c.with_activation:
            assert isinstance(c.activate, nn.SiLU)


def test_sppf_matches_definition():
    torch.manual_seed(0)
    m = SPPF(16, 24, 5).eval()
    x = torch.randn(1, 16, 9, 11)
    y = m.conv1(x)
    pools = [y]
    for _ in range(3):
        pools.append(nn.functional.max_pool2d(pools[-1], 5, 1, 2))
    torch.testing.assert_close(m(x), m.conv2(torch.cat(pools, 1)))
    assert m.conv1.conv.out_channels == 8


def test_attention_matches_per_head_reference():
    """qkv channels are grouped per head as [q(32) | k(32) | v(64)]; check against SDPA head by head."""
    torch.manual_seed(0)
    attn = Attention(128, num_heads=2, attn_ratio=0.5).eval()
    assert (attn.head_dim, attn.key_dim) == (64, 32)
    assert attn.qkv.conv.out_channels == 256 and attn.pe.conv.groups == 128
    x = torch.randn(2, 128, 5, 7)
    qkv = attn.qkv(x).flatten(2)  # (B, 256, N)
    outs, values = [], []
    for h in range(2):
        q, k, v = qkv[:, h * 128:(h + 1) * 128].split([32, 32, 64], dim=1)
        o = nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        outs.append(o.transpose(1, 2))
        values.append(v)
    mixed = torch.cat(outs, 1).view(2, 128, 5, 7)
    pe = attn.pe(torch.cat(values, 1).view(2, 128, 5, 7))
    torch.testing.assert_close(attn(x), attn.proj(mixed + pe), rtol=1e-4, atol=1e-5)


def test_psablock_and_c2psa():
    torch.manual_seed(0)
    block = PSABlock(128, num_heads=2).eval()
    x = torch.randn(1, 128, 4, 4)
    y = x + block.attn(x)
    torch.testing.assert_close(block(x), y + block.ffn(y))
    m = C2PSA(256, 256, num_blocks=2)
    assert len(m.blocks) == 2 and m.blocks[0].attn.num_heads == 256 // 2 // 64
    assert m(torch.randn(1, 256, 3, 5)).shape == (1, 256, 3, 5)
    with pytest.raises(AssertionError):
        C2PSA(256, 128)


def test_reset_conv_parameters_gives_pytorch_default():
    m = C3k2(64, 64, 1, use_c3k=True)
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]

    def within_default_bound(conv):  # kaiming_uniform(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        fan_in = conv.weight[0].numel()
        return conv.weight.abs().max().item() <= 1 / math.sqrt(fan_in)

    # ConvModule's Kaiming normal init leaves that bound for some conv
    assert not all(within_default_bound(c) for c in convs)
    reset_conv_parameters(m)
    assert all(within_default_bound(c) for c in convs)


@pytest.mark.parametrize('k, padding', [(3, 1), (2, 0)])
def test_downsample_conv_halves_the_map(k, padding):
    """YOLO11's 3x3 and FasterNet's 2x2 patch merging: both Conv-BN-act, stride 2, H/2 x W/2 on
    even sizes; weights k*k*in*out plus the BN's weight and bias."""
    conv = build_downsample_conv(16, 32, k)
    assert conv.conv.kernel_size == (k, k) and conv.conv.stride == (2, 2)
    assert conv.conv.padding == (padding, padding) and conv.conv.bias is None
    assert isinstance(conv.activate, nn.SiLU)
    assert n_params(conv) == k * k * 16 * 32 + 2 * 32
    assert conv(torch.rand(2, 16, 64, 96)).shape == (2, 32, 32, 48)


def test_downsample_conv_refuses_other_kernels():
    with pytest.raises(AssertionError, match='downsample kernel_size must be one of'):
        build_downsample_conv(16, 32, 5)
