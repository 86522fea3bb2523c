"""Record YOLO11 reference fixtures from Ultralytics 8.3.0, synthetic weights.

Runs ONLY in the separate reference venv (ultralytics is AGPL-3.0 and is never
installed in the project venv; nothing from it is copied into this repo).
See tools/reference/README.md. Typical call, from the repo root::

    YOLO_OFFLINE=true unshare -n /opt/ultra-venv/bin/python \\
        tools/reference/make_yolo11_fixtures.py \\
        --out tests/fixtures/yolo11_reference

What it writes (described in detail in <out>/README.md):

* ``yolo11{n,s,m,l,x}_structure.json``: state-dict keys/shapes/dtypes,
  parameter counts (total, trainable, per layer), GFLOPs, module types and
  resolved channels per layer, Detect and C2PSA settings.
* ``yolo11{n,x}_eval.npz``: a fixed 1x3x96x128 input, the raw per-level Detect
  outputs, the decoded predictions and NMS results, all with synthetic weights.
* ``yolo11n_loss.npz``: a fixed 2x3x128x128 batch, GT boxes, the train-mode
  per-level predictions, ``v8DetectionLoss`` values and assigner outputs.
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
FIXTURE_DIR = REPO_ROOT / 'tests' / 'fixtures' / 'yolo11_reference'
SYNTHETIC_WEIGHTS_PY = FIXTURE_DIR / 'synthetic_weights.py'

COMMAND = ('YOLO_OFFLINE=true unshare -n /opt/ultra-venv/bin/python '
           'tools/reference/make_yolo11_fixtures.py '
           '--out tests/fixtures/yolo11_reference')
SCALES = 'nsmlx'
NC = 80

# Summaries in the comments of ultralytics 8.3.0 cfg/models/11/yolo11.yaml:
# (parameters, gradients, "layers" = len(list(model.modules())), GFLOPs@640).
YAML_SUMMARY = {
    'n': (2624080, 2624064, 319, 6.6),
    's': (9458752, 9458736, 319, 21.7),
    'm': (20114688, 20114672, 409, 68.5),
    'l': (25372160, 25372144, 631, 87.6),
    'x': (56966176, 56966160, 631, 196.0),
}
# Per-layer parameter counts of yolo11n (layers 0..23).
N_LAYER_PARAMS = [
    464, 4672, 6640, 36992, 26080, 147712, 87040, 295424, 346112, 164608,
    249728, 0, 0, 111296, 0, 0, 32096, 36992, 0, 86720, 147712, 0, 378880,
    464912
]

EVAL_SCALES = 'nx'
# Intermediate outputs, recorded for scale n only (file size): backbone
# outputs C3/C4/C5 (layers 4, 6, 10) and neck outputs P3/P4/P5 (layers 16,
# 19, 22), to localise a mismatch.
FEATURE_LAYERS = {'n': (4, 6, 10, 16, 19, 22), 'x': ()}
EVAL_SHAPE = (1, 3, 96, 128)  # non-square on purpose: H=96, W=128
EVAL_INPUT_SEED = 0
# (tag, conf_thres, multi_label); all with iou_thres=0.7, max_det=300.
NMS_SETTINGS = [
    ('conf025', 0.25, False),
    ('conf0001', 0.001, False),
    ('conf0001_multilabel', 0.001, True),  # the Ultralytics validator's
]
NMS_IOU = 0.7
NMS_MAX_DET = 300

LOSS_SCALE = 'n'
LOSS_SHAPE = (2, 3, 128, 128)
LOSS_INPUT_SEED = 1
# GT boxes: (image index, class, cx, cy, w, h), normalized to the image size.
LOSS_GT = [
    (0, 0, 0.50, 0.50, 0.40, 0.60),
    (0, 17, 0.25, 0.30, 0.20, 0.15),
    (0, 56, 0.80, 0.75, 0.30, 0.35),
    (1, 2, 0.40, 0.60, 0.50, 0.30),
    (1, 79, 0.10, 0.10, 0.08, 0.10),  # small, near a corner: few anchors
]


def check_sandbox() -> None:
    """Refuse to run unless offline and only loopback is visible."""
    if os.environ.get('YOLO_OFFLINE', '').lower() != 'true':
        sys.exit('set YOLO_OFFLINE=true and run under `unshare -n`')
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ['lo']:
        sys.exit(f'network interfaces {names} are visible; '
                 'run under `unshare -n` (private network namespace)')


def load_synthetic_weights_module():
    spec = importlib.util.spec_from_file_location('yolo11_synthetic_weights',
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
    return DetectionModel(f'yolo11{scale}.yaml', nc=NC, verbose=False)


def load_synthetic(model, sw, seed):
    """Load the synthetic state dict (strict); return its sha256."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    dtypes = {k: dtype_name(v.dtype) for k, v in model.state_dict().items()}
    sd = sw.synthetic_state_dict(shapes, dtypes, seed=seed)
    model.load_state_dict(sd, strict=True)
    return state_dict_sha256(sd)


