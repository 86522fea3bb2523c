"""OpenVINO: the benchmark runner computes what eager does, and the exported model's detections in
OpenVINO equal ONNX Runtime's (same pre/post-processing, ExportedDetector), through the library
and through onnx_demo.py --backend openvino."""
import json

import cv2
import numpy as np
import pytest
import torch
from _tools import run_tool
from mmengine.config import Config
from test_onnx_export import CONFIG, export_args, lively_model

from fasternet_yolo11.deploy.exported import load_exported
from fasternet_yolo11.deploy.onnx_export import export
from fasternet_yolo11.deploy.preprocess import build_preprocess
from fasternet_yolo11.deploy.runtimes import SPEED_BACKENDS
from fasternet_yolo11.deploy.speed_runners import build_runner
from fasternet_yolo11.evaluation.matching import box_iou


@pytest.fixture(scope='module')
def model():
    return lively_model()


def test_openvino_runner_matches_pytorch(model, tmp_path):
    assert 'openvino' in SPEED_BACKENDS
    cfg = Config.fromfile(CONFIG)

    def outputs(backend):
        make = build_runner(model, cfg, backend, 'cpu', (64, 96), 'slicing', 1, str(tmp_path))
        torch.manual_seed(3)  # the same random input
        return [torch.as_tensor(o) for o in make(2)()]
    ref, out = outputs('pytorch'), outputs('openvino')
    assert len(out) == len(ref) == 6
    for a, b in zip(ref, out):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-3, rtol=1e-3), (a - b).abs().max()
    assert build_runner(model, cfg, 'openvino', 'cuda', (64, 96), 'slicing', 1, str(tmp_path)) is None


