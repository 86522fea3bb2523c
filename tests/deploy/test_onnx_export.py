"""ONNX export: onnxruntime vs PyTorch, raw outputs and end-to-end NMS, both PConv modes, and
the two demos (PyTorch / ONNX Runtime) drawing the same boxes."""
import json
import os.path as osp

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from _tools import run_tool
from mmengine.config import Config
from test_deploy import random_model

from fasternet_yolo11.deploy.export_graphs import End2End, RawOutputs, decode, make_priors
from fasternet_yolo11.deploy.onnx_export import export
from fasternet_yolo11.models.deploy_form import fuse_conv_bn, set_pconv_mode

CONFIG = 'configs/yolo11n_fasternet_fire_demo.py'  # 256 px test pipeline, 2 classes


def run(*args):
    return run_tool(*args).out


def lively_model():
    """Random weights whose outputs depend on the input and stay out of saturation: Kaiming
    convs and BatchNorm statistics measured on random images (as training would), class
    logits around 0 so that there are boxes to keep."""
    model = random_model(CONFIG, seed=1)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model._forward(torch.rand(4, 3, 64, 96))
    model.eval()
    head = model.bbox_head.head_module
    for cls, reg in zip(head.cls_preds, head.reg_preds):
        cls[-1].bias.data.zero_()
        for last in (cls[-1], reg[-1]):  # keep the logits out of saturation
            last.weight.data *= 0.1
    return model


def export_args(**kw):
    """The keyword arguments of ``export`` these tests share, with ``kw`` changed."""
    return dict(dict(img_hw=[64, 96], mode='raw', keep_top_k=50, iou_thr=0.7, score_thr=0.3), **kw)


@pytest.fixture(scope='module')
def model():
    return lively_model()


@pytest.mark.parametrize('pconv', ['slicing', 'split_cat'])
def test_raw_outputs_match_pytorch(tmp_path, model, pconv):
    info = export(model, Config.fromfile(CONFIG), str(tmp_path / 'raw.onnx'),
                  **export_args(pconv=pconv, dynamic_batch=True))
    # A sane graph: ~100 convs, no per-block blow-up (FasterNet issue #16), weights stored once.
    params_mb = sum(p.numel() for p in model.parameters()) * 4 / 2**20
    assert info['ops']['Conv'] < 110 and info['nodes'] < 1500, info
    assert info['size_mb'] < 1.1 * params_mb, (info['size_mb'], params_mb)
    ref_model = fuse_conv_bn(__import__('copy').deepcopy(model))
    set_pconv_mode(ref_model, pconv)
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        ref = RawOutputs(model)(x)  # the unfused training-form model
    outs = ort.InferenceSession(info['path'], providers=['CPUExecutionProvider']).run(
        None, {'images': x.numpy()})
    assert len(outs) == 6
    for r, o in zip(ref, outs):
        assert r.shape == o.shape
        np.testing.assert_allclose(o, r.numpy(), atol=1e-3, rtol=1e-3)


