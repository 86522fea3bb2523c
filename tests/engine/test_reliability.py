"""Reliability: atomic checkpoints, resume after SIGKILL at any moment, NaN/Inf losses, checkpoints
of another architecture. Tool runs are subprocesses on the tiny generated COCO-layout dataset."""
import glob
import os
import os.path as osp
import re
import signal
import subprocess
import sys

import pytest
import torch
from _tiny_data import make_tiny_coco
from _tools import REPO, TINY_CFG, data_options, run_tool
from mmengine.fileio import get_file_backend

from fasternet_yolo11.engine.checkpoint_io import (
    ATOMIC_BACKEND_ARGS,
    AtomicLocalBackend,
    atomic_write,
    is_complete_checkpoint,
    latest_complete_checkpoint,
    remove_stale_temporaries,
)
from fasternet_yolo11.engine.optim_wrappers import NominalBatchOptimWrapper


def load_ckpt(path):
    return torch.load(path, map_location='cpu', weights_only=True)


# ----------------------------------------------------------------------------- in-process units
def test_atomic_write_never_leaves_a_partial_file(tmp_path):
    # the backend the checkpoint hooks select (plain local files keep mmengine's, see test_import_effects)
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth'), backend_args=ATOMIC_BACKEND_ARGS), AtomicLocalBackend)
    target = tmp_path / 'epoch_1.pth'
    atomic_write(b'complete', str(target))
    # a write that fails after the temporary file exists (here: data of the wrong type)
    with pytest.raises(TypeError):
        atomic_write(object(), str(target))
    assert target.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left behind


def test_resume_picks_newest_complete_checkpoint(tmp_path):
    work = str(tmp_path)
    assert latest_complete_checkpoint(work) == (None, None)
    for epoch in (1, 2, 3):
        torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'epoch': epoch}},
                   osp.join(work, f'epoch_{epoch}.pth'))
    data = open(osp.join(work, 'epoch_3.pth'), 'rb').read()
    open(osp.join(work, 'epoch_3.pth'), 'wb').write(data[:len(data) // 2])  # a cut-short write
    assert not is_complete_checkpoint(osp.join(work, 'epoch_3.pth'))
    assert is_complete_checkpoint(osp.join(work, 'epoch_2.pth'))
    # last_checkpoint missing, pointing at a partial file, at a missing file, or itself cut short
    for pointer in (None, 'epoch_3.pth', 'epoch_9.pth', ''):
        if pointer is not None:
            with open(osp.join(work, 'last_checkpoint'), 'w') as f:
                f.write(osp.join(work, pointer) if pointer else '')
        path, note = latest_complete_checkpoint(work)
        assert path == osp.join(work, 'epoch_2.pth') and 'resuming from' in note
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_1.pth'))
    assert latest_complete_checkpoint(work) == (osp.join(work, 'epoch_1.pth'), None)
    # what a killed atomic_write leaves is cleaned up; the user's own files are not touched
    for name in ('.epoch_4.pth.ab_12xyz.tmp', '.last_checkpoint.q1w2e3r4.tmp', 'notes.tmp'):
        open(osp.join(work, name), 'w').close()
    assert sorted(remove_stale_temporaries(work)) == ['.epoch_4.pth.ab_12xyz.tmp',
                                                     '.last_checkpoint.q1w2e3r4.tmp']
    assert osp.exists(osp.join(work, 'notes.tmp'))


def test_finite_optim_wrapper_does_not_apply_a_nan_step():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    wrapper = NominalBatchOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                                 weight_decay=0.01))
    x = torch.randn(4, 3)
    wrapper.update_params(model(x).pow(2).mean())  # a normal step fills the momentum buffers
    assert wrapper.last_loss_finite
    before = {k: v.clone() for k, v in model.state_dict().items()}
    momentum = [wrapper.optimizer.state[p]['momentum_buffer'].clone() for p in model.parameters()]
    wrapper.update_params(model(x).sum() * float('nan'))
    assert not wrapper.last_loss_finite
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])  # no update, not even momentum or weight decay
    for p, m in zip(model.parameters(), momentum):
        assert torch.equal(wrapper.optimizer.state[p]['momentum_buffer'], m) and p.grad is None
    wrapper.update_params(model(x).pow(2).mean())  # training goes on afterwards
    assert wrapper.last_loss_finite and not torch.equal(model.weight, before['weight'])


# ----------------------------------------------------------------------------- tool runs
@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return make_tiny_coco(str(tmp_path_factory.mktemp('tiny')), num_images=4)


@pytest.fixture(scope='module')
def nan_skip_run(tiny_root, tmp_path_factory):
    """One epoch whose box loss is NaN at every step, with action='skip'."""
    work = str(tmp_path_factory.mktemp('nan_skip'))
    proc = run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options',
                    'model.bbox_head.loss_bbox.loss_weight=nan',
                    'default_hooks.non_finite_loss.action=skip', *data_options(tiny_root))
    return work, proc.stdout + proc.stderr


def test_non_finite_loss_skip_keeps_weights_finite(nan_skip_run):
    work, log = nan_skip_run
    skipped = [ln for ln in log.splitlines() if 'step skipped' in ln]
    assert len(skipped) == 2 and 'iteration 2 (epoch 1): loss=nan loss_bbox=nan' in skipped[1]
    state = load_ckpt(osp.join(work, 'epoch_1.pth'))['state_dict']
    assert all(torch.isfinite(v.float()).all() for v in state.values())


