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

import copy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reference_common as common  # noqa: E402

ARCH = 'yolo26'
FIXTURE_DIR = common.REPO_ROOT / 'tests' / 'fixtures' / 'yolo26_reference'
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


def build_model(scale):
    return common.build_model(ARCH, scale, NC)


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
    n_params = common.n_params
    return dict(
        **common.detect_basics(det),
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


def structure_record(scale, sw, seed):
    """Architecture facts of one scale (weights do not matter here)."""
    from ultralytics.utils.torch_utils import get_flops
    t0 = time.time()
    model = build_model(scale)
    det = detect_info(model)
    sd = model.state_dict()
    num_params, num_trainable, num_modules = common.param_counts(model)
    num_leaf = sum(1 for m in model.modules() if len(m._modules) == 0)
    keys_before = list(model.state_dict())
    gflops = float(get_flops(model, 640))
    assert list(model.state_dict()) == keys_before  # thop left no buffers
    # The deployed form: end-to-end head selected, BN folded into the convs,
    # the one-to-many branch deleted by Detect.fuse().
    fused = copy.deepcopy(model).eval()
    fused.end2end = True
    fused.fuse(verbose=False)
    fused_params = common.n_params(fused)
    fused_gflops = float(get_flops(fused, 640))
    del fused
    layers, layer_params = common.describe_layers(model, yolo26=True)
    # Loading also checks that the synthetic state dict fits (strict).
    sd_sha256 = common.load_synthetic(model, sw, seed)
    exp_params, exp_grads, exp_layers, exp_gflops = YAML_SUMMARY[scale]
    thop_version = common.thop_version()
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
    if thop_version == THOP_VERSION_FOR_GFLOPS:
        checks[f'gflops == thop {THOP_VERSION_FOR_GFLOPS} reference'] = (
            abs(gflops - GFLOPS_THOP_223[scale]) < 1e-4)
    if scale == 'n':
        checks['per-layer params == reference'] = (
            layer_params == N_LAYER_PARAMS)
    rec = dict(
        **common.scale_facts(model, ARCH, scale),
        yaml_end2end=model.yaml.get('end2end'),
        yaml_reg_max=model.yaml.get('reg_max'),
        nc=NC,
        num_params=num_params,
        num_trainable=num_trainable,
        num_frozen=num_params - num_trainable,
        num_modules=num_modules,
        num_leaf_modules=num_leaf,
        gflops_640=gflops,
        thop_version=thop_version,
        fused_end2end_params=fused_params,
        fused_end2end_gflops_640=fused_gflops,
        yaml_summary=common.yaml_summary_facts(YAML_SUMMARY[scale]),
        round_gflops_equals_yaml=round(gflops, 1) == exp_gflops,
        checks=checks,
        **common.weights_facts(
            model, det, layers, sd, seed, sd_sha256, yolo26=True))
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
    common.load_synthetic(model, sw, seed)
    model.eval()
    det = model.model[-1]
    assert not model.end2end  # 8.4.190 default: one-to-many inference
    # 1) Default eval path (end2end off): decoded one-to-many, xywh.
    with common.recorded_outputs(model, FEATURE_LAYERS[scale]) as inner, \
            torch.no_grad():
        y_o2m, preds = model(image.clone())
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
    arrays.update(common.anchor_arrays(det))
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
        out = common.nms(non_max_suppression, y_o2m, conf, NMS_IOU,
                         multi_label, NMS_MAX_DET)
        arrays[f'nms_one2many_{tag}'] = out.numpy().astype('float32')
        nms_counts[tag] = len(out)
    # Conditioning: distance of float32 from float64, same weights and input.
    model64, (y64, preds64) = common.float64_rerun(model, image)
    with torch.no_grad():
        model64.end2end = True
        dets64, _ = model64(image.clone().double())
        y_o2o64 = model64.model[-1]._inference(preds64['one2one'])
    diff = common.max_abs_diff
    raw_diff = max(
        diff(preds[br][k], preds64[br][k])
        for br in BRANCHES for k in ('boxes', 'scores'))
    e2e300 = e2e['maxdet300'].double()
    fp64_diff = dict(
        raw=raw_diff,
        y_one2many_boxes=diff(y_o2m[:, :4], y64[:, :4]),
        y_one2many_scores=diff(y_o2m[:, 4:], y64[:, 4:]),
        y_one2one_boxes=diff(y_o2o[:, :4], y_o2o64[:, :4]),
        y_one2one_scores=diff(y_o2o[:, 4:], y_o2o64[:, 4:]),
        e2e_maxdet300_same_rows=bool(
            torch.equal(e2e300[0, :, 5], dets64[0, :, 5])
            and diff(e2e300[0, :, :4], dets64[0, :, :4]) < 1e-2),
        e2e_maxdet300_max_abs_diff=diff(e2e300, dets64))
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
    common.assert_float32(arrays)
    print(f'[{scale} eval] e2e {summary["e2e_shapes"]} '
          f'anchors>0.25 {summary["anchors_with_max_score_over_0.25"]} '
          f'nms {nms_counts} margins {margins} fp64 {fp64_diff}')
    return arrays, summary


class AssignerTap:
    """Records the inputs/outputs of one TaskAlignedAssigner call."""

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
             for n, t in zip(common.ASSIGNER_OUTPUTS, out)})


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
    from ultralytics.utils.loss import E2ELoss
    model = build_model(LOSS_SCALE)
    # default.yaml hyperparameters: box=7.5, cls=0.5, dfl=1.5 (the L1 gain
    # for reg_max=1); epochs sets the branch-weight schedule.
    images, preds = common.train_forward(
        model, sw, seed, LOSS_SHAPE, LOSS_INPUT_SEED,
        cfg_overrides={'epochs': LOSS_EPOCHS})
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

    batch = common.loss_targets(LOSS_GT)
    arrays.update(common.gt_arrays(batch))
    only_img0 = common.only_image0(batch)
    dtypes = common.assigner_dtypes(
        mask_in_gts=bool, mask_in_gts_without_small_box_rule=bool)
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
        **common.loss_summary_head(LOSS_SCALE, LOSS_SHAPE, LOSS_INPUT_SEED,
                                   LOSS_GT),
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


