"""YOLO26 = Ultralytics 8.4.190's YOLO26, on the recorded fixtures (tests/fixtures/yolo26_reference/README.md).

The synthetic Ultralytics state dict -> the converter -> this repo's detector of configs/yolo26{n,m}_coco.py:
the raw outputs of both head branches, the end-to-end top-k detections, the one-to-many NMS path; the
parameter counts and keys of every scale; the dual-branch loss and both assigners on the recorded
predictions; the one-to-one branch's features are detached.
"""
import functools
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from _yolo11_reference import rebuild_synthetic_state_dict
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmyolo.registry import MODELS

from fasternet_yolo11.models.dense_heads.yolo26_head import branch_weights
from fasternet_yolo11.models.utils.ultralytics_converter import convert_state_dict, family_of

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURES = osp.join(REPO, 'tests', 'fixtures', 'yolo26_reference')
_spec = importlib.util.spec_from_file_location('yolo26_synthetic_weights', osp.join(FIXTURES, 'synthetic_weights.py'))
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)


def structure(scale):
    with open(osp.join(FIXTURES, f'yolo26{scale}_structure.json')) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def ultralytics_state_dict(scale):
    return rebuild_synthetic_state_dict(synthetic, osp.join(FIXTURES, f'yolo26{scale}_structure.json'))


def build(scale, **test_cfg):
    init_default_scope('mmyolo')
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'yolo26{scale}_coco.py'))
    cfg.model.test_cfg.update(test_cfg)
    return MODELS.build(cfg.model)


@functools.lru_cache(maxsize=None)
def converted_model(scale):
    model = build(scale)
    model.load_state_dict(convert_state_dict(ultralytics_state_dict(scale)), strict=True)
    return model.eval()


def fixture(name):
    return dict(np.load(osp.join(FIXTURES, f'{name}.npz')))


@pytest.mark.parametrize('scale', 'nsmlx')
def test_every_scale_has_ultralytics_parameters_and_keys(scale):
    s = structure(scale)
    with torch.device('meta'):
        model = build(scale)
    assert sum(p.numel() for p in model.parameters()) == s['num_params']
    shapes = {k: tuple(shape) for k, shape, _ in s['state_dict']}
    assert family_of(shapes) == 'yolo26'
    with torch.device('meta'):
        converted = convert_state_dict({k: torch.empty(v, device='meta') for k, v in shapes.items()})
    ours = model.state_dict()
    assert sorted(converted) == sorted(ours)
    assert all(tuple(converted[k].shape) == tuple(ours[k].shape) for k in ours)


def branch_outputs(model, x):
    """Per level (box (B, 4, h, w), class logits) of both branches, as Ultralytics' raw maps."""
    head = model.bbox_head.head_module
    with torch.no_grad():
        feats = model.neck(model.backbone(x))
        out = {}
        for name, cls, reg in (('one2many', head.cls_preds, head.reg_preds),
                               ('one2one', head.one2one_cls_preds, head.one2one_reg_preds)):
            out[name] = [torch.cat([r(f), c(f)], 1) for f, c, r in zip(feats, cls, reg)]
    return out


def as_rows(boxes, scores, labels):
    """(n, 6) rows sorted by score, class, box: a set comparison, not an order one."""
    rows = np.concatenate([boxes, scores[:, None], labels[:, None].astype(np.float32)], 1)
    return rows[np.lexsort((rows[:, 0], rows[:, 1], rows[:, 5], -rows[:, 4]))]


@pytest.mark.parametrize('scale', 'nm')
def test_raw_outputs_of_both_branches_match(scale):
    ref = fixture(f'yolo26{scale}_eval')
    out = branch_outputs(converted_model(scale), torch.from_numpy(ref['input']))
    for branch in ('one2many', 'one2one'):
        for level, p in enumerate((3, 4, 5)):
            np.testing.assert_allclose(out[branch][level].numpy(), ref[f'raw_{branch}_p{p}'], atol=1e-4, rtol=1e-4)


def predict(model, x, **test_cfg):
    """The head's predict on the network input itself (no resize to undo)."""
    model.bbox_head.test_cfg.update(test_cfg)
    meta = dict(ori_shape=tuple(x.shape[2:]), img_shape=tuple(x.shape[2:]), scale_factor=(1., 1.))
    with torch.no_grad():
        outs = model.bbox_head(model.neck(model.backbone(x)))
        res = model.bbox_head.predict_by_feat(*outs, batch_img_metas=[meta], rescale=False)[0]
    return res.bboxes.numpy(), res.scores.numpy(), res.labels.numpy()


