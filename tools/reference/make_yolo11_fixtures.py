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

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reference_common as common  # noqa: E402

ARCH = 'yolo11'
FIXTURE_DIR = common.REPO_ROOT / 'tests' / 'fixtures' / 'yolo11_reference'
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


def build_model(scale):
    return common.build_model(ARCH, scale, NC)


def detect_info(model):
    det = model.model[-1]
    # Ultralytics' own bias_init value of each level's class-logit conv
    # (before the synthetic weights replace it).
    cls_bias_init = [float(seq[-1].bias[0].detach()) for seq in det.cv3]
    return dict(
        **common.detect_basics(det),
        stride=[float(s) for s in det.stride],
        end2end=bool(getattr(det, 'end2end', False)),
        max_det=int(getattr(det, 'max_det', 300)),
        cls_bias_init_by_ultralytics=cls_bias_init)


def structure_record(scale, sw, seed):
    """Architecture facts of one scale (weights do not matter here)."""
    from ultralytics.utils.torch_utils import get_flops
    t0 = time.time()
    model = build_model(scale)
    det = detect_info(model)
    sd = model.state_dict()
    n_params, n_trainable, n_modules = common.param_counts(model)
    gflops = float(get_flops(model, 640))
    layers, layer_params = common.describe_layers(model)
    # Loading also checks that the synthetic state dict fits (strict).
    sd_sha256 = common.load_synthetic(model, sw, seed)
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
        **common.scale_facts(model, ARCH, scale),
        nc=NC,
        num_params=n_params,
        num_trainable=n_trainable,
        num_frozen=n_params - n_trainable,
        num_modules=n_modules,
        gflops_640=gflops,
        yaml_summary=common.yaml_summary_facts(YAML_SUMMARY[scale]),
        checks=checks,
        **common.weights_facts(model, det, layers, sd, seed, sd_sha256))
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
        det = common.nms(non_max_suppression, y, conf, NMS_IOU, multi_label,
                         NMS_MAX_DET)
        out[tag] = det.numpy().astype('float32')
        # The same without the max_det cap: the score gap at the cap tells
        # whether float noise could change which detections are kept.
        uncapped = common.nms(non_max_suppression, y, conf, NMS_IOU,
                              multi_label, 10**6)
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
    common.load_synthetic(model, sw, seed)
    model.eval()
    with common.recorded_outputs(model, FEATURE_LAYERS[scale]) as inner, \
            torch.no_grad():
        y, feats = model(image.clone())
    det = model.model[-1]
    arrays = {'input': image.numpy()}
    for i in FEATURE_LAYERS[scale]:
        arrays[f'feat_layer{i}'] = inner[i].numpy()
    for name, f in zip(('p3', 'p4', 'p5'), feats):
        arrays[f'raw_{name}'] = f.numpy()
    arrays['y'] = y.numpy()
    arrays.update(common.anchor_arrays(det))
    nms, nms_margins = nms_results(y)
    for tag, boxes in nms.items():
        arrays[f'nms_{tag}'] = boxes
    # Conditioning: distance of float32 from float64, same weights and input.
    _, (y64, feats64) = common.float64_rerun(model, image)
    raw_diff = max(
        common.max_abs_diff(f, f64) for f, f64 in zip(feats, feats64))
    fp64_diff = dict(
        raw=raw_diff,
        y=common.max_abs_diff(y, y64),
        y_scores=common.max_abs_diff(y[:, 4:], y64[:, 4:]))
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
    common.assert_float32(arrays)
    print(f'[{scale} eval] detections {summary["num_detections"]} '
          f'anchors>0.25 {summary["anchors_with_max_score_over_0.25"]}/'
          f'{summary["num_anchors"]} fp64 diff {fp64_diff}')
    return arrays, summary


def run_loss(model, preds, batch):
    """``v8DetectionLoss`` of per-level predictions, with assigner outputs."""
    import torch
    from ultralytics.utils.loss import v8DetectionLoss
    criterion = v8DetectionLoss(model)
    captured = {}

    def hook(mod, inp, out):
        # The loss divides target_bboxes in place afterwards: keep copies.
        captured.update({
            n: t.detach().clone()
            for n, t in zip(common.ASSIGNER_OUTPUTS, out)
        })

    handle = criterion.assigner.register_forward_hook(hook)
    with torch.no_grad():
        total, items = criterion([p.clone() for p in preds], batch)
    handle.remove()
    return float(total), items.numpy().astype('float32'), captured


def loss_record(sw, seed):
    """Train-mode forward of yolo11n on a fixed batch, and its loss."""
    import numpy as np
    import torch
    model = build_model(LOSS_SCALE)
    # default.yaml hyperparameters: box=7.5, cls=0.5, dfl=1.5
    images, preds = common.train_forward(model, sw, seed, LOSS_SHAPE,
                                         LOSS_INPUT_SEED)
    # preds: [(B, 64 + nc, H/s, W/s)] * 3
    # Compute the loss from the float32 arrays exactly as saved, so that
    # reproducing it needs no model forward.
    pred_arrays = [p.numpy().astype(np.float32) for p in preds]
    preds = [torch.from_numpy(a) for a in pred_arrays]
    batch = common.loss_targets(LOSS_GT)
    arrays = {'images': images.numpy()}
    for name, a in zip(('p3', 'p4', 'p5'), pred_arrays):
        arrays[f'preds_{name}'] = a
    arrays.update(common.gt_arrays(batch))
    # Case "all": every GT; case "img1_empty": image 1 has no GT
    # (the padding / empty-image path).
    only_img0 = common.only_image0(batch)
    dtypes = common.assigner_dtypes()
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
        **common.loss_summary_head(LOSS_SCALE, LOSS_SHAPE, LOSS_INPUT_SEED,
                                   LOSS_GT),
        'hyp':
        dict(box=model.args.box, cls=model.args.cls, dfl=model.args.dfl),
        'preds_shapes': [list(a.shape) for a in pred_arrays],
        'cases': cases,
    }
    return arrays, summary


def build_manifest(sw, seed, structures, eval_summaries, loss_summary):
    synthetic = common.synthetic_weights_record(
        'tests/fixtures/yolo11_reference/synthetic_weights.py', sw, seed,
        'per_bin_slope')
    evaluation = dict(
        **common.eval_input_record(EVAL_SHAPE, EVAL_INPUT_SEED),
        nms_settings=common.nms_settings_record(NMS_SETTINGS, NMS_IOU,
                                                NMS_MAX_DET),
        feature_layers={
            k: list(v)
            for k, v in FEATURE_LAYERS.items()
        },
        results=eval_summaries)
    keys = ('num_params', 'num_trainable', 'num_modules', 'gflops_640',
            'checks')
    return common.manifest_record('tools/reference/make_yolo11_fixtures.py',
                                  COMMAND, synthetic, evaluation,
                                  loss_summary, structures, keys)


def main(argv=None):
    _, structures, _, _, seconds = common.generate(sys.modules[__name__], argv)
    failed = common.failed_checks(structures)
    print(f'done in {seconds:.0f}s; failed checks: {failed or "none"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
