"""Record YOLO26 reference fixtures from Ultralytics 8.4.190, synthetic weights.

Runs ONLY in the separate reference venv (ultralytics is AGPL-3.0 and is never
installed in the project venv; nothing from it is copied into this repo).
See tools/reference/README.md. Typical call, from the repo root::

    YOLO_OFFLINE=true unshare -n /opt/ul26-venv/bin/python \\
        tools/reference/make_yolo26_fixtures.py \\
        --out tests/fixtures/yolo26_reference

What it writes (described in detail in <out>/README.md):

* ``yolo26{n,s,m,l,x}_structure.json``: state-dict keys/shapes/dtypes,
  parameter counts (total, per layer, per head branch, fused end-to-end),
  GFLOPs, module types and resolved channels per layer, SPPF / C3k2 / C2PSA /
  Detect settings.
* ``yolo26{n,m}_eval.npz``: a fixed 1x3x96x128 input, the raw per-level
  outputs of both head branches (one-to-many and one-to-one), the decoded
  predictions of both, Ultralytics' own end-to-end top-k results for several
  ``max_det`` settings, the one-to-many NMS results, anchors and strides, and
  (n only) backbone/neck feature maps.
* ``yolo26n_loss.npz``: a fixed 2x3x128x128 batch with GT boxes (some below
  16 px), the train-mode predictions of both branches, ``E2ELoss`` values for
  two epochs' branch weights, per-branch loss items and assigner outputs.
* ``manifest.json``: versions, settings and every recorded scalar.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import json
import os
import platform
import socket
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIR = REPO_ROOT / 'tests' / 'fixtures' / 'yolo26_reference'
SYNTHETIC_WEIGHTS_PY = FIXTURE_DIR / 'synthetic_weights.py'

COMMAND = ('YOLO_OFFLINE=true unshare -n /opt/ul26-venv/bin/python '
           'tools/reference/make_yolo26_fixtures.py '
           '--out tests/fixtures/yolo26_reference')
SCALES = 'nsmlx'
NC = 80
BRANCHES = ('one2many', 'one2one')
LEVELS = ('p3', 'p4', 'p5')

# Summaries in the comments of ultralytics 8.4.190 cfg/models/26/yolo26.yaml:
# (parameters, gradients, "layers", GFLOPs@640). Since 8.4 Ultralytics counts
# "layers" as modules without children (leaf modules).
YAML_SUMMARY = {
    'n': (2572280, 2572280, 260, 6.1),
    's': (10009784, 10009784, 260, 22.8),
    'm': (21896248, 21896248, 280, 75.4),
    'l': (26299704, 26299704, 392, 93.8),
    'x': (58993368, 58993368, 392, 209.5),
}
# The yaml GFLOPs cannot be reproduced with 8.4.190's get_flops (both heads,
# thop's stride-aware profile): it gives the values below with
# ultralytics-thop 2.2.3 (the version pip picks for 8.4.190). They are
# checked only when that thop version is installed.
GFLOPS_THOP_223 = {
    'n': 6.2396672,
    's': 23.0793216,
    'm': 75.6350976,
    'l': 94.1582336,
    'x': 210.0747264,
}
THOP_VERSION_FOR_GFLOPS = '2.2.3'
# Per-layer parameter counts of yolo26n (layers 0..23), as printed by
# Ultralytics 8.4.190's model table.
N_LAYER_PARAMS = [
    464, 4672, 6640, 36992, 26080, 147712, 87040, 295424, 346112, 164608,
    249728, 0, 0, 119808, 0, 0, 34304, 36992, 0, 95232, 147712, 0, 463104,
    309656
]

EVAL_SCALES = 'nm'  # m: the smallest scale where every C3k2 uses C3k
# Intermediate outputs, recorded for scale n only (file size): backbone
# outputs C3/C4/C5 (layers 4, 6, 10), SPPF (9) and neck outputs P3/P4/P5
# (layers 16, 19, 22), to localise a mismatch.
FEATURE_LAYERS = {'n': (4, 6, 9, 10, 16, 19, 22), 'm': ()}
EVAL_SHAPE = (1, 3, 96, 128)  # non-square on purpose: H=96, W=128
EVAL_INPUT_SEED = 0
# End-to-end top-k settings: (tag, max_det, agnostic_nms).
E2E_SETTINGS = [
    ('maxdet300', 300, False),  # the default; k = min(300, anchors) = 252
    ('maxdet20', 20, False),
    ('maxdet20_agnostic', 20, True),
]
# One-to-many branch + NMS (Ultralytics' default predict/val path for YOLO26,
# nms=None): (tag, conf_thres, multi_label); iou 0.7, max_det 300.
NMS_SETTINGS = [
    ('conf025', 0.25, False),
    ('conf0001_multilabel', 0.001, True),
]
NMS_IOU = 0.7
NMS_MAX_DET = 300

LOSS_SCALE = 'n'
LOSS_SHAPE = (2, 3, 128, 128)
LOSS_INPUT_SEED = 1
# GT boxes: (image index, class, cx, cy, w, h), normalized to the 128x128
# image. Sizes in pixels in the comments; "small" = a side below 16 px, the
# assigner's stride_val (the second stride).
LOSS_GT = [
    (0, 0, 0.50, 0.50, 0.40, 0.60),  # 51.2 x 76.8
    (0, 56, 0.80, 0.75, 0.30, 0.35),  # 38.4 x 44.8
    # 10 x 14 px at (94.5, 24.25): small; 2 anchor centres inside, 5 after
    # the enlargement to 16 x 16
    (0, 17, 0.73828125, 0.189453125, 0.078125, 0.109375),
    # 48 x 12 px at (31.5, 45.25): only the height is small; overlaps the
    # first box (conflicting anchors)
    (0, 9, 0.24609375, 0.353515625, 0.375, 0.09375),
    (1, 2, 0.40, 0.60, 0.50, 0.30),  # 64 x 38.4
    # 14 x 14 px at (31.5, 115.25), near the bottom edge: 2 centres, 5
    (1, 79, 0.24609375, 0.900390625, 0.109375, 0.109375),
    # 48 x 12 px at (101.5, 31.25): only the height is small
    (1, 5, 0.79296875, 0.244140625, 0.375, 0.09375),
    (1, 33, 0.79296875, 0.791015625, 0.15625, 0.21875),  # 20 x 28
]
# Every GT above is "tie-free" for both branches (checked at run time): each
# of its candidate anchors has a positive alignment metric, or at least topk
# of them do. Otherwise the positives would depend on how torch.topk orders
# equal (zero) metrics, which a re-implementation need not reproduce. (With
# these synthetic predictions, a box so small that no anchor centre lies
# inside it gets CIoU <= 0, hence metric 0, at all its enlarged-box
# candidates, so such a box is not used.)
# E2ELoss branch weights: the value after `update()` has been called
# `updates` times (once per finished epoch), with epochs = 100.
EPOCH_SETTINGS = [('epoch0', 0), ('epoch50', 50)]
LOSS_EPOCHS = 100


def check_sandbox() -> None:
    """Refuse to run unless offline and only loopback is visible."""
    if os.environ.get('YOLO_OFFLINE', '').lower() != 'true':
        sys.exit('set YOLO_OFFLINE=true and run under `unshare -n`')
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ['lo']:
        sys.exit(f'network interfaces {names} are visible; '
                 'run under `unshare -n` (private network namespace)')


def load_synthetic_weights_module():
    spec = importlib.util.spec_from_file_location('yolo26_synthetic_weights',
                                                  SYNTHETIC_WEIGHTS_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixed_image(shape, seed):
    """Uniform 8-bit noise / 255, like a normalized image (compresses well)."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, shape, generator=gen, dtype=torch.int64).float() / 255.0