@pytest.mark.parametrize('scale', 'nm')
@pytest.mark.parametrize('max_det', [300, 20])
def test_end_to_end_detections_are_ultralytics_postprocess(scale, max_det):
    """One-to-one branch, top-k over anchors x classes, no NMS: Ultralytics' rows, as a set (boxes to
    1e-3 px). Its boxes are not clipped; the image here is larger than every box of the
    comparison's scores, so the head's clipping to the image is compared by clipping the reference."""
    ref = fixture(f'yolo26{scale}_eval')
    expected = ref[f'e2e_maxdet{max_det}'][0]
    model = converted_model(scale)
    assert model.bbox_head.head_module.end2end
    boxes, scores, labels = predict(model, torch.from_numpy(ref['input']), max_per_img=max_det, score_thr=0.0)
    assert len(boxes) == len(expected) == min(max_det, 252)
    expected = expected.copy()
    expected[:, 0:4:2] = expected[:, 0:4:2].clip(0, 128)
    expected[:, 1:4:2] = expected[:, 1:4:2].clip(0, 96)
    got, want = as_rows(boxes, scores, labels), as_rows(expected[:, :4], expected[:, 4], expected[:, 5])
    np.testing.assert_array_equal(got[:, 5], want[:, 5])
    np.testing.assert_allclose(got[:, 4], want[:, 4], atol=1e-5)
    np.testing.assert_allclose(got[:, :4], want[:, :4], atol=1e-3)


def test_end_to_end_onnx_export_is_ultralytics_postprocess(tmp_path):
    """export_onnx.py --mode end2end of the converted YOLO26n: a TopK and no NonMaxSuppression node, and
    in ONNX Runtime the same 20 detections as Ultralytics' own end-to-end head (input pixels)."""
    import onnx
    import onnxruntime as ort

    from fasternet_yolo11.deploy.onnx_export import export
    ref = fixture('yolo26n_eval')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'yolo26n_coco.py'))
    path = str(tmp_path / 'e2e.onnx')
    export(converted_model('n'), cfg, path, img_hw=[96, 128], mode='end2end', keep_top_k=20, score_thr=0.0)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert 'TopK' in ops and 'NonMaxSuppression' not in ops
    num, boxes, scores, labels = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(
        None, {'images': ref['input']})
    expected = ref['e2e_maxdet20'][0]
    assert num[0, 0] == len(expected) == 20
    got, want = as_rows(boxes[0], scores[0], labels[0]), as_rows(expected[:, :4], expected[:, 4], expected[:, 5])
    np.testing.assert_array_equal(got[:, 5], want[:, 5])
    np.testing.assert_allclose(got[:, 4], want[:, 4], atol=1e-5)
    np.testing.assert_allclose(got[:, :4], want[:, :4], atol=1e-3)  # unclipped, as Ultralytics'


def test_one_to_many_with_nms_is_the_ultralytics_default_path():
    """test_cfg.end2end=False: the one-to-many branch and YOLO11's NMS (conf 0.25, IoU 0.7)."""
    ref = fixture('yolo26n_eval')
    model = build('n', end2end=False, multi_label=False, score_thr=0.25)
    model.load_state_dict(convert_state_dict(ultralytics_state_dict('n')), strict=True)
    model.eval()
    assert not model.bbox_head.head_module.end2end
    boxes, scores, labels = predict(model, torch.from_numpy(ref['input']))
    expected = ref['nms_one2many_conf025']
    expected = expected.copy()
    expected[:, 0:4:2] = expected[:, 0:4:2].clip(0, 128)
    expected[:, 1:4:2] = expected[:, 1:4:2].clip(0, 96)
    got, want = as_rows(boxes, scores, labels), as_rows(expected[:, :4], expected[:, 4], expected[:, 5])
    assert len(got) == len(want) == 10
    np.testing.assert_array_equal(got[:, 5], want[:, 5])
    np.testing.assert_allclose(got[:, :5], want[:, :5], atol=1e-3)


def test_branch_weights_schedule():
    """0.8 / 0.2 at the first epoch, linearly to 0.1 / 0.9 at the last (Ultralytics' E2ELoss)."""
    assert branch_weights(0, 100) == pytest.approx((0.8, 0.2))
    assert branch_weights(99, 100) == pytest.approx((0.1, 0.9))
    assert branch_weights(50, 100) == pytest.approx((0.4464646, 0.5535354))
    assert branch_weights(0, 1) == pytest.approx((0.8, 0.2))
    assert branch_weights(120, 100) == pytest.approx((0.1, 0.9))


def loss_inputs(case):
    """The recorded train-mode predictions as per-level maps, and the batch's boxes in pixels."""
    ref = fixture('yolo26n_loss')
    sizes = [(16, 16), (8, 8), (4, 4)]

    def levels(flat):
        t, out, start = torch.from_numpy(flat), [], 0
        for h, w in sizes:
            out.append(t[..., start:start + h * w].reshape(t.shape[0], t.shape[1], h, w))
            start += h * w
        return out
    keep = np.ones(len(ref['gt_batch_idx']), bool) if case == 'all' else ref['gt_batch_idx'] == 0
    xywh = ref['gt_bboxes_xywhn'][keep] * 128
    xyxy = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
    gt = torch.from_numpy(np.concatenate([ref['gt_batch_idx'][keep, None], ref['gt_cls'][keep], xyxy], 1)).float()
    preds = [levels(ref[f'{b}_{k}']) for b in ('one2many', 'one2one') for k in ('scores', 'boxes')]
    return ref, preds, gt


