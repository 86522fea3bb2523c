"""FitnessEarlyStoppingHook (patience in epochs, the reason in the log, the last checkpoint) and
BestThresholdHook (the best-F1 threshold in the checkpoint meta)."""
import logging
import math
import os.path as osp
from types import SimpleNamespace

import pytest
from _tiny_data import make_tiny_coco
from _tools import REPO, data_options, run_tool
from mmengine.logging import MessageHub

from fasternet_yolo11.engine.checkpoint_meta import best_threshold_from_checkpoint
from fasternet_yolo11.engine.hooks import BestThresholdHook, FitnessEarlyStoppingHook

CFG = osp.join(REPO, 'tests', 'configs', 'tiny_early_stop.py')


class _Logs(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def fake_runner(name):
    logger = logging.getLogger(f'test_early_stopping.{name}')
    logs = _Logs()
    logger.addHandler(logs)
    logger.setLevel(logging.INFO)
    return SimpleNamespace(epoch=0, iter=0, train_loop=SimpleNamespace(stop_training=False, max_epochs=50),
                           message_hub=MessageHub(f'test_es_{name}'), logger=logger, hooks=[]), logs


def run_validations(hook, runner, values, epochs_per_val=1):
    """Validate after every ``epochs_per_val`` epochs; returns the epoch it stopped at."""
    hook.before_run(runner)
    hook.before_train(runner)
    for value in values:
        runner.epoch += epochs_per_val
        hook.after_val_epoch(runner, {'coco/fitness': value, 'coco/bbox_mAP': 0.0})
        if runner.train_loop.stop_training:
            return runner.epoch
    return None


def test_patience_counts_epochs_and_ties_are_no_improvement():
    runner, logs = fake_runner('ties')
    hook = FitnessEarlyStoppingHook(patience=2, by_epoch=True)
    assert hook.rule == 'greater' and hook.monitor == 'coco/fitness' and hook.priority == 'LOWEST'
    assert run_validations(hook, runner, [0.3] * 10) == 3  # patience + 1 validations
    assert any('Early stopping after epoch 3 of 50: coco/fitness has not improved for 2 epochs '
               '(patience 2): best 0.3000 at epoch 1, now 0.3000' in ln for ln in logs.lines), logs.lines


def test_improvement_resets_and_val_interval_counts_epochs():
    runner, _ = fake_runner('interval')
    # validations every 3 epochs, patience 5 epochs: best at epoch 6, stop at epoch 12 (6 >= 5)
    hook = FitnessEarlyStoppingHook(patience=5, by_epoch=True)
    assert run_validations(hook, runner, [0.1, 0.2, 0.2, 0.2, 0.9], epochs_per_val=3) == 12
    runner, _ = fake_runner('improving')
    hook = FitnessEarlyStoppingHook(patience=2, by_epoch=True)
    assert run_validations(hook, runner, [0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.3]) == 7
    # counting validations (iteration-based loops): the same as epochs at interval 1
    runner, _ = fake_runner('by_val')
    hook = FitnessEarlyStoppingHook(patience=2, by_epoch=False)
    assert run_validations(hook, runner, [0.5] * 5, epochs_per_val=3) == 9


def test_patience_zero_disables_and_min_delta_and_nan():
    runner, _ = fake_runner('off')
    assert run_validations(FitnessEarlyStoppingHook(patience=0), runner, [0.1] * 20) is None
    runner, _ = fake_runner('delta')
    hook = FitnessEarlyStoppingHook(patience=2, min_delta=0.05, by_epoch=True)
    assert run_validations(hook, runner, [0.1, 0.14, 0.13, 0.5]) == 3  # within 0.05 of the best: no improvement
    runner, logs = fake_runner('nan')
    hook = FitnessEarlyStoppingHook(patience=10, by_epoch=True)
    assert run_validations(hook, runner, [0.1, math.nan]) == 2
    assert any('coco/fitness = nan is not finite' in ln for ln in logs.lines)


def test_state_survives_resume():
    runner, _ = fake_runner('resume')
    hook = FitnessEarlyStoppingHook(patience=3, by_epoch=True)
    assert run_validations(hook, runner, [0.4, 0.3]) is None
    # a resumed run: a new hook, the message hub restored from the checkpoint
    hub = MessageHub('test_es_resumed')
    hub.load_state_dict(runner.message_hub.state_dict())
    runner2 = SimpleNamespace(**dict(vars(runner), message_hub=hub))
    hook2 = FitnessEarlyStoppingHook(patience=3, by_epoch=True)
    assert run_validations(hook2, runner2, [0.3, 0.3]) == 4  # best still epoch 1


def test_best_threshold_hook_meta_and_reader():
    runner, _ = fake_runner('thr')
    hook = BestThresholdHook()
    assert hook.priority == 'NORMAL'  # before CheckpointHook (VERY_LOW) writes best_*.pth
    ckpt = {'meta': {}}
    hook.before_save_checkpoint(runner, ckpt)
    assert ckpt == {'meta': {}} and best_threshold_from_checkpoint(ckpt, 0.25) == 0.25
    runner.epoch = 4
    hook.after_val_epoch(runner, {'coco/best_f1_thr': 0.4144})
    hook.before_save_checkpoint(runner, ckpt)
    assert ckpt['meta'] == {'best_f1_threshold': 0.4144, 'best_f1_threshold_epoch': 4}
    assert best_threshold_from_checkpoint(ckpt) == 0.4144
    assert best_threshold_from_checkpoint(ckpt['meta']) == 0.4144
    assert best_threshold_from_checkpoint({'message_hub': runner.message_hub.state_dict()}) == 0.4144
    assert best_threshold_from_checkpoint({'meta': {'best_f1_threshold': float('nan')}}, 0.3) == 0.3


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return make_tiny_coco(str(tmp_path_factory.mktemp('tiny_es')), num_images=4)


def test_train_stops_after_patience_plus_one_validations(tiny_root, tmp_path):
    work = str(tmp_path / 'work')
    proc = run_tool('tools/train.py', CFG, '--work-dir', work, '--patience', '2',
                    '--cfg-options', *data_options(tiny_root))
    log = proc.out
    # lr 0, frozen BN: the same fitness at every validation -> stop after epoch 1 + patience 2
    assert 'Epoch(val) [3]' in log and 'Epoch(val) [4]' not in log, log[-3000:]
    assert 'Early stopping after epoch 3 of 8: coco/fitness has not improved for 2 epochs (patience 2)' in log
    best = osp.join(work, 'best_coco_bbox_mAP_epoch_1.pth')
    last = osp.join(work, 'epoch_3.pth')  # interval 5: written by the early-stopping hook
    assert osp.isfile(best) and osp.isfile(last) and not osp.exists(osp.join(work, 'epoch_4.pth'))
    assert f'Best checkpoint: {best}' in log and f'Last checkpoint: {last}' in log
    assert open(osp.join(work, 'last_checkpoint')).read().strip() == last
    # the operator's table and the threshold, every validation; the threshold in the meta
    assert 'Class     Images  Instances          P          R      mAP50   mAP50-95' in log
    from fasternet_yolo11.engine.checkpoint_io import load_weights_only
    for path, epoch in ((best, 1), (last, 3)):
        meta = load_weights_only(path, map_location='cpu')['meta']
        assert meta['epoch'] == epoch and meta['best_f1_threshold_epoch'] == epoch
        assert 0 <= meta['best_f1_threshold'] <= 1
        assert best_threshold_from_checkpoint(path) == meta['best_f1_threshold']