def build_model(scale):
    from ultralytics.nn.tasks import DetectionModel
    return DetectionModel(f'yolo26{scale}.yaml', nc=NC, verbose=False)


def dtype_name(dtype) -> str:
    return str(dtype).removeprefix('torch.')


def state_dict_sha256(sd):
    """sha256 of key names and raw tensor bytes, in order."""
    h = hashlib.sha256()
    for key, tensor in sd.items():
        h.update(key.encode('utf-8'))
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


def load_synthetic(model, sw, seed):
    """Load the synthetic state dict (strict); return its sha256."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    dtypes = {k: dtype_name(v.dtype) for k, v in model.state_dict().items()}
    sd = sw.synthetic_state_dict(shapes, dtypes, seed=seed)
    model.load_state_dict(sd, strict=True)
    return state_dict_sha256(sd)


def n_params(module):
    return int(sum(p.numel() for p in module.parameters()))


def layer_out_channels(model):
    """Output channels of every layer (hooks, small dummy input)."""
    import torch
    out = {}
    hooks = [
        m.register_forward_hook(lambda mod, inp, o, i=i: out.__setitem__(
            i, o.shape[1] if torch.is_tensor(o) else None))
        for i, m in enumerate(model.model)
    ]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    return out


def act_name(conv_module):
    return type(conv_module.act).__name__


def psa_block_info(blk):
    a = blk.attn
    return {
        'c': a.qkv.conv.in_channels,
        'num_heads': a.num_heads,
        'head_dim': a.head_dim,
        'key_dim': a.key_dim,
        'scale': a.scale,
        'qkv_out_channels': a.qkv.conv.out_channels,
        'qkv_per_head_split_[q,k,v]': [a.key_dim, a.key_dim, a.head_dim],
        'pe_groups': a.pe.conv.groups,
        'ffn_channels': [f.conv.out_channels for f in blk.ffn],
        'shortcut': bool(blk.add),
    }


def describe_layer(i, m, out_channels):
    """Plain facts about layer ``model.model[i]`` for the converter author."""
    import torch
    from ultralytics.nn.modules.block import C2PSA, SPPF, Bottleneck, C3k, C3k2, PSABlock
    from ultralytics.nn.modules.conv import Concat, Conv
    from ultralytics.nn.modules.head import Detect
    info = {
        'i': i,
        'from': m.f,
        'type': m.type,
        'class': type(m).__name__,
        'params': n_params(m),
        'out_channels': out_channels.get(i),
    }
    if isinstance(m, Conv):
        c = m.conv
        info.update(
            in_channels=c.in_channels,
            kernel=c.kernel_size[0],
            stride=c.stride[0],
            groups=c.groups,
            act=act_name(m))
    elif isinstance(m, C3k2):
        inner = m.m[0]
        attn = isinstance(inner, torch.nn.Sequential)
        info.update(
            in_channels=m.cv1.conv.in_channels,
            hidden_c=m.c,
            n=len(m.m),
            attn=attn,
            c3k=isinstance(inner, C3k),
            inner_class=('Sequential(Bottleneck, PSABlock)'
                         if attn else type(inner).__name__))
        if attn:
            bott, psa = inner[0], inner[1]
            assert isinstance(bott, Bottleneck) and isinstance(psa, PSABlock)
            info.update(
                bottleneck_hidden=bott.cv1.conv.out_channels,
                bottleneck_kernels=[
                    bott.cv1.conv.kernel_size[0], bott.cv2.conv.kernel_size[0]
                ],
                bottleneck_add=bool(bott.add),
                psa=psa_block_info(psa))
        elif isinstance(inner, C3k):
            info.update(
                c3k_hidden=inner.cv1.conv.out_channels,
                c3k_n=len(inner.m),
                c3k_bottleneck_add=bool(inner.m[0].add))
        elif isinstance(inner, Bottleneck):
            info.update(
                bottleneck_hidden=inner.cv1.conv.out_channels,
                bottleneck_add=bool(inner.add))
    elif isinstance(m, SPPF):
        info.update(
            in_channels=m.cv1.conv.in_channels,
            hidden_c=m.cv1.conv.out_channels,
            pool_k=m.m.kernel_size,
            n=m.n,
            shortcut=bool(m.add),
            cv1_act=act_name(m.cv1),
            cv2_act=act_name(m.cv2),
            cv2_in_channels=m.cv2.conv.in_channels)
    elif isinstance(m, C2PSA):
        info.update(
            in_channels=m.cv1.conv.in_channels, hidden_c=m.c, n=len(m.m))
    elif isinstance(m, Concat):
        info.update(dim=m.d)
    elif isinstance(m, Detect):
        info.update(in_channels=[seq[0].conv.in_channels for seq in m.cv2])
    elif type(m).__name__ == 'Upsample':
        info.update(scale_factor=m.scale_factor, mode=m.mode)
    return info


def detect_info(model):
    """Head facts, read before the synthetic weights replace anything."""
    import torch
    det = model.model[-1]
    o2m = det.one2many
    o2o = det.one2one
    # Ultralytics' own bias_init values (box: 2.0 on all 4 channels; class:
    # log(5 / nc / (640 / stride)^2)), for both branches.
    box_bias = {
        b: [float(seq[-1].bias[0].detach()) for seq in h['box_head']]
        for b, h in (('one2many', o2m), ('one2one', o2o))
    }
    cls_bias = {
        b: [float(seq[-1].bias[0].detach()) for seq in h['cls_head']]
        for b, h in (('one2many', o2m), ('one2one', o2o))
    }
    # one2one_cv2/cv3 are deep copies of cv2/cv3 made in Detect.__init__:
    # at initialisation both branches hold identical weights.
    same_init = all(
        torch.equal(a, b) for a, b in zip(
            list(det.cv2.parameters()) + list(det.cv3.parameters()),
            list(det.one2one_cv2.parameters()) +
            list(det.one2one_cv3.parameters())))
    return dict(
        nc=det.nc,
        reg_max=det.reg_max,
        no=det.no,
        nl=det.nl,
        ch=[seq[0].conv.in_channels for seq in det.cv2],
        c2=det.cv2[0][0].conv.out_channels,
        c3=det.cv3[0][0][1].conv.out_channels,
        box_out_channels=det.cv2[0][-1].out_channels,
        stride=[float(s) for s in det.stride],
        has_one2one_branch=getattr(det, 'one2one_cv2', None) is not None,
        end2end_inference_by_default=bool(det.end2end),
        legacy=bool(det.legacy),
        dfl_class=type(det.dfl).__name__,
        max_det=int(det.max_det),
        params_one2many_branch=n_params(det.cv2) + n_params(det.cv3),
        params_one2one_branch=(n_params(det.one2one_cv2) +
                               n_params(det.one2one_cv3)),
        one2one_init_equals_one2many=bool(same_init),
        box_bias_init_by_ultralytics=box_bias,
        cls_bias_init_by_ultralytics=cls_bias)


def c2psa_info(model):
    from ultralytics.nn.modules.block import C2PSA
    return [
        dict(
            layer=i,
            c1=m.cv1.conv.in_channels,
            c=m.c,
            n=len(m.m),
            blocks=[psa_block_info(blk) for blk in m.m])
        for i, m in enumerate(model.model) if isinstance(m, C2PSA)
    ]


def bn_settings(model):
    import torch
    return sorted({(m.eps, m.momentum)
                   for m in model.modules()
                   if isinstance(m, torch.nn.BatchNorm2d)})


def thop_version():
    try:
        from importlib.metadata import version
        return version('ultralytics-thop')
    except Exception:  # noqa: BLE001
        return None


def structure_record(scale, sw, seed):
    """Architecture facts of one scale (weights do not matter here)."""
    from ultralytics.utils.torch_utils import get_flops
    t0 = time.time()
    model = build_model(scale)
    det = detect_info(model)
    sd = model.state_dict()
    params = list(model.parameters())
    num_params = int(sum(p.numel() for p in params))
    num_trainable = int(sum(p.numel() for p in params if p.requires_grad))
    num_modules = len(list(model.modules()))
    num_leaf = sum(1 for m in model.modules() if len(m._modules) == 0)
    keys_before = list(model.state_dict())
    gflops = float(get_flops(model, 640))
    assert list(model.state_dict()) == keys_before  # thop left no buffers
    # The deployed form: end-to-end head selected, BN folded into the convs,
    # the one-to-many branch deleted by Detect.fuse().
    fused = copy.deepcopy(model).eval()
    fused.end2end = True
    fused.fuse(verbose=False)
    fused_params = n_params(fused)
    fused_gflops = float(get_flops(fused, 640))
    del fused
    out_ch = layer_out_channels(model)
    layers = [describe_layer(i, m, out_ch) for i, m in enumerate(model.model)]
    layer_params = [layer['params'] for layer in layers]
    # Loading also checks that the synthetic state dict fits (strict).
    sd_sha256 = load_synthetic(model, sw, seed)
    depth, width, max_ch = model.yaml['scales'][scale]
    exp_params, exp_grads, exp_layers, exp_gflops = YAML_SUMMARY[scale]
    checks = {
        'num_params == yaml': num_params == exp_params,
        'num_trainable == yaml': num_trainable == exp_grads,
        'num_leaf_modules == yaml layers': num_leaf == exp_layers,
        'sum(layer params) == num_params': sum(layer_params) == num_params,
        'one2one branch params == one2many branch params':
        det['params_one2one_branch'] == det['params_one2many_branch'],
        'one2one init == one2many init (deepcopy)':
        det['one2one_init_equals_one2many'],
    }
    if thop_version() == THOP_VERSION_FOR_GFLOPS:
        checks[f'gflops == thop {THOP_VERSION_FOR_GFLOPS} reference'] = (
            abs(gflops - GFLOPS_THOP_223[scale]) < 1e-4)
    if scale == 'n':
        checks['per-layer params == reference'] = (
            layer_params == N_LAYER_PARAMS)
    rec = dict(
        scale=scale,
        yaml_file=f'yolo26{scale}.yaml',
        depth_multiple=depth,
        width_multiple=width,
        max_channels=max_ch,
        yaml_end2end=model.yaml.get('end2end'),
        yaml_reg_max=model.yaml.get('reg_max'),
        nc=NC,
        num_params=num_params,
        num_trainable=num_trainable,
        num_frozen=num_params - num_trainable,
        num_modules=num_modules,
        num_leaf_modules=num_leaf,
        gflops_640=gflops,
        thop_version=thop_version(),
        fused_end2end_params=fused_params,
        fused_end2end_gflops_640=fused_gflops,
        yaml_summary=dict(
            params=exp_params,
            gradients=exp_grads,
            layers=exp_layers,
            gflops=exp_gflops),
        round_gflops_equals_yaml=round(gflops, 1) == exp_gflops,
        checks=checks,
        bn_eps_momentum=bn_settings(model),
        detect=det,
        c2psa=c2psa_info(model),
        layers=layers,
        num_state_dict_entries=len(sd),
        synthetic_seed=seed,
        synthetic_state_dict_sha256=sd_sha256,
        state_dict=[[k, list(v.shape), dtype_name(v.dtype)]
                    for k, v in sd.items()])
    status = 'OK' if all(checks.values()) else checks
    print(f'[{scale}] params {num_params:,} leaf modules {num_leaf} '
          f'GFLOPs {gflops:.3f} (fused e2e {fused_params:,} / '
          f'{fused_gflops:.3f}) c2/c3 {det["c2"]}/{det["c3"]} '
          f'checks {status} ({time.time() - t0:.0f}s)')
    return rec


def split_levels(flat, shapes):
    """(B, C, A) -> [(B, C, h, w)] per level."""
    out, off = [], 0
    for h, w in shapes:
        out.append(flat[:, :, off:off + h * w].reshape(*flat.shape[:2], h, w))
        off += h * w
    assert off == flat.shape[-1]
    return out


def topk_margins(scores_an, k, agnostic):
    """Score gaps that tell whether float noise could change the top-k.

    ``scores_an``: (A, nc) sigmoid scores of the one-to-one branch.
    """
    import torch
    s = scores_an.amax(1) if agnostic else scores_an.flatten()
    srt = torch.sort(s, descending=True).values
    k = min(k, scores_an.shape[0])
    gaps = srt[:k - 1] - srt[1:k]
    return dict(
        k=k,
        score_gap_at_cut=(float(srt[k - 1] - srt[k])
                          if len(srt) > k else None),
        min_gap_between_consecutive_kept_scores=float(gaps.min())
        if k > 1 else None)


def eval_record(scale, sw, seed, image):
    """Eval-mode forwards of one scale, synthetic weights, on ``image``."""
    import numpy as np
    import torch
    from ultralytics.utils.nms import non_max_suppression
    model = build_model(scale)
    load_synthetic(model, sw, seed)
    model.eval()
    det = model.model[-1]
    assert not model.end2end  # 8.4.190 default: one-to-many inference
    inner = {}
    hooks = [
        model.model[i].register_forward_hook(
            lambda mod, inp, out, i=i: inner.__setitem__(i, out.clone()))
        for i in FEATURE_LAYERS[scale]
    ]
    # 1) Default eval path (end2end off): decoded one-to-many, xywh.
    with torch.no_grad():
        y_o2m, preds = model(image.clone())
    for h in hooks:
        h.remove()
    feats = preds['one2many']['feats']
    level_shapes = [tuple(f.shape[2:]) for f in feats]
    arrays = {'input': image.numpy()}
    for i in FEATURE_LAYERS[scale]:
        arrays[f'feat_layer{i}'] = inner[i].numpy()
    # Raw per-level outputs of both branches, [box (4) | class logits (nc)]
    # like YOLO11's raw_p*; recomputed from the head modules and checked
    # against the concatenated prediction dict.
    heads = {'one2many': det.one2many, 'one2one': det.one2one}
    for br in BRANCHES:
        with torch.no_grad():
            direct = [
                torch.cat((heads[br]['box_head'][j](feats[j]),
                           heads[br]['cls_head'][j](feats[j])), 1)
                for j in range(det.nl)
            ]
        from_dict = [
            torch.cat(pair, 1) for pair in zip(
                split_levels(preds[br]['boxes'], level_shapes),
                split_levels(preds[br]['scores'], level_shapes))
        ]
        for name, d, f in zip(LEVELS, direct, from_dict):
            assert torch.equal(d, f), (br, name)
            arrays[f'raw_{br}_{name}'] = d.numpy()
    arrays['y_one2many_xywh'] = y_o2m.numpy()
    # anchors in grid units (x + 0.5, y + 0.5) and strides, (A, 2) / (A,)
    arrays['anchor_points'] = det.anchors.T.contiguous().numpy()
    arrays['stride_tensor'] = det.strides.reshape(-1).numpy()
    # 2) End-to-end path (what nms=False / the e2e export select).
    model.end2end = True
    e2e = {}
    try:
        for tag, max_det, agnostic in E2E_SETTINGS:
            det.max_det = max_det
            det.agnostic_nms = agnostic
            with torch.no_grad():
                dets, preds2 = model(image.clone())
            for br in BRANCHES:
                for key in ('boxes', 'scores'):
                    assert torch.equal(preds2[br][key], preds[br][key])
            e2e[tag] = dets
            arrays[f'e2e_{tag}'] = dets.numpy()
        with torch.no_grad():
            # The decoded one-to-one predictions that postprocess receives
            # (boxes xyxy in pixels because end2end is on, sigmoid scores).
            y_o2o = det._inference(preds['one2one'])
        arrays['y_one2one_xyxy'] = y_o2o.numpy()
    finally:
        model.end2end = False
        det.max_det = type(det).max_det
        det.agnostic_nms = type(det).agnostic_nms
    # 3) One-to-many + NMS, Ultralytics' default predict/val path (nms=None).
    nms_counts = {}
    for tag, conf, multi_label in NMS_SETTINGS:
        out = non_max_suppression(
            y_o2m.clone(),
            conf_thres=conf,
            iou_thres=NMS_IOU,
            multi_label=multi_label,
            max_det=NMS_MAX_DET,
            max_time_img=60.0)[0]
        arrays[f'nms_one2many_{tag}'] = out.numpy().astype('float32')
        nms_counts[tag] = len(out)
    # Conditioning: distance of float32 from float64, same weights and input.
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        y64, preds64 = model64(image.clone().double())
        model64.end2end = True
        dets64, _ = model64(image.clone().double())
        y_o2o64 = model64.model[-1]._inference(preds64['one2one'])
    raw_diff = max(
        float((preds[br][k].double() - preds64[br][k]).abs().max())
        for br in BRANCHES for k in ('boxes', 'scores'))
    e2e300 = e2e['maxdet300'].double()
    fp64_diff = dict(
        raw=raw_diff,
        y_one2many_boxes=float((y_o2m[:, :4].double() - y64[:, :4]).abs().max()),
        y_one2many_scores=float((y_o2m[:, 4:].double() -
                                 y64[:, 4:]).abs().max()),
        y_one2one_boxes=float((y_o2o[:, :4].double() -
                               y_o2o64[:, :4]).abs().max()),
        y_one2one_scores=float((y_o2o[:, 4:].double() -
                                y_o2o64[:, 4:]).abs().max()),
        e2e_maxdet300_same_rows=bool(
            torch.equal(e2e300[0, :, 5], dets64[0, :, 5])
            and float((e2e300[0, :, :4] - dets64[0, :, :4]).abs().max()) <
            1e-2),
        e2e_maxdet300_max_abs_diff=float((e2e300 - dets64).abs().max()))
    scores_an = y_o2o[0, 4:].T.double()  # (A, nc)
    margins = {
        tag: topk_margins(scores_an, max_det, agnostic)
        for tag, max_det, agnostic in E2E_SETTINGS
    }
    e2e_boxes = e2e['maxdet300'][0, :, :4]
    hgt, wid = image.shape[2:]
    outside = ((e2e_boxes[:, 0] < 0) | (e2e_boxes[:, 1] < 0) |
               (e2e_boxes[:, 2] > wid) | (e2e_boxes[:, 3] > hgt))
    o2m_max = y_o2m[0, 4:].amax(0)
    o2o_max = y_o2o[0, 4:].amax(0)
    summary = {
        'input_shape': list(image.shape),
        'level_shapes': [list(s) for s in level_shapes],
        'num_anchors': int(y_o2m.shape[-1]),
        'y_shapes': {
            'one2many_xywh': list(y_o2m.shape),
            'one2one_xyxy': list(y_o2o.shape)
        },
        'e2e_shapes': {t: list(d.shape)
                       for t, d in e2e.items()},
        'anchors_with_max_score_over_0.25': {
            'one2many': int((o2m_max > 0.25).sum()),
            'one2one': int((o2o_max > 0.25).sum())
        },
        'raw_box_distance_quantiles_0_5_50_95_100': {
            br: [
                float(q) for q in np.quantile(preds[br]['boxes'].numpy(),
                                              [0, .05, .5, .95, 1])
            ]
            for br in BRANCHES
        },
        'raw_negative_box_distances': {
            br: int((preds[br]['boxes'] < 0).sum())
            for br in BRANCHES
        },
        'raw_abs_max': max(
            float(preds[br][k].abs().max()) for br in BRANCHES
            for k in ('boxes', 'scores')),
        'e2e_maxdet300_rows_with_box_outside_image': int(outside.sum()),
        'e2e_maxdet300_rows_with_score_over_0.25': int(
            (e2e['maxdet300'][0, :, 4] > 0.25).sum()),
        'e2e_maxdet300_distinct_anchors': int(
            torch.unique(e2e_boxes, dim=0).shape[0]),
        'e2e_topk_margins': margins,
        'nms_one2many_num_detections': nms_counts,
        'float64_max_abs_diff': fp64_diff,
    }
    for k, v in arrays.items():
        assert v.dtype == np.float32, (k, v.dtype)
    print(f'[{scale} eval] e2e {summary["e2e_shapes"]} '
          f'anchors>0.25 {summary["anchors_with_max_score_over_0.25"]} '
          f'nms {nms_counts} margins {margins} fp64 {fp64_diff}')
    return arrays, summary


def loss_targets(rows):
    import torch
    gt = torch.tensor(rows, dtype=torch.float32)
    return {'batch_idx': gt[:, 0], 'cls': gt[:, 1:2], 'bboxes': gt[:, 2:6]}


class AssignerTap:
    """Records the inputs/outputs of one TaskAlignedAssigner call."""

    NAMES = ('target_labels', 'target_bboxes', 'target_scores', 'fg_mask',
             'target_gt_idx')

    def __init__(self, assigner):
        self.assigner = assigner
        self.out = {}
        self.handle = assigner.register_forward_hook(self._hook)
        orig = assigner.select_candidates_in_gts

        def candidates(xy_centers, gt_bboxes, mask_gt, *args, **kwargs):
            mask = orig(xy_centers, gt_bboxes, mask_gt, *args, **kwargs)
            self.out['mask_in_gts'] = mask.detach().clone()
            # The same test without the small-box enlargement, for the
            # record (not used by the loss).
            saved = assigner.stride_val
            assigner.stride_val = 0.0
            try:
                self.out['mask_in_gts_without_small_box_rule'] = orig(
                    xy_centers, gt_bboxes, mask_gt, *args, **kwargs).clone()
            finally:
                assigner.stride_val = saved
            return mask

        assigner.select_candidates_in_gts = candidates
        orig_metrics = assigner.get_box_metrics

        def metrics(*args, **kwargs):
            align_metric, overlaps = orig_metrics(*args, **kwargs)
            # The assigner masks align_metric in place later: copy now.
            self.out['align_metric'] = align_metric.detach().clone()
            return align_metric, overlaps

        assigner.get_box_metrics = metrics

    def tie_report(self):
        """Per GT: (#candidates with metric > 0, #with metric 0, tie-free)."""
        am = self.out['align_metric']
        cand = self.out['mask_in_gts']
        topk = self.assigner.topk
        rep = []
        for i in range(am.shape[0]):
            row = []
            for j in range(am.shape[1]):
                c = cand[i, j]
                if not bool(c.any()):
                    row.append(None)
                    continue
                npos = int((am[i, j][c] > 0).sum())
                nzero = int((am[i, j][c] == 0).sum())
                kth = float(am[i, j].topk(topk).values[-1])
                row.append([npos, nzero, (npos >= topk and kth > 0) or
                            nzero == 0])
            rep.append(row)
        return rep

    def _hook(self, mod, inp, out):
        # The loss divides target_bboxes afterwards: keep copies.
        self.out.update(
            {n: t.detach().clone()
             for n, t in zip(self.NAMES, out)})


def set_epoch(criterion, updates):
    """Branch weights as after ``updates`` calls of ``E2ELoss.update()``.

    ``updates`` = 0 is a fresh criterion (first epoch); otherwise the state is
    set the way the trainer's resume does it (``updates = n - 1``, then one
    ``update()``), i.e. exactly Ultralytics' own schedule.
    """
    if updates == 0:
        assert criterion.updates == 0, 'use a fresh E2ELoss for epoch 0'
    else:
        criterion.updates = updates - 1
        criterion.update()
    assert criterion.updates == updates
    return float(criterion.o2m), float(criterion.o2o)


def loss_record(sw, seed):
    """Train-mode forward of yolo26n on a fixed batch, and its E2ELoss."""
    import numpy as np
    import torch
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.loss import E2ELoss
    model = build_model(LOSS_SCALE)
    load_synthetic(model, sw, seed)
    # default.yaml hyperparameters: box=7.5, cls=0.5, dfl=1.5 (the L1 gain
    # for reg_max=1); epochs sets the branch-weight schedule.
    model.args = get_cfg(overrides={'epochs': LOSS_EPOCHS})
    images = fixed_image(LOSS_SHAPE, LOSS_INPUT_SEED)
    model.train()  # BN uses batch statistics
    with torch.no_grad():
        preds = model(images.clone())
    assert set(preds) == set(BRANCHES)
    feat_shapes = [list(f.shape) for f in preds['one2many']['feats']]
    # Compute the loss from the float32 arrays exactly as saved, with
    # zero-filled feature maps (the loss reads only their shapes), so that
    # reproducing it needs no model forward.
    arrays = {'images': images.numpy()}
    for br in BRANCHES:
        arrays[f'{br}_boxes'] = preds[br]['boxes'].numpy().astype(np.float32)
        arrays[f'{br}_scores'] = preds[br]['scores'].numpy().astype(
            np.float32)

    def preds_from_arrays():
        return {
            br: {
                'boxes': torch.from_numpy(arrays[f'{br}_boxes'].copy()),
                'scores': torch.from_numpy(arrays[f'{br}_scores'].copy()),
                'feats': [torch.zeros(s) for s in feat_shapes],
            }
            for br in BRANCHES
        }

    batch = loss_targets(LOSS_GT)
    arrays['gt_batch_idx'] = batch['batch_idx'].numpy()
    arrays['gt_cls'] = batch['cls'].numpy()
    arrays['gt_bboxes_xywhn'] = batch['bboxes'].numpy()
    keep_img0 = batch['batch_idx'] == 0
    only_img0 = {k: v[keep_img0] for k, v in batch.items()}
    dtypes = dict(
        fg_mask=bool,
        target_gt_idx=np.int64,
        target_labels=np.int64,
        target_bboxes=np.float32,
        target_scores=np.float32,
        mask_in_gts=bool,
        mask_in_gts_without_small_box_rule=bool)
    cases = {}
    for case, b in (('all', batch), ('img1_empty', only_img0)):
        criterion = E2ELoss(model)
        taps = {
            'one2many': AssignerTap(criterion.one2many.assigner),
            'one2one': AssignerTap(criterion.one2one.assigner),
        }
        case_rec = {'num_gt': len(b['cls'])}
        for br in BRANCHES:
            a = criterion.one2many if br == 'one2many' else criterion.one2one
            case_rec[f'{br}_assigner'] = dict(
                topk=a.assigner.topk,
                topk2=a.assigner.topk2,
                alpha=a.assigner.alpha,
                beta=a.assigner.beta,
                stride_val=a.assigner.stride_val)
        for tag, updates in EPOCH_SETTINGS:
            w_o2m, w_o2o = set_epoch(criterion, updates)
            with torch.no_grad():
                total, items = criterion(preds_from_arrays(), b)
                # The same with the real feature maps: must be identical.
                total_real, _ = criterion(preds, b)
                # Each branch alone: (gain-scaled vector * batch size, items)
                branch = {
                    'one2many':
                    criterion.one2many.loss(preds_from_arrays()['one2many'],
                                            b),
                    'one2one':
                    criterion.one2one.loss(preds_from_arrays()['one2one'], b),
                }
            assert torch.equal(total, total_real)
            item_names = list(items)
            items_arr = np.array([float(v) for v in items.values()],
                                 dtype=np.float32)
            arrays[f'{case}_{tag}_loss_total'] = total.numpy().astype(
                np.float32)
            arrays[f'{case}_{tag}_loss_items'] = items_arr
            for br in BRANCHES:
                arrays[f'{case}_{br}_loss_vector'] = branch[br][0].numpy(
                ).astype(np.float32)
                arrays[f'{case}_{br}_loss_items'] = np.array(
                    [float(v) for v in branch[br][1].values()],
                    dtype=np.float32)
            case_rec[tag] = dict(
                updates=updates,
                weight_one2many=w_o2m,
                weight_one2one=w_o2o,
                loss_vector=[float(v) for v in total],
                loss_sum=float(total.sum()),
                logged_items=dict(
                    zip(item_names, (float(v) for v in items_arr))))
        for br in BRANCHES:
            cap = taps[br].out
            for name, dtype in dtypes.items():
                arrays[f'{case}_{br}_{name}'] = cap[name].numpy().astype(dtype)
            per_gt = cap['mask_in_gts'].sum(-1)
            per_gt_no_rule = cap['mask_in_gts_without_small_box_rule'].sum(-1)
            fg = cap['fg_mask']
            ties = taps[br].tie_report()
            tie_free = all(t[2] for row in ties for t in row if t is not None)
            case_rec[br] = dict(
                tie_free=tie_free,
                **{'per_gt_[cands_metric>0,cands_metric==0,tie_free]': ties},
                loss_items=dict(
                    zip(item_names, (float(v)
                                     for v in arrays[f'{case}_{br}_loss_items']))),
                loss_vector_times_batch=[
                    float(v) for v in arrays[f'{case}_{br}_loss_vector']
                ],
                num_foreground_anchors=int(fg.sum()),
                target_scores_sum=float(cap['target_scores'].sum()),
                candidates_per_gt=per_gt.tolist(),
                candidates_per_gt_without_small_box_rule=per_gt_no_rule.
                tolist(),
                foreground_anchors_per_gt=[[
                    int(((cap['target_gt_idx'][i] == j) & fg[i]).sum())
                    for j in range(per_gt.shape[1])
                ] for i in range(per_gt.shape[0])])
        # Conditioning: the same loss in float64 (from the same float32
        # arrays), and whether the assignment is unchanged.
        crit64 = E2ELoss(model)
        taps64 = {
            'one2many': AssignerTap(crit64.one2many.assigner),
            'one2one': AssignerTap(crit64.one2one.assigner),
        }
        p64 = {
            br: {
                'boxes': torch.from_numpy(arrays[f'{br}_boxes']).double(),
                'scores': torch.from_numpy(arrays[f'{br}_scores']).double(),
                'feats':
                [torch.zeros(s, dtype=torch.float64) for s in feat_shapes],
            }
            for br in BRANCHES
        }
        with torch.no_grad():
            diffs = {}
            for br in BRANCHES:
                a64 = crit64.one2many if br == 'one2many' else crit64.one2one
                _, it64 = a64.loss(p64[br], b)
                diffs[br] = max(
                    abs(float(v) - float(w)) / max(abs(float(w)), 1e-12)
                    for v, w in zip(it64.values(),
                                    arrays[f'{case}_{br}_loss_items']))
        case_rec['float64_rerun'] = dict(
            max_rel_diff_loss_items=diffs,
            same_assignment=all(
                torch.equal(taps64[br].out[k], taps[br].out[k])
                for br in BRANCHES
                for k in ('fg_mask', 'target_gt_idx', 'target_labels')))
        cases[case] = case_rec
        print(f'[loss {case}] ' + json.dumps(
            {k: v
             for k, v in case_rec.items() if k.startswith('epoch')}))
        print(f'[loss {case}] fg o2m {case_rec["one2many"]["num_foreground_anchors"]} '
              f'o2o {case_rec["one2one"]["num_foreground_anchors"]} '
              f'candidates o2o {case_rec["one2one"]["candidates_per_gt"]} '
              f'(no rule {case_rec["one2one"]["candidates_per_gt_without_small_box_rule"]})')
    summary = {
        'scale': LOSS_SCALE,
        'images_shape': list(LOSS_SHAPE),
        'images_seed': LOSS_INPUT_SEED,
        'gt_rows_[img,cls,cx,cy,w,h]_normalized': [list(r) for r in LOSS_GT],
        'hyp': dict(
            box=model.args.box,
            cls=model.args.cls,
            dfl=model.args.dfl,
            epochs=model.args.epochs),
        'preds_shapes': {
            br: {
                'boxes': list(arrays[f'{br}_boxes'].shape),
                'scores': list(arrays[f'{br}_scores'].shape)
            }
            for br in BRANCHES
        },
        'feat_shapes': feat_shapes,
        'loss_item_names': item_names,
        'all_gt_tie_free': all(c[br]['tie_free'] for c in cases.values()
                               for br in BRANCHES),
        'assignment_same_in_float64': all(
            c['float64_rerun']['same_assignment'] for c in cases.values()),
        'cases': cases,
    }
    return arrays, summary


def versions():
    import numpy
    import torch
    import torchvision
    import ultralytics
    return {
        'ultralytics': ultralytics.__version__,
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'numpy': numpy.__version__,
        'ultralytics-thop': thop_version(),
        'python': platform.python_version(),
    }


def _format_json(obj, indent=0):
    """Indented JSON; a value whose one-line form is short stays inline."""
    flat = json.dumps(obj)
    if indent > 0 and len(flat) <= 250:
        return flat
    pad = ' ' * (indent + 1)
    if isinstance(obj, dict):
        items = [
            f'{pad}{json.dumps(k)}: {_format_json(v, indent + 1)}'
            for k, v in obj.items()
        ]
        return '{\n' + ',\n'.join(items) + '\n' + ' ' * indent + '}'
    if isinstance(obj, list):
        items = [pad + _format_json(v, indent + 1) for v in obj]
        return '[\n' + ',\n'.join(items) + '\n' + ' ' * indent + ']'
    return flat


def write_json(path, obj):
    text = _format_json(obj) + '\n'
    assert json.loads(text) == json.loads(json.dumps(obj))
    path.write_text(text)


def build_manifest(sw, seed, structures, eval_summaries, loss_summary):
    synthetic = dict(
        module='tests/fixtures/yolo26_reference/synthetic_weights.py',
        seed=seed,
        weight_gains=[list(r) for r in sw.WEIGHT_GAINS])
    synthetic['bias_shifts_[regex,constant,per_element_slope]'] = [
        list(r) for r in sw.BIAS_SHIFTS
    ]
    evaluation = dict(
        input_shape=list(EVAL_SHAPE),
        input=(f'torch.randint(0, 256, {list(EVAL_SHAPE)}, '
               f'generator=manual_seed({EVAL_INPUT_SEED})) / 255'),
        e2e_settings={
            tag: dict(max_det=md, agnostic_nms=ag)
            for tag, md, ag in E2E_SETTINGS
        },
        nms_settings={
            tag: dict(
                conf_thres=conf,
                iou_thres=NMS_IOU,
                multi_label=ml,
                max_det=NMS_MAX_DET,
                agnostic=False,
                max_nms=30000,
                max_wh=7680)
            for tag, conf, ml in NMS_SETTINGS
        },
        feature_layers={k: list(v)
                        for k, v in FEATURE_LAYERS.items()},
        results=eval_summaries)
    keys = ('num_params', 'num_trainable', 'num_modules', 'num_leaf_modules',
            'gflops_640', 'fused_end2end_params', 'fused_end2end_gflops_640',
            'checks')
    structure = {
        scale: {k: rec[k]
                for k in keys}
        for scale, rec in structures.items()
    }
    return dict(
        generator='tools/reference/make_yolo26_fixtures.py',
        command=COMMAND,
        versions=versions(),
        synthetic_weights=synthetic,
        eval=evaluation,
        loss=loss_summary,
        structure=structure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--out',
        type=Path,
        required=True,
        help='output folder (tests/fixtures/yolo26_reference)')
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help='synthetic-weight seed (default: synthetic_weights.DEFAULT_SEED)')
    parser.add_argument(
        '--scales',
        default=SCALES,
        help='scales for the structure files (default: nsmlx)')
    args = parser.parse_args(argv)

    check_sandbox()
    import numpy as np
    import torch
    torch.use_deterministic_algorithms(True)
    sw = load_synthetic_weights_module()
    seed = sw.DEFAULT_SEED if args.seed is None else args.seed
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    structures = {}
    for scale in args.scales:
        structures[scale] = structure_record(scale, sw, seed)
        write_json(args.out / f'yolo26{scale}_structure.json',
                   structures[scale])

    eval_summaries = {}
    image = fixed_image(EVAL_SHAPE, EVAL_INPUT_SEED)
    for scale in EVAL_SCALES:
        arrays, eval_summaries[scale] = eval_record(scale, sw, seed, image)
        np.savez_compressed(args.out / f'yolo26{scale}_eval.npz', **arrays)

    arrays, loss_summary = loss_record(sw, seed)
    np.savez_compressed(args.out / f'yolo26{LOSS_SCALE}_loss.npz', **arrays)

    manifest = build_manifest(sw, seed, structures, eval_summaries,
                              loss_summary)
    write_json(args.out / 'manifest.json', manifest)
    failed = {
        scale: [k for k, ok in rec['checks'].items() if not ok]
        for scale, rec in structures.items()
    }
    failed = {scale: f for scale, f in failed.items() if f}
    eval_failed = [
        scale for scale, s in eval_summaries.items()
        if not s['float64_max_abs_diff']['e2e_maxdet300_same_rows']
    ]
    ties = not (loss_summary['all_gt_tie_free']
                and loss_summary['assignment_same_in_float64'])
    too_big = [
        p.name for p in args.out.iterdir()
        if p.is_file() and p.stat().st_size >= 1_000_000
    ]
    print(f'done in {time.time() - t_start:.0f}s; '
          f'failed checks: {failed or "none"}; '
          f'e2e not stable under float64: {eval_failed or "none"}; '
          f'files >= 1 MB: {too_big or "none"}; '
          f'tie-dependent or fragile assignment: {ties}')
    return 1 if failed or eval_failed or too_big or ties else 0


if __name__ == '__main__':
    sys.exit(main())