def well_conditioned_input(model, score_thr, iou_thr, margin=1e-4, gap=1e-5):
    """A random batch on which float rounding (ONNX Runtime's kernels vs PyTorch's, about
    1e-6 here) cannot flip a keep/suppress decision, so both must select identical boxes: no
    candidate score and no IoU within ``margin`` of its threshold, and no two overlapping
    (IoU > threshold) candidates of a class with scores within ``gap`` (greedy NMS follows the
    score order; the order of boxes that do not suppress each other does not matter)."""
    for seed in range(20):
        x = torch.rand(3, 3, 64, 96, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            cls, box = model._forward(x)[:2]
        boxes, scores = decode(cls, box, make_priors((64, 96), (8, 16, 32)))
        ok = not ((scores - score_thr).abs() < margin).any()
        for b in range(3):
            area = (boxes[b, :, 2:] - boxes[b, :, :2]).clamp(min=0).prod(-1)
            lt = torch.max(boxes[b, :, None, :2], boxes[b, None, :, :2])
            rb = torch.min(boxes[b, :, None, 2:], boxes[b, None, :, 2:])
            inter = (rb - lt).clamp(min=0).prod(-1)
            iou = inter / (area[:, None] + area[None] - inter)
            ok &= not ((iou - iou_thr).abs() < margin).any()
            for c in range(scores.shape[2]):
                s = scores[b, :, c]
                cand = (s > score_thr)[:, None] & (s > score_thr)[None, :]
                close = ((s[:, None] - s[None, :]).abs() < gap) & cand
                close.fill_diagonal_(False)
                ok &= not (close & (iou > iou_thr)).any()
        if ok:
            return x
    raise AssertionError('no well-conditioned input in 20 seeds')


def test_end2end_nms_matches_pytorch(tmp_path, model):
    info = export(model, Config.fromfile(CONFIG), str(tmp_path / 'e2e.onnx'),
                  **export_args(mode='end2end', dynamic_batch=True, score_thr=0.3))
    assert info['ops'].get('NonMaxSuppression') == 1
    meta = {p.key: p.value for p in onnx.load(info['path']).metadata_props}
    assert json.loads(meta['classes']) == ['fire', 'smoke'] and meta['mode'] == 'end2end'
    deployed = fuse_conv_bn(__import__('copy').deepcopy(model))
    x = well_conditioned_input(deployed, score_thr=0.3, iou_thr=0.7)
    with torch.no_grad():
        ref = End2End(deployed, (64, 96), keep_top_k=50, score_thr=0.3)(x)
    outs = ort.InferenceSession(info['path'], providers=['CPUExecutionProvider']).run(
        None, {'images': x.numpy()})
    num, boxes, scores, labels = outs
    assert num.shape == (3, 1) and boxes.shape == (3, 50, 4)
    np.testing.assert_array_equal(num, ref[0].numpy())
    assert num.min() > 0, 'nothing kept: the comparison would be empty'
    for b in range(3):
        n = int(num[b, 0])
        np.testing.assert_array_equal(labels[b, :n], ref[3][b, :n].numpy())
        np.testing.assert_allclose(boxes[b, :n], ref[1][b, :n].numpy(), atol=1e-3)
        np.testing.assert_allclose(scores[b, :n], ref[2][b, :n].numpy(), atol=1e-4)
        assert (labels[b, n:] == -1).all() and (scores[b, n:] == 0).all()
        assert (np.diff(scores[b, :n]) <= 1e-6).all()  # best first


def test_demos_draw_the_same_boxes(tmp_path, model):
    """PyTorch demo on a checkpoint and ONNX Runtime demo on its end-to-end export: same
    detections (in original-image pixels) on a folder of two differently shaped images."""
    ckpt = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('fire', 'smoke')))), ckpt)
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for name, shape in (('a.jpg', (120, 160, 3)), ('b.png', (200, 150, 3))):
        cv2.imwrite(str(images / name), rng.integers(0, 255, shape, dtype=np.uint8))
    onnx_path = str(tmp_path / 'model.onnx')
    run('tools/deployment/export_onnx.py', CONFIG, ckpt, '--out', onnx_path)
    run('demo/image_demo.py', CONFIG, ckpt, str(images), '--out-dir', str(tmp_path / 'pt'),
        '--score-thr', '0.2')
    run('tools/deployment/onnx_demo.py', onnx_path, str(images), '--out-dir',
        str(tmp_path / 'ort'), '--score-thr', '0.2')
    pt = json.load(open(tmp_path / 'pt' / 'detections.json'))
    rt = json.load(open(tmp_path / 'ort' / 'detections.json'))
    assert sorted(pt) == sorted(rt) == ['a.jpg', 'b.png']
    assert sum(len(v) for v in pt.values()) > 0
    for name in pt:
        assert [d['label'] for d in pt[name]] == [d['label'] for d in rt[name]], name
        for p, r in zip(pt[name], rt[name]):
            np.testing.assert_allclose(p['bbox'], r['bbox'], atol=0.05)
            assert abs(p['score'] - r['score']) < 1e-3
        assert (tmp_path / 'ort' / name).is_file() and (tmp_path / 'pt' / name).is_file()
        assert (tmp_path / 'pt' / 'labels' / (osp.splitext(name)[0] + '.txt')).is_file()


def test_onnx_demo_on_a_video(tmp_path, model):
    onnx_path = str(tmp_path / 'model.onnx')
    export(model, Config.fromfile(CONFIG), onnx_path,
           **export_args(mode='end2end', img_hw=[256, 256], score_thr=None, keep_top_k=None, iou_thr=None))
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (160, 120))
    rng = np.random.default_rng(1)
    for _ in range(3):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    log = run('tools/deployment/onnx_demo.py', onnx_path, video, '--out-dir',
              str(tmp_path / 'out'), '--score-thr', '0.5')
    assert '3 image(s)' in log
    dets = json.load(open(tmp_path / 'out' / 'detections.json'))
    assert sorted(dets) == ['frame_000000', 'frame_000001', 'frame_000002']
    cap = cv2.VideoCapture(str(tmp_path / 'out' / 'clip.mp4'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()

