"""Numerical parity with Ultralytics 8.3.0 YOLO11 (fixtures recorded from the real package with synthetic weights).

Synthetic Ultralytics state dict -> tools/model_converters/ultralytics_to_mmyolo.py -> this repo's detector; then
features, raw head outputs, decoded boxes, NMS results and the training loss are compared with the recordings.
See tests/fixtures/yolo11_reference/README.md.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from _yolo11_reference import REPO, converter, fixture, ultralytics_state_dict
from mmcv.ops import nms
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmyolo.models.dense_heads import YOLOv8HeadModule
from mmyolo.registry import MODELS

ATOL_LOGITS = 1e-4  # float32 vs float64 of the reference differ by < 1e-5 on raw logits
ATOL_PIXELS = 1e-3  # decoded boxes are ~1e2 pixels


def build_converted(scale):
    """Our detector of ``scale`` (eval mode) holding the converted synthetic Ultralytics weights."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'yolo11{scale}_coco.py'))
    init_default_scope('mmyolo')
    model = MODELS.build(cfg.model)
    model.load_state_dict(converter.convert_state_dict(ultralytics_state_dict(scale)), strict=True)
    return model.eval()


@pytest.fixture(scope='module', params=['n', 'x'])
def scale_outputs(request):
    """Our eval-mode outputs on the recorded input, computed once per scale.

    (scale, recorded arrays, model, backbone features, neck features, raw per-level (box, cls) logits,
    head outputs (cls_scores, bbox_preds) as ``model(..., mode='tensor')`` returns them).
    """
    scale = request.param
    ref = fixture(scale, 'eval')
    model = build_converted(scale)
    with torch.no_grad():
        backbone = model.backbone(torch.from_numpy(ref['input']))
        neck = model.neck(backbone)
        head = model.bbox_head.head_module
        raw = [(reg(x), cls(x)) for x, reg, cls in zip(neck, head.reg_preds, head.cls_preds)]
        head_outs = model(torch.from_numpy(ref['input']), mode='tensor')
    return scale, ref, model, backbone, neck, raw, head_outs


def test_raw_outputs_match(scale_outputs):
    """Box-distribution logits (64 ch: l, t, r, b x 16 bins) and class logits per level."""
    scale, ref, _, backbone, neck, raw, _ = scale_outputs
    if scale == 'n':  # intermediate features, recorded for n
        for ours, layer in zip(backbone + neck, (4, 6, 10, 16, 19, 22)):
            torch.testing.assert_close(ours, torch.from_numpy(ref[f'feat_layer{layer}']), rtol=0, atol=ATOL_LOGITS)
    worst = 0.
    for (box, cls), level in zip(raw, ('p3', 'p4', 'p5')):
        expected = torch.from_numpy(ref[f'raw_{level}'])
        torch.testing.assert_close(box, expected[:, :64], rtol=0, atol=ATOL_LOGITS)
        torch.testing.assert_close(cls, expected[:, 64:], rtol=0, atol=ATOL_LOGITS)
        worst = max(worst, (torch.cat([box, cls], 1) - expected).abs().max().item())
    print(f'yolo11{scale} raw max abs diff {worst:.2e}')


def _decoded(model, head_outs):
    """Decoded head outputs: (boxes xyxy (A, 4), scores (A, nc)) in input pixels, P3..P5, and the priors."""
    cls_scores, bbox_preds = head_outs
    head = model.bbox_head
    sizes = [c.shape[2:] for c in cls_scores]
    priors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu', with_stride=True))
    dist = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
    boxes = head.bbox_coder.decode(priors[:, :2], dist, priors[:, 2]).reshape(-1, 4)
    scores = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, head.num_classes) for c in cls_scores]).sigmoid()
    return boxes, scores, priors


def test_decoded_predictions_match(scale_outputs):
    scale, ref, model, *_, head_outs = scale_outputs
    boxes, scores, priors = _decoded(model, head_outs)
    torch.testing.assert_close(priors[:, :2] / priors[:, 2:], torch.from_numpy(ref['anchor_points']))
    torch.testing.assert_close(priors[:, 2], torch.from_numpy(ref['stride_tensor']))
    y = torch.from_numpy(ref['y'][0]).T  # (A, 84): cx, cy, w, h, scores
    xyxy = torch.cat([y[:, :2] - y[:, 2:4] / 2, y[:, :2] + y[:, 2:4] / 2], 1)
    torch.testing.assert_close(boxes, xyxy, rtol=0, atol=ATOL_PIXELS)
    torch.testing.assert_close(scores, y[:, 4:], rtol=0, atol=ATOL_LOGITS)


def _sorted_rows(rows):
    """Detections (x1, y1, x2, y2, score, class) by score; equal scores by class, then x1."""
    return rows[np.lexsort((rows[:, 0].numpy(), rows[:, 5].numpy(), -rows[:, 4].numpy()))]


def assert_same_detections(ours, theirs):
    ours, theirs = _sorted_rows(ours), _sorted_rows(theirs)
    assert len(ours) == len(theirs)
    torch.testing.assert_close(ours[:, 5], theirs[:, 5], rtol=0, atol=0)  # classes
    torch.testing.assert_close(ours[:, 4], theirs[:, 4], rtol=0, atol=ATOL_LOGITS)
    torch.testing.assert_close(ours[:, :4], theirs[:, :4], rtol=0, atol=ATOL_PIXELS)