def state_dict_sha256(sd):
    """sha256 of key names and raw tensor bytes, in order.

    Lets a test check that its regenerated state dict is bit-exact.
    """
    h = hashlib.sha256()
    for key, tensor in sd.items():
        h.update(key.encode('utf-8'))
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


def dtype_name(dtype) -> str:
    return str(dtype).removeprefix('torch.')


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


def describe_layer(i, m, out_channels):
    """Plain facts about layer ``model.model[i]`` for the converter author."""
    from ultralytics.nn.modules.block import SPPF, Bottleneck, C2PSA, C3k, C3k2
    from ultralytics.nn.modules.conv import Concat, Conv
    from ultralytics.nn.modules.head import Detect
    info = {
        'i': i,
        'from': m.f,
        'type': m.type,
        'class': type(m).__name__,
        'params': int(sum(p.numel() for p in m.parameters())),
        'out_channels': out_channels.get(i),
    }
    if isinstance(m, Conv):
        c = m.conv
        info.update(
            in_channels=c.in_channels,
            kernel=c.kernel_size[0],
            stride=c.stride[0],
            groups=c.groups)
    elif isinstance(m, C3k2):
        inner = m.m[0]
        info.update(
            in_channels=m.cv1.conv.in_channels,
            hidden_c=m.c,
            n=len(m.m),
            c3k=isinstance(inner, C3k),
            inner_class=type(inner).__name__)
        if isinstance(inner, C3k):
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
            pool_k=m.m.kernel_size)
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
    det = model.model[-1]
    # Ultralytics' own bias_init value of each level's class-logit conv
    # (before the synthetic weights replace it).
    cls_bias_init = [float(seq[-1].bias[0].detach()) for seq in det.cv3]
    return dict(
        nc=det.nc,
        reg_max=det.reg_max,
        no=det.no,
        nl=det.nl,
        ch=[seq[0].conv.in_channels for seq in det.cv2],
        c2=det.cv2[0][0].conv.out_channels,
        c3=det.cv3[0][0][1].conv.out_channels,
        stride=[float(s) for s in det.stride],
        end2end=bool(getattr(det, 'end2end', False)),
        max_det=int(getattr(det, 'max_det', 300)),
        cls_bias_init_by_ultralytics=cls_bias_init)


