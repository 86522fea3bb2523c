"""Benchmark (2 iterations per backend) and the three plot commands on a tiny real run."""
import os.path as osp

import numpy as np
import pytest
from _tools import run_tool

from fasternet_yolo11.datasets.demo_data import make_fire_demo

CONFIG = 'configs/yolo11n_fasternet_fire_demo.py'


def run(*args):
    return run_tool(*args).out


def assert_png(path):
    assert osp.isfile(path) and osp.getsize(path) > 5000, path
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_benchmark_two_iterations_per_backend(tmp_path):
    out_md = str(tmp_path / 'bench.md')
    log = run('tools/analysis_tools/benchmark.py', 'configs/yolo11n_fasternet_coco.py',
              '--img-size', '64', '96', '--batch', '2', '--iters', '2', '--warmup', '1',
              '--threads', '1', '--out', out_md)
    table = open(out_md).read()
    assert 'CPU:' in table and '1 threads' in table and 'onnxruntime' in table
    rows = [ln for ln in table.splitlines() if ln.startswith('| yolo11n_fasternet_coco')]
    assert [r.split('|')[3].strip() for r in rows] == [
        'PyTorch', 'PyTorch deploy form', 'ONNX Runtime', 'OpenVINO', 'ONNX Runtime INT8', 'OpenVINO INT8']
    for r in rows:
        median = float(r.split('|')[5].split()[0])
        throughput = float(r.split('|')[6])
        assert median > 0 and throughput > 0
    assert table in log.replace('\r', '')


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """A real one-epoch training run on 4 generated images (validated once)."""
    root = str(tmp_path_factory.mktemp('fire'))
    yaml_path = make_fire_demo(root, num_train=4, num_val=2, img_size=96, seed=5)
    work = osp.join(root, 'work')
    opts = [f'{k}.dataset.data_yaml={yaml_path}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts += ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
             'val_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
             'train_cfg.val_interval=1', 'optim_wrapper.optimizer.batch_size_per_gpu=2',
             'default_hooks.logger.interval=1']
    # Trained in channels_last: the plots and the confusion matrix below read its checkpoint
    # and logs like any other.
    log = run('tools/train.py', CONFIG, '--work-dir', work, '--channels-last', '--cfg-options',
              *opts)
    assert 'ChannelsLastHook: model weights in channels_last (NHWC)' in log
    return yaml_path, work, opts


def test_plot_curves(tiny_run, tmp_path):
    _, work, _ = tiny_run
    out = str(tmp_path / 'curves.png')
    log = run('tools/analysis_tools/plot_curves.py', work, '--out', out)
    assert '2 training / 1 validation rows' in log, log
    assert_png(out)


def test_confusion_matrix(tiny_run, tmp_path):
    yaml_path, work, opts = tiny_run
    out = str(tmp_path / 'cm.png')
    log = run('tools/analysis_tools/confusion_matrix.py', CONFIG, osp.join(work, 'epoch_1.pth'),
              '--out', out, '--score-thr', '0.01', '--cfg-options', *opts[:3])
    assert_png(out)
    cm = np.load(str(tmp_path / 'cm.npy'))
    assert cm.shape == (3, 3)
    # Every ground-truth box of the val split lands in a true-class row.
    from fasternet_yolo11.datasets.yolo_dataset import label_path_for, list_images, load_data_config
    cfg = load_data_config(yaml_path)
    images = list_images(cfg['val'])[0]
    n_gt = sum(len(open(label_path_for(i)).read().split('\n')) - 1 for i in images)
    assert cm[:2].sum() == n_gt and f'{n_gt} ground-truth boxes' in log


def test_confusion_matching():
    from fasternet_yolo11.analysis.confusion import match
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], np.float32)
    dets = np.array([[0, 0, 10, 11], [20, 20, 30, 30], [80, 80, 90, 90]], np.float32)
    cm = match(gt, np.array([0, 1, 1]), dets, np.array([0, 0, 1]), 2, 0.45)
    # fire->fire, smoke->fire (confusion), smoke missed, one false smoke.
    assert cm.tolist() == [[1, 0, 0], [1, 0, 1], [0, 1, 0]]


def test_label_stats(tmp_path):
    root = str(tmp_path / 'data')
    yaml_path = make_fire_demo(root, num_train=5, num_val=1, img_size=64, seed=2)
    out = str(tmp_path / 'labels.png')
    log = run('tools/analysis_tools/label_stats.py', yaml_path, '--out', out)
    assert_png(out)
    from fasternet_yolo11.datasets.yolo_dataset import label_path_for, list_images, load_data_config
    cfg = load_data_config(yaml_path)
    rows = [ln for i in list_images(cfg['train'])[0]
            for ln in open(label_path_for(i)).read().splitlines() if ln.strip()]
    fire = sum(ln.split()[0] == '0' for ln in rows)
    assert f'5 images, {len(rows)} boxes (fire {fire}, smoke {len(rows) - fire})' in log, log

