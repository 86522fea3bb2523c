"""The user's three commands on YOLO-format data: train -> test.py (COCO mAP) -> get_flops.

A handful of generated 160 px demo images plus bad inputs in the train split: each bad case is
reported with its file and training goes on.
"""
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
from _tools import run_tool

from fasternet_yolo11.datasets.demo_data import make_fire_demo

CONFIG = 'configs/yolo11n_fasternet_fire_demo.py'



@pytest.fixture(scope='module')
def fire_data(tmp_path_factory):
    root = osp.join(str(tmp_path_factory.mktemp('fire')), 'fire data')  # a space, on purpose
    yaml_path = make_fire_demo(root, num_train=6, num_val=3, img_size=160, seed=3)
    images, labels = osp.join(root, 'train', 'images'), osp.join(root, 'train', 'labels')
    img = np.full((120, 160, 3), 90, np.uint8)
    bad = {  # name: label text
        'bad_4cols': '0 0.5 0.5 0.2\n',
        'bad_class': '7 0.5 0.5 0.2 0.2\n',
        'bad_outside': '0 0.5 0.5 1.5 0.2\n',
        'bad_zero_label': '',  # 0-byte label file: a background image, not an error
    }
    for name, text in bad.items():
        cv2.imwrite(osp.join(images, name + '.jpg'), img)
        with open(osp.join(labels, name + '.txt'), 'w') as f:
            f.write(text)
    cv2.imwrite(osp.join(images, 'bad_truncated.jpg'), img)
    data = open(osp.join(images, 'bad_truncated.jpg'), 'rb').read()
    open(osp.join(images, 'bad_truncated.jpg'), 'wb').write(data[:len(data) // 3])
    # mmengine's --cfg-options drops spaces, so the yaml given there lives outside the spaced
    # folder and points into it.
    outer = osp.join(osp.dirname(root), 'fire.yaml')
    with open(yaml_path) as f, open(outer, 'w') as g:
        g.write(f.read().replace('path: .', 'path: fire data'))
    return outer


def data_options(yaml_path):
    return [f'{k}.dataset.data_yaml={yaml_path}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def test_train_test_get_flops(fire_data, tmp_path):
    work = str(tmp_path / 'work')
    opts = data_options(fire_data) + [
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'optim_wrapper.optimizer.batch_size_per_gpu=4']
    log = run_tool('tools/train.py', CONFIG, '--work-dir', work, '--cfg-options', *opts).out
    # 6 good + 1 background = 7 images, batch 4: 2 iterations; the bad ones are each reported.
    assert 'YOLOFormatDataset train' in log and '7 images' in log and '4 skipped' in log
    for name, reason in [('bad_4cols.txt', '4 columns'), ('bad_class.txt', 'class id 7'),
                         ('bad_outside.txt', 'outside [0, 1]'),
                         ('bad_truncated.jpg', 'truncated')]:
        lines = [ln for ln in log.splitlines() if name in ln and 'WARNING' in ln]
        assert len(lines) == 1 and reason in lines[0], (name, lines)
    assert 'Epoch(train) [1][2/2]' in log
    assert 'Model summary' in log and 'FasterNet' in log and 'C2PSA' in log
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)

    show_dir = 'shown'
    log = run_tool('tools/test.py', CONFIG, ckpt, '--work-dir', work, '--show-dir', show_dir,
                   '--deploy', '--cfg-options', *data_options(fire_data)).out
    assert '| fire ' in log and '| smoke ' in log  # per-class AP table
    shown = [f for d, _, fs in os.walk(work) if osp.basename(d) == show_dir for f in fs]
    assert len(shown) == 3
    # the operator's table, and (no --eval-dir) the curves and metrics.json in the run's log folder
    assert re.search(r'^\s+Class\s+Images\s+Instances\s+P\s+R\s+mAP50\s+mAP50-95$', log, re.M)
    from fasternet_yolo11.evaluation.reports import EVAL_FILES
    log_dir = osp.dirname(re.findall(r'P/R/F1 curves, confusion matrices, metrics.json -> (\S+)', log)[-1] + '/')
    assert osp.dirname(log_dir) == osp.abspath(work) or osp.dirname(log_dir) == work, log_dir
    assert all(osp.isfile(osp.join(log_dir, f)) for f in EVAL_FILES)
    metrics = json.load(open(osp.join(log_dir, 'metrics.json')))
    assert 0 <= metrics['best_f1_threshold'] <= 1 and {'fire', 'smoke'} <= set(metrics['per_class'])

    prefix = str(tmp_path / 'results')
    run_tool('tools/test.py', CONFIG, ckpt, '--work-dir', work, '--json-prefix', prefix,
             '--cfg-options', *data_options(fire_data))
    with open(prefix + '.bbox.json') as f:
        results = json.load(f)
    assert isinstance(results, list) and all({'image_id', 'bbox', 'score', 'category_id'} <= set(r)
                                             for r in results)

    log = run_tool('tools/analysis_tools/get_flops.py', CONFIG, '--not-show-table',
                   '--shape', '320').out
    assert 'yolo11n_fasternet_fire_demo' in log and 'GFLOPs' in log


# A checkpoint that detects (tests/fixtures/tiny_trained/README.md) and the data it was trained on.
TINY_CONFIG = 'tests/configs/tiny_fasternet_yolo11.py'
TINY_CKPT = 'tests/fixtures/tiny_trained/tiny_fasternet_yolo11_fire64.pth'


def test_deploy_form_keeps_the_metrics_of_a_model_that_detects(tmp_path):
    """tools/test.py --deploy (Conv+BN fused, PConv slicing, channels_last) computes the same boxes up
    to float rounding: every metric equals the training form's to the 4 decimals logged, on a model
    whose mAP is not 0."""
    data = make_fire_demo(str(tmp_path / 'fire64'), num_train=16, num_val=8, img_size=64, seed=3)

    def metrics(*flags):
        log = run_tool('tools/test.py', TINY_CONFIG, TINY_CKPT, '--data', data, '--work-dir', str(tmp_path / 'w'),
                       *flags).out
        line = [ln for ln in log.splitlines() if 'Epoch(test)' in ln and 'coco/bbox_mAP:' in ln][-1]
        return {k: float(v) for k, v in re.findall(r'(coco/[A-Za-z_0-9]+): (-?[0-9.]+)', line)}
    plain, deployed = metrics(), metrics('--deploy')
    assert plain['coco/bbox_mAP_50'] > 0.1 and plain['coco/recall'] > 0.1, plain
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/precision', 'coco/recall', 'coco/best_f1_thr'):
        assert abs(plain[key] - deployed[key]) <= 1e-4, (key, plain[key], deployed[key])