def psa_block_info(blk):
    a = blk.attn
    return {
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


def structure_record(scale, sw, seed):
    """Architecture facts of one scale (weights do not matter here)."""
    from ultralytics.utils.torch_utils import get_flops
    t0 = time.time()
    model = build_model(scale)
    det = detect_info(model)
    sd = model.state_dict()
    params = list(model.parameters())
    n_params = int(sum(p.numel() for p in params))
    n_trainable = int(sum(p.numel() for p in params if p.requires_grad))
    n_modules = len(list(model.modules()))
    gflops = float(get_flops(model, 640))
    out_ch = layer_out_channels(model)
    layers = [describe_layer(i, m, out_ch) for i, m in enumerate(model.model)]
    layer_params = [layer['params'] for layer in layers]
    # Loading also checks that the synthetic state dict fits (strict).
    sd_sha256 = load_synthetic(model, sw, seed)
    depth, width, max_ch = model.yaml['scales'][scale]
    exp_params, exp_grads, exp_layers, exp_gflops = YAML_SUMMARY[scale]
    checks = {
        'num_params == yaml': n_params == exp_params,
        'num_trainable == yaml': n_trainable == exp_grads,
        'num_modules == yaml layers': n_modules == exp_layers,
        'round(gflops, 1) == yaml': round(gflops, 1) == exp_gflops,
        'sum(layer params) == num_params': sum(layer_params) == n_params,
    }
    if scale == 'n':
        checks['per-layer params == reference'] = (
            layer_params == N_LAYER_PARAMS)
    rec = dict(
        scale=scale,
        yaml_file=f'yolo11{scale}.yaml',
        depth_multiple=depth,
        width_multiple=width,
        max_channels=max_ch,
        nc=NC,
        num_params=n_params,
        num_trainable=n_trainable,
        num_frozen=n_params - n_trainable,
        num_modules=n_modules,
        gflops_640=gflops,
        yaml_summary=dict(
            params=exp_params,
            gradients=exp_grads,
            layers=exp_layers,
            gflops=exp_gflops),
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
    print(f'[{scale}] params {n_params:,} trainable {n_trainable:,} '
          f'modules {n_modules} GFLOPs {gflops:.3f} '
          f'c2/c3 {det["c2"]}/{det["c3"]} checks {status} '
          f'({time.time() - t0:.0f}s)')
    return rec


def nms_results(y):
    """NMS outputs per setting, and how well separated their scores are."""
    import torch
    from ultralytics.utils.ops import non_max_suppression
    out, margins = {}, {}
    for tag, conf, multi_label in NMS_SETTINGS:
        # It converts boxes in place (in_place=True), so give it a copy; a
        # generous max_time_img, so that its time-limit early exit cannot
        # truncate the results on a slow CPU.
        det = non_max_suppression(
            y.clone(),
            conf_thres=conf,
            iou_thres=NMS_IOU,
            multi_label=multi_label,
            max_det=NMS_MAX_DET,
            max_time_img=60.0)[0]
        out[tag] = det.numpy().astype('float32')
        # The same without the max_det cap: the score gap at the cap tells
        # whether float noise could change which detections are kept.
        uncapped = non_max_suppression(
            y.clone(),
            conf_thres=conf,
            iou_thres=NMS_IOU,
            multi_label=multi_label,
            max_det=10**6,
            max_time_img=60.0)[0]
        assert torch.equal(uncapped[:len(det)], det)
        scores = det[:, 4]
        gap_at_cap = None
        if len(uncapped) > len(det):
            gap_at_cap = float(scores[-1] - uncapped[len(det), 4])
        margins[tag] = dict(
            num_without_max_det=len(uncapped),
            score_gap_at_max_det=gap_at_cap,
            min_gap_between_consecutive_scores=float(
                (scores[:-1] - scores[1:]).min()) if len(det) > 1 else None,
            min_abs_iou_minus_iou_thres=iou_margin(y, det, conf, multi_label))
    return out, margins


def iou_margin(y, det, conf, multi_label):
    """Smallest |IoU - iou_thres| of a kept box and a same-class candidate.

    Large compared with float noise means no suppression decision is fragile.
    """
    import torch
    from torchvision.ops import box_iou
    from ultralytics.utils.ops import xywh2xyxy
    boxes = xywh2xyxy(y[0, :4].T.double())
    scores = y[0, 4:].T.double()  # (A, nc)
    det = det.double()
    margin = float('inf')
    for c in det[:, 5].unique().long().tolist():
        if multi_label:
            cand = scores[:, c] > conf
        else:
            cand = (scores.argmax(1) == c) & (scores.amax(1) > conf)
        iou = box_iou(det[det[:, 5] == c, :4], boxes[cand])
        gaps = (iou - NMS_IOU).abs()
        margin = min(margin, float(gaps.min()))
    return margin


def eval_record(scale, sw, seed, image):
    """Eval-mode forward of one scale, synthetic weights, on ``image``."""
    import numpy as np
    import torch
    model = build_model(scale)
    load_synthetic(model, sw, seed)
    model.eval()
    inner = {}
    hooks = [
        model.model[i].register_forward_hook(
            lambda mod, inp, out, i=i: inner.__setitem__(i, out.clone()))
        for i in FEATURE_LAYERS[scale]
    ]
    with torch.no_grad():
        y, feats = model(image.clone())
    for h in hooks:
        h.remove()
    det = model.model[-1]
    arrays = {'input': image.numpy()}
    for i in FEATURE_LAYERS[scale]:
        arrays[f'feat_layer{i}'] = inner[i].numpy()
    for name, f in zip(('p3', 'p4', 'p5'), feats):
        arrays[f'raw_{name}'] = f.numpy()
    arrays['y'] = y.numpy()
    # (A, 2) in grid units, cell centres (x + 0.5, y + 0.5)
    arrays['anchor_points'] = det.anchors.T.contiguous().numpy()
    arrays['stride_tensor'] = det.strides.reshape(-1).numpy()  # (A,)
    nms, nms_margins = nms_results(y)
    for tag, boxes in nms.items():
        arrays[f'nms_{tag}'] = boxes
    # Conditioning: distance of float32 from float64, same weights and input.
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        y64, feats64 = model64(image.clone().double())
    raw_diff = max(
        float((f.double() - f64).abs().max())
        for f, f64 in zip(feats, feats64))
    fp64_diff = dict(
        raw=raw_diff,
        y=float((y.double() - y64).abs().max()),
        y_scores=float((y[:, 4:].double() - y64[:, 4:]).abs().max()))
    scores = y[0, 4:].amax(0)
    quantiles = np.quantile(scores.numpy(), [0, .25, .5, .75, 1])
    summary = {
        'input_shape': list(image.shape),
        'raw_shapes': [list(f.shape) for f in feats],
        'y_shape': list(y.shape),
        'num_anchors': int(y.shape[-1]),
        'anchors_with_max_score_over_0.25': int((scores > 0.25).sum()),
        'max_score_quantiles_0_25_50_75_100': [float(q) for q in quantiles],
        'raw_abs_max': max(float(f.abs().max()) for f in feats),
        'float64_max_abs_diff': fp64_diff,
        'num_detections': {
            tag: len(b)
            for tag, b in nms.items()
        },
        'nms_score_margins': nms_margins,
    }
    for k, v in arrays.items():
        assert v.dtype == np.float32, (k, v.dtype)
    print(f'[{scale} eval] detections {summary["num_detections"]} '
          f'anchors>0.25 {summary["anchors_with_max_score_over_0.25"]}/'
          f'{summary["num_anchors"]} fp64 diff {fp64_diff}')
    return arrays, summary


def loss_targets():
    import torch
    gt = torch.tensor(LOSS_GT, dtype=torch.float32)
    return {'batch_idx': gt[:, 0], 'cls': gt[:, 1:2], 'bboxes': gt[:, 2:6]}


def run_loss(model, preds, batch):
    """``v8DetectionLoss`` of per-level predictions, with assigner outputs."""
    import torch
    from ultralytics.utils.loss import v8DetectionLoss
    criterion = v8DetectionLoss(model)
    captured = {}

    def hook(mod, inp, out):
        # The loss divides target_bboxes in place afterwards: keep copies.
        names = ('target_labels', 'target_bboxes', 'target_scores', 'fg_mask',
                 'target_gt_idx')
        captured.update({n: t.detach().clone() for n, t in zip(names, out)})

    handle = criterion.assigner.register_forward_hook(hook)
    with torch.no_grad():
        total, items = criterion([p.clone() for p in preds], batch)
    handle.remove()
    return float(total), items.numpy().astype('float32'), captured


def loss_record(sw, seed):
    """Train-mode forward of yolo11n on a fixed batch, and its loss."""
    import numpy as np
    import torch
    from ultralytics.cfg import get_cfg
    model = build_model(LOSS_SCALE)
    load_synthetic(model, sw, seed)
    # default.yaml hyperparameters: box=7.5, cls=0.5, dfl=1.5
    model.args = get_cfg()
    images = fixed_image(LOSS_SHAPE, LOSS_INPUT_SEED)
    model.train()  # BN uses batch statistics
    with torch.no_grad():
        preds = model(images.clone())  # [(B, 64 + nc, H/s, W/s)] * 3
    # Compute the loss from the float32 arrays exactly as saved, so that
    # reproducing it needs no model forward.
    pred_arrays = [p.numpy().astype(np.float32) for p in preds]
    preds = [torch.from_numpy(a) for a in pred_arrays]
    batch = loss_targets()
    arrays = {'images': images.numpy()}
    for name, a in zip(('p3', 'p4', 'p5'), pred_arrays):
        arrays[f'preds_{name}'] = a
    arrays['gt_batch_idx'] = batch['batch_idx'].numpy()
    arrays['gt_cls'] = batch['cls'].numpy()
    arrays['gt_bboxes_xywhn'] = batch['bboxes'].numpy()
    # Case "all": every GT; case "img1_empty": image 1 has no GT
    # (the padding / empty-image path).
    keep_img0 = batch['batch_idx'] == 0
    only_img0 = {k: v[keep_img0] for k, v in batch.items()}
    dtypes = dict(
        fg_mask=bool,
        target_gt_idx=np.int64,
        target_labels=np.int64,
        target_bboxes=np.float32,
        target_scores=np.float32)
    cases = {}
    for case, b in (('all', batch), ('img1_empty', only_img0)):
        total, items, cap = run_loss(model, preds, b)
        arrays[f'{case}_loss_items'] = items
        arrays[f'{case}_loss_total'] = np.array(total, dtype=np.float32)
        for name, dtype in dtypes.items():
            arrays[f'{case}_{name}'] = cap[name].numpy().astype(dtype)
        cases[case] = dict(
            num_gt=len(b['cls']),
            loss_box=float(items[0]),
            loss_cls=float(items[1]),
            loss_dfl=float(items[2]),
            loss_total=total,
            num_foreground_anchors=int(cap['fg_mask'].sum()),
            target_scores_sum=float(cap['target_scores'].sum()))
        print(f'[loss {case}] {cases[case]}')
    summary = {
        'scale': LOSS_SCALE,
        'images_shape': list(LOSS_SHAPE),
        'images_seed': LOSS_INPUT_SEED,
        'gt_rows_[img,cls,cx,cy,w,h]_normalized': [list(r) for r in LOSS_GT],
        'hyp':
        dict(box=model.args.box, cls=model.args.cls, dfl=model.args.dfl),
        'preds_shapes': [list(a.shape) for a in pred_arrays],
        'cases': cases,
    }
    return arrays, summary


def versions():
    import numpy
    import torch
    import torchvision
    import ultralytics
    try:
        from importlib.metadata import version
        thop_version = version('ultralytics-thop')
    except Exception:  # noqa: BLE001
        thop_version = None
    return {
        'ultralytics': ultralytics.__version__,
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'numpy': numpy.__version__,
        'ultralytics-thop': thop_version,
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
    nms_settings = {}
    for tag, conf, multi_label in NMS_SETTINGS:
        nms_settings[tag] = dict(
            conf_thres=conf,
            iou_thres=NMS_IOU,
            multi_label=multi_label,
            max_det=NMS_MAX_DET,
            agnostic=False,
            max_nms=30000,
            max_wh=7680)
    synthetic = dict(
        module='tests/fixtures/yolo11_reference/synthetic_weights.py',
        seed=seed,
        weight_gains=[list(r) for r in sw.WEIGHT_GAINS])
    synthetic['bias_shifts_[regex,constant,per_bin_slope]'] = [
        list(r) for r in sw.BIAS_SHIFTS
    ]
    evaluation = dict(
        input_shape=list(EVAL_SHAPE),
        input=(f'torch.randint(0, 256, {list(EVAL_SHAPE)}, '
               f'generator=manual_seed({EVAL_INPUT_SEED})) / 255'),
        nms_settings=nms_settings,
        feature_layers={
            k: list(v)
            for k, v in FEATURE_LAYERS.items()
        },
        results=eval_summaries)
    keys = ('num_params', 'num_trainable', 'num_modules', 'gflops_640',
            'checks')
    structure = {
        scale: {
            k: rec[k]
            for k in keys
        }
        for scale, rec in structures.items()
    }
    return dict(
        generator='tools/reference/make_yolo11_fixtures.py',
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
        help='output folder (tests/fixtures/yolo11_reference)')
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
        write_json(args.out / f'yolo11{scale}_structure.json',
                   structures[scale])

    eval_summaries = {}
    image = fixed_image(EVAL_SHAPE, EVAL_INPUT_SEED)
    for scale in EVAL_SCALES:
        arrays, eval_summaries[scale] = eval_record(scale, sw, seed, image)
        np.savez_compressed(args.out / f'yolo11{scale}_eval.npz', **arrays)

    arrays, loss_summary = loss_record(sw, seed)
    np.savez_compressed(args.out / f'yolo11{LOSS_SCALE}_loss.npz', **arrays)

    manifest = build_manifest(sw, seed, structures, eval_summaries,
                              loss_summary)
    write_json(args.out / 'manifest.json', manifest)
    failed = {
        scale: [k for k, ok in rec['checks'].items() if not ok]
        for scale, rec in structures.items()
    }
    failed = {scale: f for scale, f in failed.items() if f}
    print(f'done in {time.time() - t_start:.0f}s; '
          f'failed checks: {failed or "none"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
