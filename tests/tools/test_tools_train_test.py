"""tools/train.py and tools/test.py end to end on a tiny generated dataset (subprocesses, CPU)."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from _tiny_data import make_tiny_coco
from _tools import REPO, TINY_CFG, data_options, run_tool


def ckpt_meta(path):
    return torch.load(path, map_location='cpu', weights_only=True)['meta']


def _last_checkpoint_epoch(work):
    try:
        name = open(osp.join(work, 'last_checkpoint')).read().strip()
        return int(osp.basename(name)[len('epoch_'):-len('.pth')])
    except (OSError, ValueError):
        return 0


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return make_tiny_coco(str(tmp_path_factory.mktemp('tiny')), num_images=4)


def test_train_two_iterations_then_resume(tiny_root, tmp_path):
    work = str(tmp_path / 'work')
    opts = data_options(tiny_root)
    run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options', *opts)
    first = osp.join(work, 'epoch_1.pth')
    assert ckpt_meta(first)['iter'] == 2  # 4 images, batch 2
    # --resume with a path, weights_only on, continues at iteration 2 and runs one more epoch.
    proc = run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--resume', first,
                    '--cfg-options', 'train_cfg.max_epochs=2', *opts)
    assert 'resumed epoch: 1, iter: 2' in proc.stdout + proc.stderr
    meta = ckpt_meta(osp.join(work, 'epoch_2.pth'))
    assert (meta['epoch'], meta['iter']) == (2, 4)


def test_killed_training_resumes_from_last_checkpoint(tiny_root, tmp_path):
    work = str(tmp_path / 'work')
    opts = data_options(tiny_root)
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options',
         'train_cfg.max_epochs=1000', *opts], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        # last_checkpoint is written after a checkpoint is complete.
        while not _last_checkpoint_epoch(work) >= 2:
            assert proc.poll() is None, 'training exited early'
            assert time.time() < deadline, 'no checkpoint written in time'
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    last = open(osp.join(work, 'last_checkpoint')).read().strip()
    done_epoch = ckpt_meta(last)['epoch']
    assert done_epoch >= 2
    proc = run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--resume', '--cfg-options',
                    f'train_cfg.max_epochs={done_epoch + 1}', *opts)
    assert f'resumed epoch: {done_epoch}, iter: {2 * done_epoch}' in proc.stdout + proc.stderr
    meta = ckpt_meta(osp.join(work, f'epoch_{done_epoch + 1}.pth'))
    assert (meta['epoch'], meta['iter']) == (done_epoch + 1, 2 * done_epoch + 2)


def test_test_py_reports_coco_map(tiny_root, tmp_path):
    work = str(tmp_path / 'work')
    opts = data_options(tiny_root)
    run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options', *opts)
    proc = run_tool('tools/test.py', TINY_CFG, osp.join(work, 'epoch_1.pth'), '--work-dir', work,
                    '--cfg-options', *opts)
    assert 'coco/bbox_mAP_50' in proc.stdout + proc.stderr


def test_bad_paths_give_one_line_errors(tmp_path):
    proc = run_tool('tools/train.py', 'configs/does_not_exist.py', check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith('error: config file not found')
    proc = run_tool('tools/test.py', TINY_CFG, str(tmp_path / 'missing.pth'), check=False)
    assert proc.returncode == 2
    assert 'checkpoint not found' in proc.stderr and 'missing.pth' in proc.stderr


def test_an_export_where_a_checkpoint_goes_is_one_line(tmp_path):
    """tools/test.py CONFIG model.onnx: one line saying what the file is and which tool takes it."""
    model = tmp_path / 'model.onnx'
    model.write_bytes(b'\x08\x07\x12\x07pytorch')  # the first bytes of an ONNX protobuf
    proc = run_tool('tools/test.py', TINY_CFG, str(model), check=False)
    assert proc.returncode == 2, proc.out
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    assert lines[0].startswith(f'error: {model} is an exported ONNX model, not a PyTorch checkpoint')
    assert 'tools/deployment/test_exported.py' in lines[0]