def test_non_finite_loss_stops_with_one_line(tiny_root, tmp_path):
    work = str(tmp_path / 'work')
    proc = run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options',
                    'model.bbox_head.loss_bbox.loss_weight=inf', *data_options(tiny_root),
                    check=False)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert re.match(r'error: non-finite loss at iteration 1 \(epoch 1\): loss=(nan|inf) .*'
                    r'loss_bbox=(nan|inf)', last), last
    assert not glob.glob(osp.join(work, '*.pth'))


def _other_architecture(src, dst, only_head=False):
    """A checkpoint whose tensors (or only the class-logit convs) have other shapes."""
    ckpt = load_ckpt(src)
    state = ckpt['state_dict']
    for k, v in list(state.items()):
        if v.dim() and (not only_head or re.search(r'cls_preds\.\d\.2\.', k)):
            state[k] = torch.zeros(v.shape[0] + 1, *v.shape[1:])
    torch.save(dict(state_dict=state, meta=ckpt['meta']), dst)
    return dst


def test_checkpoint_of_another_architecture(nan_skip_run, tiny_root, tmp_path):
    work, _ = nan_skip_run
    other = _other_architecture(osp.join(work, 'epoch_1.pth'), str(tmp_path / 'other.pth'))
    opts = data_options(tiny_root)
    for args, extra in ((['tools/test.py', TINY_CFG, other], []),
                        (['tools/train.py', TINY_CFG, '--resume', other], []),
                        (['tools/train.py', TINY_CFG], [f'load_from={other}'])):
        proc = run_tool(*args, '--work-dir', str(tmp_path / 'w'), '--cfg-options', *extra, *opts,
                        check=False)
        last = proc.stderr.strip().splitlines()[-1]
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert last.startswith('error: ') and 'other.pth' in last and 'does not fit' in last
        assert re.search(r'backbone\.\S+ \[\d+, .*\] in the file vs \[\d+, .*\] in the model',
                         last), last
    # Fine-tuning on other classes: only the class logits differ; they are skipped in one line.
    head = _other_architecture(osp.join(work, 'epoch_1.pth'), str(tmp_path / 'head.pth'), True)
    proc = run_tool('tools/train.py', TINY_CFG, '--work-dir', str(tmp_path / 'ft'),
                    '--cfg-options', f'load_from={head}', *opts)
    warning = [ln for ln in proc.stderr.splitlines() if ln.startswith('warning: load_from')]
    assert len(warning) == 1 and '6 shape mismatch(es)' in warning[0]
    assert 'cls_preds.0.2.weight [3, 32, 1, 1] in the file vs [2, 32, 1, 1]' in warning[0]
    assert osp.isfile(str(tmp_path / 'ft' / 'epoch_1.pth'))


def _train_until(work, opts, marker, resume):
    """Start training (1000 epochs, validation every epoch) and SIGKILL it on a log line."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env.pop('PYTHONPATH', None)
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', work,
         *(['--resume'] if resume else []), '--cfg-options', 'train_cfg.max_epochs=1000',
         'train_cfg.val_interval=1', *opts],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if re.search(marker, line):
                break
        else:
            raise AssertionError(f'{marker!r} never logged:\n{"".join(seen[-30:])}')
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    return ''.join(seen)


def test_sigkill_during_save_and_validation_then_resume(tiny_root, tmp_path):
    work = str(tmp_path / 'work')
    opts = data_options(tiny_root)
    # Killed while writing the 2nd checkpoint, then (resumed) during a validation; a kill in the
    # mid-epoch: test_tools_train_test.py::test_killed_training_resumes_from_last_checkpoint
    _train_until(work, opts, r'Saving checkpoint at 2 epochs', resume=False)
    log = _train_until(work, opts, r'Epoch\(val\) +\[\d+\]\[1/2\]', resume=True)
    assert re.search(r'resumed epoch: [12], iter: [24]', log)
    # Every file on disk is a complete checkpoint; last_checkpoint names one of them.
    names = sorted(os.listdir(work))
    assert not [n for n in names if n.endswith('.tmp')]
    pths = glob.glob(osp.join(work, '*.pth'))
    epochs = sorted(load_ckpt(p)['meta']['epoch'] for p in pths)
    last = open(osp.join(work, 'last_checkpoint')).read().strip()
    assert osp.isfile(last) and load_ckpt(last)['meta']['epoch'] == epochs[-1] >= 2
    # Finish: one more epoch from the last complete checkpoint.
    done = epochs[-1]
    proc = run_tool('tools/train.py', TINY_CFG, '--work-dir', work, '--resume', '--cfg-options',
                    f'train_cfg.max_epochs={done + 1}', *opts)
    assert f'resumed epoch: {done}, iter: {2 * done}' in proc.stdout + proc.stderr
    meta = load_ckpt(osp.join(work, f'epoch_{done + 1}.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (done + 1, 2 * done + 2)
    for p in glob.glob(osp.join(work, '*.pth')):
        assert load_ckpt(p)['state_dict']
