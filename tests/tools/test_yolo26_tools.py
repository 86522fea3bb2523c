"""YOLO26 through every tool with the commands of YOLO11: train, test.py (end-to-end and one-to-many),
ONNX export (end-to-end with a TopK and no NonMaxSuppression node, and raw), test_exported.py,
image_demo.py in PyTorch and ONNX Runtime, stream_demo.py."""
import json
import os.path as osp
import re

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from _tools import REPO, run_tool

from fasternet_yolo11.datasets.demo_data import make_fire_demo

CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_yolo26.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One epoch of the tiny YOLO26 on generated fire data: a checkpoint with its metadata."""
    root = tmp_path_factory.mktemp('y26')
    data = make_fire_demo(str(root / 'fire'), num_train=16, num_val=8, img_size=64, seed=3)
    work = str(root / 'work')
    log = run_tool('tools/train.py', CONFIG, '--data', data, '--img-size', '64', '--work-dir', work).out
    assert re.search(r'loss_l1: [0-9.]+', log) and not re.search(r'loss_dfl: [0-9.]+', log)
    ckpt = osp.join(work, 'epoch_1.pth')
    test_log = run_tool('tools/test.py', CONFIG, ckpt, '--data', data, '--work-dir', str(root / 't1')).out
    return dict(data=data, ckpt=ckpt, root=root, test_log=test_log)


def test_test_py_end_to_end_and_one_to_many(trained):
    e2e = trained['test_log']
    o2m = run_tool('tools/test.py', CONFIG, trained['ckpt'], '--data', trained['data'], '--one2many',
                   '--work-dir', str(trained['root'] / 't2')).out
    for log in (e2e, o2m):
        assert re.search(r'coco/bbox_mAP: [0-9.]+', log) and 'Class     Images' in log
    bad = run_tool('tools/test.py', 'configs/yolo11n_fire.py', trained['ckpt'], '--one2many', check=False)
    assert bad.returncode == 2 and '--one2many needs an end-to-end head' in bad.stderr


def export(trained, mode, name, *flags):
    out = str(trained['root'] / name)
    run_tool('tools/deployment/export_onnx.py', CONFIG, trained['ckpt'], '--out', out, '--mode', mode,
             '--score-thr', '0.0', '--keep-top-k', '50', *flags)
    return out


def test_end_to_end_export_has_no_nms_and_keeps_the_pytorch_top_k(trained):
    from fasternet_yolo11.config.loading import load_config
    from fasternet_yolo11.config.run_settings import apply_checkpoint_settings
    from fasternet_yolo11.deploy.detector import init_model
    from fasternet_yolo11.deploy.export_graphs import End2End
    path = export(trained, 'end2end', 'e2e.onnx', '--dynamic-batch')
    model = onnx.load(path)
    ops = {n.op_type for n in model.graph.node}
    assert 'TopK' in ops and 'NonMaxSuppression' not in ops
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta['postprocess'] == 'topk' and meta['mode'] == 'end2end'
    cfg = load_config(CONFIG)
    apply_checkpoint_settings(cfg, trained['ckpt'])
    deployed = init_model(cfg, trained['ckpt'], deploy=True)
    assert not hasattr(deployed.bbox_head.head_module, 'one2one_cls_preds')  # the one-to-many branch is gone
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = End2End(deployed.to(memory_format=torch.contiguous_format), (64, 64), 50, score_thr=0.0)(x)
    outs = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, {'images': x.numpy()})
    assert outs[1].shape == (2, 50, 4)
    np.testing.assert_array_equal(outs[0], ref[0].numpy())
    # this barely trained model scores many pairs alike: compare the kept scores and classes as sets
    # (the boxes of the graph against Ultralytics' own top-k: tests/models/test_yolo26_parity.py)
    np.testing.assert_allclose(np.sort(outs[2], 1), np.sort(ref[2].numpy(), 1), atol=1e-5)
    np.testing.assert_array_equal(np.sort(outs[3], 1), np.sort(ref[3].numpy(), 1))


@pytest.mark.parametrize('mode', ['end2end', 'raw'])
def test_test_exported_gives_the_pytorch_map(trained, mode):
    path = export(trained, mode, f'{mode}.onnx')
    out = str(trained['root'] / f'{mode}.json')
    run_tool('tools/deployment/test_exported.py', CONFIG, path, '--data', trained['data'], '--out', out)
    exported = json.load(open(out))['metrics']
    pt = float(re.findall(r'coco/bbox_mAP_50: ([0-9.]+)', trained['test_log'])[-1])
    assert abs(exported['coco/bbox_mAP_50'] - pt) <= 1e-3


def test_demos_run_yolo26_in_pytorch_and_onnxruntime(trained, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(images / f'{i}.png'), rng.integers(0, 255, (64, 80, 3), np.uint8))
    path = str(trained['root'] / 'demo.onnx')  # the config's own post-processing: 300 pairs over 0.001
    run_tool('tools/deployment/export_onnx.py', CONFIG, trained['ckpt'], '--out', path)
    run_tool('demo/image_demo.py', CONFIG, trained['ckpt'], str(images), '--out-dir', str(tmp_path / 'pt'),
             '--score-thr', '0.0')
    run_tool('demo/image_demo.py', path, str(images), '--backend', 'onnxruntime', '--out-dir',
             str(tmp_path / 'ort'), '--score-thr', '0.0')
    pt = json.load(open(tmp_path / 'pt' / 'detections.json'))
    rt = json.load(open(tmp_path / 'ort' / 'detections.json'))
    assert sorted(pt) == sorted(rt) == ['0.png', '1.png']
    for name in pt:  # the same pairs (this barely trained model scores many alike: as multisets)
        assert pt[name] and len(pt[name]) == len(rt[name])
        assert sorted((d['label'], round(d['score'], 4)) for d in pt[name]) == \
            sorted((d['label'], round(d['score'], 4)) for d in rt[name])
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (64, 64))
    for _ in range(4):
        writer.write(rng.integers(0, 255, (64, 64, 3), np.uint8))
    writer.release()
    for args in (('--config', CONFIG, '--weights', trained['ckpt']), ('--weights', path, '--backend', 'onnxruntime')):
        res = run_tool('demo/stream_demo.py', video, *args, '--events', str(tmp_path / 'ev.jsonl'))
        assert '4 frames' in res.stderr


STUDENT = osp.join(REPO, 'tests', 'configs', 'tiny_yolo26_down2x2.py')


def test_teacher_and_folded_weights_train_a_down2x2_student(trained):
    """--weights fills the student (the 3x3 downsampling kernels folded into its 2x2 ones, counted per
    group), --teacher distils from the trained model (the plain student config loading the result:
    tests/models/test_distillation.py)."""
    work = str(trained['root'] / 'distil')
    log = run_tool('tools/train.py', STUDENT, '--data', trained['data'], '--img-size', '64', '--work-dir', work,
                   '--weights', trained['ckpt'], '--teacher', CONFIG, trained['ckpt']).out
    for name in ('neck_cwd', 'head_score', 'head_box'):
        assert re.search(rf'loss_distill_{name}: [0-9.]+', log), name
    assert 'distillation teacher loaded from' in log
    rows = {m[0]: [int(v) for v in m[1:]] for m in re.findall(
        r'^\s+(backbone|neck|head)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$', log, re.M)}
    # tensors, transferred, folded, skipped (shape), re-init (classes), missing: stem + 4 stage convs, 2 neck convs
    assert rows['backbone'][2] == 5 and rows['neck'][2] == 2 and rows['head'][2] == 0
    assert all(r[3] == r[5] == 0 and r[0] == r[1] + r[2] for r in rows.values())
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu', weights_only=False)
    assert not any('teacher' in k for k in ckpt['state_dict'])  # the teacher is in no checkpoint