def build_manifest(sw, seed, structures, eval_summaries, loss_summary):
    synthetic = common.synthetic_weights_record(
        'tests/fixtures/yolo26_reference/synthetic_weights.py', sw, seed,
        'per_element_slope')
    evaluation = dict(
        **common.eval_input_record(EVAL_SHAPE, EVAL_INPUT_SEED),
        e2e_settings={
            tag: dict(max_det=md, agnostic_nms=ag)
            for tag, md, ag in E2E_SETTINGS
        },
        nms_settings=common.nms_settings_record(NMS_SETTINGS, NMS_IOU,
                                                NMS_MAX_DET),
        feature_layers={k: list(v)
                        for k, v in FEATURE_LAYERS.items()},
        results=eval_summaries)
    keys = ('num_params', 'num_trainable', 'num_modules', 'num_leaf_modules',
            'gflops_640', 'fused_end2end_params', 'fused_end2end_gflops_640',
            'checks')
    return common.manifest_record('tools/reference/make_yolo26_fixtures.py',
                                  COMMAND, synthetic, evaluation,
                                  loss_summary, structures, keys)


def main(argv=None):
    out, structures, eval_summaries, loss_summary, seconds = common.generate(
        sys.modules[__name__], argv)
    failed = common.failed_checks(structures)
    eval_failed = [
        scale for scale, s in eval_summaries.items()
        if not s['float64_max_abs_diff']['e2e_maxdet300_same_rows']
    ]
    ties = not (loss_summary['all_gt_tie_free']
                and loss_summary['assignment_same_in_float64'])
    too_big = [
        p.name for p in out.iterdir()
        if p.is_file() and p.stat().st_size >= 1_000_000
    ]
    print(f'done in {seconds:.0f}s; '
          f'failed checks: {failed or "none"}; '
          f'e2e not stable under float64: {eval_failed or "none"}; '
          f'files >= 1 MB: {too_big or "none"}; '
          f'tie-dependent or fragile assignment: {ties}')
    return 1 if failed or eval_failed or too_big or ties else 0


if __name__ == '__main__':
    sys.exit(main())