def nms_with_fixed_class_offsets(boxes, scores, score_thr, multi_label, max_wh=7680, max_det=300):
    """NMS the way the reference ran it: classes kept apart by adding ``class * 7680`` to the coordinates."""
    if multi_label:
        idx, labels = torch.where(scores > score_thr)
        boxes, scores = boxes[idx], scores[idx, labels]
    else:
        scores, labels = scores.max(1)
        boxes, scores, labels = boxes[scores > score_thr], scores[scores > score_thr], labels[scores > score_thr]
    _, keep = nms(boxes + labels[:, None].float() * max_wh, scores, 0.7)
    keep = keep[:max_det]
    return torch.cat([boxes[keep], scores[keep, None], labels[keep, None].float()], 1)


# Where the results may differ, and in which classes. mmcv's batched_nms keeps classes apart by shifting boxes by
# class * (max coordinate + 1), about 170 px here, which is exact; the reference shifts by class * 7680, which in
# float32 rounds the class-70 coordinates of yolo11n (shifted by ~5.4e5) to 1/16 px and flips an IoU that lies
# within that rounding of 0.7 in the conf-0.001 runs. nms_with_fixed_class_offsets reproduces that exactly.
OFFSET_ROUNDING_CLASSES = {('n', 'conf0001'): {70}, ('n', 'conf0001_multilabel'): {70}}


@pytest.mark.parametrize('case, multi_label, score_thr', [('conf0001_multilabel', True, 0.001),
                                                          ('conf0001', False, 0.001), ('conf025', False, 0.25)])
def test_nms_matches(scale_outputs, case, multi_label, score_thr):
    """predict_by_feat (score filter, batched NMS at IoU 0.7, 300 boxes) gives Ultralytics' detections."""
    scale, ref, model, *_, head_outs = scale_outputs
    cls_scores, bbox_preds = head_outs
    with torch.no_grad():
        cfg = ConfigDict(multi_label=multi_label, nms_pre=30000, score_thr=score_thr,
                         nms=dict(type='nms', iou_threshold=0.7), max_per_img=300)
        meta = dict(ori_shape=(96, 128), scale_factor=(1., 1.), pad_param=np.zeros(4, np.float32))
        result = model.bbox_head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=[meta], cfg=cfg)[0]
    expected = torch.from_numpy(ref[f'nms_{case}'])
    # our decoded predictions through the reference's NMS convention: the recorded detections exactly
    boxes, scores, _ = _decoded(model, head_outs)
    assert_same_detections(nms_with_fixed_class_offsets(boxes, scores, score_thr, multi_label), expected)
    # predict_by_feat: the same detections outside the classes where the reference's offsets round coordinates.
    # The reference does not clip; mmyolo clips kept boxes to the image (NMS itself sees unclipped boxes).
    expected[:, 0:4:2] = expected[:, 0:4:2].clamp(0, 128)
    expected[:, 1:4:2] = expected[:, 1:4:2].clamp(0, 96)
    ours = torch.cat([result.bboxes, result.scores[:, None], result.labels[:, None].float()], 1)
    excused = OFFSET_ROUNDING_CLASSES.get((scale, case), set())
    if excused:
        in_excused = [torch.isin(rows[:, 5], torch.tensor(sorted(excused), dtype=torch.float32))
                      for rows in (ours, expected)]
        assert abs(int(in_excused[0].sum()) - int(in_excused[1].sum())) <= 1
        ours, expected = ours[~in_excused[0]], expected[~in_excused[1]]
        # with max_per_img=300 a changed class-70 count moves the cut-off: compare above the lower last score
        floor = max(ours[:, 4].min(), expected[:, 4].min())
        ours, expected = ours[ours[:, 4] > floor + 1e-6], expected[expected[:, 4] > floor + 1e-6]
    assert_same_detections(ours, expected)


@pytest.mark.parametrize('case', ['all', 'img1_empty'])
def test_loss_matches_v8_detection_loss(case):
    """YOLOv8Head.loss_by_feat on the recorded train-mode predictions = Ultralytics' [box, cls, dfl] x batch."""
    ref = fixture('n', 'loss')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'yolo11n_coco.py'))
    init_default_scope('mmyolo')
    head = MODELS.build(cfg.model).bbox_head.train()
    outs = []
    for level in ('p3', 'p4', 'p5'):
        preds = torch.from_numpy(ref[f'preds_{level}'])
        # the real forward_single after its convs: DFL expectation and the (B, HW, 4, 16) logits
        outs.append(YOLOv8HeadModule.forward_single(
            head.head_module, preds, cls_pred=lambda x: x[:, 64:], reg_pred=lambda x: x[:, :64]))
    cls_scores, bbox_preds, bbox_dist_preds = map(list, zip(*outs))
    keep = np.ones(len(ref['gt_batch_idx']), bool) if case == 'all' else ref['gt_batch_idx'] == 0
    xywh = torch.from_numpy(ref['gt_bboxes_xywhn'][keep]) * 128
    gt = torch.cat([torch.from_numpy(ref['gt_batch_idx'][keep])[:, None], torch.from_numpy(ref['gt_cls'][keep]),
                    xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
    metas = [dict(batch_input_shape=(128, 128), img_shape=(128, 128))] * 2
    losses = head.loss_by_feat(cls_scores, bbox_preds, bbox_dist_preds, gt, metas)
    batch = 2
    ours = torch.stack([losses['loss_bbox'], losses['loss_cls'], losses['loss_dfl']]) / batch
    expected = torch.from_numpy(ref[f'{case}_loss_items'])
    print(f'{case}: ours {ours.tolist()} ultralytics {expected.tolist()}')
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours.sum() * batch, torch.from_numpy(ref[f'{case}_loss_total']), rtol=1e-4, atol=1e-3)