@pytest.mark.parametrize('case', ['all', 'img1_empty'])
def test_assigners_match_ultralytics(case):
    """TAL with the small-box rule (topk 10) and the one-to-one one (topk 7, then one anchor per
    object): the foreground, the target classes, boxes and scores of every anchor."""
    ref, (cls_m, box_m, cls_o, box_o), gt = loss_inputs(case)
    head = build('n').bbox_head
    head._priors(cls_m)
    from mmyolo.models.utils import gt_instances_preprocess
    info = gt_instances_preprocess(gt, 2)
    flag = (info[:, :, 1:].sum(-1, keepdim=True) > 0).float()
    for branch, assigner, cls, box in (('one2many', head.assigner, cls_m, box_m),
                                       ('one2one', head.one2one_assigner, cls_o, box_o)):
        scores = torch.cat([c.flatten(2) for c in cls], 2).transpose(1, 2)
        dist = torch.cat([b.flatten(2) for b in box], 2).transpose(1, 2)
        boxes = head.bbox_coder.decode(head.flatten_priors_train[..., :2], dist, head.stride_tensor[..., 0])
        out = assigner(boxes, scores.sigmoid(), head.flatten_priors_train, info[:, :, :1], info[:, :, 1:], flag)
        fg = out['fg_mask_pre_prior'].numpy()
        np.testing.assert_array_equal(fg, ref[f'{case}_{branch}_fg_mask'], err_msg=branch)
        np.testing.assert_array_equal(out['assigned_labels'].numpy()[fg], ref[f'{case}_{branch}_target_labels'][fg])
        np.testing.assert_allclose(out['assigned_bboxes'].numpy()[fg], ref[f'{case}_{branch}_target_bboxes'][fg],
                                   atol=1e-4)
        np.testing.assert_allclose(out['assigned_scores'].numpy(), ref[f'{case}_{branch}_target_scores'], atol=1e-5)
    if case == 'all':  # one anchor per object in the one-to-one branch, several in the other
        assert ref['all_one2one_fg_mask'].sum() <= len(gt) < ref['all_one2many_fg_mask'].sum()


@pytest.mark.parametrize('case', ['all', 'img1_empty'])
@pytest.mark.parametrize('epoch', [0, 50])
def test_dual_branch_loss_matches_ultralytics(case, epoch):
    """Each term of w_o2m * L(one-to-many) + w_o2o * L(one-to-one) (box CIoU x 7.5, class BCE x 0.5,
    L1 on the image-normalised distances x 1.5, times the batch size) at two points of the schedule."""
    ref, preds, gt = loss_inputs(case)
    head = build('n').bbox_head
    hub = MessageHub.get_current_instance()
    hub.update_info('epoch', epoch)
    hub.update_info('max_epochs', 100)
    try:
        losses = head.loss_by_feat(preds[0], preds[1], preds[1], preds[2], preds[3], preds[3], gt,
                                   [dict(batch_input_shape=(128, 128))] * 2)
    finally:
        hub.update_info('epoch', 0)
        hub.update_info('max_epochs', 1)
    box, cls, l1 = ref[f'{case}_epoch{epoch}_loss_total']
    assert losses['loss_bbox'].item() == pytest.approx(box, rel=1e-4)
    assert losses['loss_cls'].item() == pytest.approx(cls, rel=1e-4)
    assert losses['loss_l1'].item() == pytest.approx(l1, rel=1e-4)


def test_one_to_one_branch_sends_no_gradient_to_the_neck():
    """A backward pass of the one-to-one branch's outputs alone leaves the neck and backbone without
    gradients; the one-to-many branch's does reach them."""
    torch.manual_seed(0)
    model = build('n').train()
    x = torch.rand(1, 3, 64, 64)
    outs = model.bbox_head.head_module(model.neck(model.backbone(x)))
    assert len(outs) == 6  # cls, box, dist of each branch
    sum(o.sum() for o in outs[3][:3] + outs[4][:3]).backward()
    assert all(p.grad is None for p in model.neck.parameters())
    assert all(p.grad is None for p in model.backbone.parameters())
    assert any(p.grad is not None for p in model.bbox_head.head_module.one2one_cls_preds.parameters())
    outs = model.bbox_head.head_module(model.neck(model.backbone(x)))
    sum(o.sum() for o in outs[0][:3]).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.neck.parameters())