def generated_images(n=4, seed=0):
    """Noise with bright rectangles, of different shapes (letterboxing differs)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = [(120, 160), (200, 150), (96, 96), (140, 220)][i % 4]
        img = rng.integers(0, 90, (h, w, 3), dtype=np.uint8)
        for _ in range(3):
            x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
            cv2.rectangle(img, (x, y), (x + w // 4, y + h // 4), (0, 80, 255), -1)
        out.append(img)
    return out


def assert_same_detections(ref, test, iou=0.99, nms_iou=0.7):
    """Per image: each ORT box matched one to one by an OpenVINO box of the same class with
    IoU > ``iou`` (or corners within 0.05 px) and the score within 1e-3. A box may go
    unmatched only where NMS decides within rounding: it overlaps another box of its class, in
    either result, by an IoU within 0.05 of ``nms_iou``, or the other result kept a box that
    suppresses it with a score within 1e-3 (fp32 rounding differs between the runtimes, and the
    random model's boxes crowd at saturated scores), and at most 5 % of the boxes so."""
    total = unmatched = 0
    for (rb, rs, rl), (tb, ts, tl) in zip(ref, test):
        rb, tb, rl, tl = (np.asarray(v).reshape(-1, 4) if k < 2 else np.asarray(v)
                          for k, v in enumerate((rb, tb, rl, tl)))
        total += len(rb)
        if not len(rb):
            assert not len(tb)
            continue
        m = box_iou(rb, tb) if len(tb) else np.zeros((len(rb), 0))
        if len(tb):  # boxes clipped to zero width have no IoU: equal corners match them
            same = (np.abs(rb[:, None] - tb[None]).max(-1) < 0.05) & \
                (np.abs(np.asarray(rs)[:, None] - np.asarray(ts)[None]) < 1e-3)
            m[same] = 1.0
        m[rl[:, None] != tl[None, :]] = 0
        used = set()
        for i in np.argsort(-np.asarray(rs)):
            # among the boxes that overlap it (crowded random-model boxes can overlap by > iou),
            # the one with the closest score
            cands = [j for j in range(len(tb)) if j not in used and m[i, j] > iou]
            j = min(cands, key=lambda j: abs(ts[j] - rs[i])) if cands else None
            if j is not None:
                used.add(j)
                assert abs(ts[j] - rs[i]) < 1e-3, (rs[i], ts[j])
                continue
            unmatched += 1
            near = [abs(box_iou(rb[i:i + 1], boxes[labels == rl[i]]) - nms_iou).min(initial=1)
                    for boxes, labels in ((np.delete(rb, i, 0), np.delete(rl, i)), (tb, tl))]
            # or a score tie: the other runtime kept a box of its class that suppresses it (IoU over
            # nms_iou) with a score within 1e-3 (saturated scores of a random model), so the
            # order NMS visits them in is decided by rounding
            same_class = tl == rl[i]
            overlap = box_iou(rb[i:i + 1], tb[same_class])[0] if same_class.any() else np.zeros(0)
            tie = bool(((overlap > nms_iou) & (np.abs(np.asarray(ts)[same_class] - rs[i]) < 1e-3)).any())
            assert min(near) < 0.05 or tie, f'box {rb[i]} ({rs[i]:.3f}) not found, not an NMS tie'
    assert total > 0, 'no detections: the comparison would be empty'
    assert unmatched <= 0.05 * total, (unmatched, total)


@pytest.mark.parametrize('mode', ['raw', 'end2end'])
def test_openvino_detections_equal_onnxruntime(model, tmp_path, mode):
    path = str(tmp_path / f'{mode}.onnx')
    # No top-k cut (keep_top_k / max_per_img beyond the box count): with this random model's
    # ~300 boxes per image, which box is the last kept would hang on rounding.
    export(model, Config.fromfile(CONFIG), path, **export_args(mode=mode, score_thr=0.3, img_hw=[256, 256],
                                                               keep_top_k=2000))
    ort_det, ov_det = load_exported(path), load_exported(path, 'openvino')
    assert (ort_det.backend, ov_det.backend) == ('onnxruntime', 'openvino') and ov_det.classes == ort_det.classes
    assert type(ov_det.session._ov).__name__ == 'CompiledModel'  # compiled by OpenVINO itself
    preprocess = build_preprocess(ort_det.pipeline)
    ref, test = [], []
    for img in generated_images():
        x = ort_det.normalise(preprocess(img)['inputs'])
        np.testing.assert_array_equal(x, ov_det.normalise(preprocess(img)['inputs']))
        ref += ort_det(x, 0.7, 0.3, 100000)
        test += ov_det(x, 0.7, 0.3, 100000)
    assert_same_detections(ref, test)
    with pytest.raises(ValueError, match='unknown backend'):
        load_exported(path, 'tensorrt')


def test_onnx_demo_openvino_backend(model, tmp_path):
    path = str(tmp_path / 'model.onnx')
    export(model, Config.fromfile(CONFIG), path, **export_args(mode='end2end', score_thr=0.3, img_hw=[256, 256],
                                                               keep_top_k=2000))
    images = tmp_path / 'images'
    images.mkdir()
    for i, img in enumerate(generated_images(2, seed=1)):
        cv2.imwrite(str(images / f'{i}.png'), img)
    dets = {}
    for backend in ('onnxruntime', 'openvino'):
        log = run_tool('tools/deployment/onnx_demo.py', path, str(images), '--out-dir',
                       str(tmp_path / backend), '--score-thr', '0.3', '--backend', backend).out
        assert f'detect ({backend})' in log
        dets[backend] = json.load(open(tmp_path / backend / 'detections.json'))
    assert sorted(dets['onnxruntime']) == sorted(dets['openvino']) == ['0.png', '1.png']

    def as_arrays(d):
        return (np.array([x['bbox'] for x in d]).reshape(-1, 4), np.array([x['score'] for x in d]),
                np.array([x['label'] for x in d]))
    assert_same_detections([as_arrays(dets['onnxruntime'][k]) for k in ('0.png', '1.png')],
                           [as_arrays(dets['openvino'][k]) for k in ('0.png', '1.png')])
