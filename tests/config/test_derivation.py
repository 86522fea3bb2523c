"""config/derivation.py and config/run_settings.py: every size-, epoch-, class- and batch-dependent
key follows the primaries, for the tools' flags and for every shipped config (checked by a walk
written independently of the derivation, so a new config or a new pipeline step that is not
derived fails here)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from fasternet_yolo11.config.derivation import ConfigDerivationError, derive
from fasternet_yolo11.config.run_settings import apply_checkpoint_settings, apply_run_settings, round_img_size
from fasternet_yolo11.engine.checkpoint_meta import read_checkpoint_meta

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
FIRE = osp.join(REPO, 'configs', 'yolo11n_fasternet_fire.py')
DEMO = osp.join(REPO, 'configs', 'yolo11n_fasternet_fire_demo.py')
# what a config must state at its top level, so that its dump says what ran
PRIMARIES = ('num_classes', 'img_scale', 'max_epochs', 'close_mosaic_epochs', 'val_interval',
             'val_interval_stage2', 'save_epoch_intervals', 'train_batch_size_per_gpu',
             'train_num_workers', 'val_num_workers', 'nbs')


def _kind(d):
    return str(d.get('type', '')).split('.')[-1]


def _dicts(value, path=''):
    """(path, dict) for every dict inside value."""
    if isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from _dicts(v, f'{path}.{k}')
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _dicts(v, f'{path}[{i}]')


def check_run(cfg, *, img_scale, epochs, close_mosaic, batch, nbs, num_classes, class_names=None,
              data_yaml=None, val_interval=None, val_interval_stage2=None, save_interval=None,
              workers=None, world_size=1):
    """Walk the whole config and check every dependent key against the given run settings."""
    d = cfg.to_dict()
    w, h = img_scale
    switch_epoch = max(epochs - close_mosaic, 0)
    seen = {}
    for path, x in _dicts(d):
        kind = _kind(x)
        seen.setdefault(kind, []).append(path)
        if kind == 'Mosaic':
            assert tuple(x['img_scale']) == (w, h), path
        elif kind in ('YOLOv5KeepRatioResize', 'LetterResize', 'Resize'):
            assert tuple(x['scale']) == (w, h), path
        elif kind == 'YOLOv5RandomAffine' and 'border' in x:
            assert tuple(x['border']) == (-w // 2, -h // 2), path
        elif kind == 'PipelineSwitchHook':
            assert x['switch_epoch'] == switch_epoch, path
        elif kind == 'YOLOv5ParamSchedulerHook':
            assert x['max_epochs'] == epochs, path
        elif kind == 'YOLOFormatDataset':
            if data_yaml is not None:
                assert x['data_yaml'] == data_yaml, path
            assert tuple(x['metainfo']['classes']) == tuple(class_names), path
            assert len(x['metainfo']['palette']) == len(class_names), path
        if 'num_classes' in x and path.startswith('.model'):
            assert x['num_classes'] == num_classes, path
        elif 'num_classes' in x and path:
            pytest.fail(f'num_classes outside model at {path}')
    # every derived place exists where the run needs it
    train = d['train_dataloader']['dataset']['pipeline']
    kinds = [_kind(t) for t in train]
    assert 'Mosaic' in kinds and any(_kind(t) == 'YOLOv5RandomAffine' and 'border' in t for t in train)
    switch = [h for h in d['custom_hooks'] if _kind(h) == 'PipelineSwitchHook']
    assert len(switch) == 1
    assert {'YOLOv5KeepRatioResize', 'LetterResize'} <= {_kind(t) for t in switch[0]['switch_pipeline']}
    for name in ('val_dataloader', 'test_dataloader'):
        assert {'YOLOv5KeepRatioResize', 'LetterResize'} <= {_kind(t) for t in d[name]['dataset']['pipeline']}
    head = d['model']['bbox_head']['head_module']
    assert head['num_classes'] == d['model']['train_cfg']['assigner']['num_classes'] == num_classes
    # schedule
    assert d['train_cfg']['max_epochs'] == epochs
    if val_interval is not None:
        assert d['train_cfg']['val_interval'] == min(val_interval, epochs)
    assert d['train_cfg']['val_interval'] <= epochs
    stage2 = d['train_cfg']['dynamic_intervals']
    assert len(stage2) == 1 and stage2[0][0] == switch_epoch and stage2[0][1] <= epochs
    if val_interval_stage2 is not None:
        assert stage2[0][1] == min(val_interval_stage2, epochs)
    assert d['default_hooks']['param_scheduler']['max_epochs'] == epochs
    checkpoint = d['default_hooks']['checkpoint']['interval']
    assert checkpoint <= epochs
    if save_interval is not None:
        assert checkpoint == min(save_interval, epochs)
    # batch, weight decay and accumulation
    assert d['train_dataloader']['batch_size'] == batch
    ow = d['optim_wrapper']
    assert ow['optimizer']['batch_size_per_gpu'] == batch
    accumulate = max(round(nbs / (batch * world_size)), 1) if nbs else 1
    assert ow.get('accumulative_counts', 1) == accumulate
    if accumulate > 1:
        assert _kind(ow) in ('NominalBatchOptimWrapper', 'NominalBatchAmpOptimWrapper')
        sched = d['default_hooks']['param_scheduler']
        assert ow['accumulate_warmup'] == dict(epochs=sched['warmup_epochs'], min_iters=sched['warmup_mim_iter'])
    else:
        assert 'accumulate_warmup' not in ow
    assert (ow.get('paramwise_cfg') or {}).get('base_total_batch_size', 64) == (nbs or 64)
    ema = [h for h in d['custom_hooks'] if _kind(h) == 'EMAHook']
    assert len(ema) == 1  # it averages once per optimizer step, its ramp counted in steps (tau 2000)
    assert ema[0].get('interval', 1) == accumulate and ema[0].get('gamma', 2000) == 2000 * accumulate
    if workers is not None:
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            assert d[name]['num_workers'] == workers
            assert not (workers == 0 and d[name]['persistent_workers'])
    # the primaries are written back at the top level
    assert (tuple(d['img_scale']), d['max_epochs'], d['close_mosaic_epochs'], d['train_batch_size_per_gpu'],
            d['nbs'], d['num_classes']) == ((w, h), epochs, close_mosaic, batch, nbs, num_classes)
    if class_names is not None:
        assert tuple(d['class_names']) == tuple(class_names)
        assert tuple(d['metainfo']['classes']) == tuple(class_names)
    if data_yaml is not None:
        assert d['data_yaml'] == data_yaml
    # the top-level pipeline variables say the same sizes
    for t in d['train_pipeline'] + d['train_pipeline_stage2'] + d['test_pipeline']:
        if _kind(t) in ('YOLOv5KeepRatioResize', 'LetterResize'):
            assert tuple(t['scale']) == (w, h)


def write_yaml(tmp_path, text, name='my.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_flags_derive_every_dependent_key(tmp_path):
    yaml_path = write_yaml(tmp_path, 'path: .\ntrain: images/train\nval: images/val\n'
                                     'names:\n  0: cat\n  1: dog\n  2: bird\n')
    cfg = Config.fromfile(FIRE)
    changed = apply_run_settings(cfg, data_yaml=yaml_path, epochs=7, img_size=320, batch=4,
                                 workers=1, nbs=64)
    assert {'train_dataloader', 'model', 'custom_hooks', 'optim_wrapper', 'metainfo'} <= set(changed)
    check_run(cfg, img_scale=(320, 320), epochs=7, close_mosaic=10, batch=4, nbs=64, num_classes=3,
              class_names=('cat', 'dog', 'bird'), data_yaml=yaml_path, val_interval=1,
              val_interval_stage2=1, save_interval=1, workers=1)
    d = cfg.to_dict()
    assert d['optim_wrapper']['accumulative_counts'] == 16
    assert d['custom_hooks'][1]['switch_epoch'] == 0  # 7 epochs, close_mosaic 10: clamped
    # still an ordinary config: it dumps and reads back the same
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    again = Config.fromfile(str(dumped))
    check_run(again, img_scale=(320, 320), epochs=7, close_mosaic=10, batch=4, nbs=64, num_classes=3,
              class_names=('cat', 'dog', 'bird'), data_yaml=yaml_path, workers=1)


def test_flags_left_out_keep_the_config(tmp_path):
    cfg = Config.fromfile(DEMO)
    before = cfg.to_dict()
    assert apply_run_settings(cfg) == {}
    apply_run_settings(cfg, epochs=2, nbs=None)  # only the schedule and the accumulation change
    check_run(cfg, img_scale=(256, 256), epochs=2, close_mosaic=3, batch=8, nbs=None, num_classes=2,
              class_names=('fire', 'smoke'), val_interval=3, val_interval_stage2=3, save_interval=3)
    after = cfg.to_dict()
    assert after['train_dataloader']['dataset']['pipeline'] == before['train_dataloader']['dataset']['pipeline']
    assert after['train_cfg']['val_interval'] == 2  # 3 is more than the epochs


def test_nominal_batch_follows_the_world_size(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '4')
    cfg = Config.fromfile(FIRE)
    apply_run_settings(cfg, batch=4)
    check_run(cfg, img_scale=(640, 640), epochs=100, close_mosaic=10, batch=4, nbs=cfg.nbs,
              num_classes=2, class_names=('fire', 'smoke'), world_size=4)
    assert cfg.optim_wrapper.accumulative_counts == (4 if cfg.nbs else 1)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_shipped_config_is_consistent_with_its_primaries(path):
    """No flags: every config's dependent keys follow its own top-level primaries."""
    cfg = Config.fromfile(path)
    missing = [k for k in PRIMARIES if k not in cfg]
    assert not missing, f'{osp.basename(path)} does not state {missing} at its top level'
    check_run(cfg, img_scale=tuple(cfg.img_scale), epochs=cfg.max_epochs, close_mosaic=cfg.close_mosaic_epochs,
              batch=cfg.train_batch_size_per_gpu, nbs=cfg.nbs, num_classes=cfg.num_classes,
              class_names=cfg.get('class_names'), data_yaml=cfg.get('data_yaml'),
              val_interval=cfg.val_interval, val_interval_stage2=cfg.val_interval_stage2,
              save_interval=cfg.save_epoch_intervals, workers=None)
    if '_fire' in path:
        assert cfg.data_yaml and tuple(cfg.class_names) == ('fire', 'smoke')


def test_a_config_that_changes_a_primary_needs_one_line(tmp_path):
    """A new config over the demo recipe: the primaries it changes, then the derived_keys line."""
    leaf = tmp_path / 'my_run.py'
    leaf.write_text(f"_base_ = '{DEMO}'\n"
                    'from fasternet_yolo11.config.derivation import derived_keys  # noqa: E402\n\n'
                    'img_scale = (320, 192)\nmax_epochs = 40\nclose_mosaic_epochs = 5\n'
                    "class_names = ('a', 'b', 'c', 'd')\n"
                    'train_dataloader = dict(pin_memory=False)\n'
                    'globals().update(derived_keys(_base_, globals()))\n')
    cfg = Config.fromfile(str(leaf))
    check_run(cfg, img_scale=(320, 192), epochs=40, close_mosaic=5, batch=8, nbs=cfg.nbs, num_classes=4,
              class_names=('a', 'b', 'c', 'd'), val_interval=3, val_interval_stage2=3, save_interval=3)
    assert cfg.train_dataloader.pin_memory is False  # the file's own changes are kept
    assert cfg.model.backbone.type == 'FasterNet'  # and the leaf's model


def test_names_from_the_yaml_as_list_dict_or_classes_txt(tmp_path):
    listed = write_yaml(tmp_path, 'train: a\nval: b\nnames: [x, y, z]\n', 'list.yaml')
    assert derive(Config.fromfile(DEMO), data_yaml=listed)['class_names'] == ('x', 'y', 'z')
    (tmp_path / 'classes.txt').write_text('p\nq\n')
    counted = write_yaml(tmp_path, 'train: a\nval: b\nnc: 2\n', 'nc.yaml')
    new = derive(Config.fromfile(DEMO), data_yaml=counted)
    assert (new['class_names'], new['num_classes']) == (('p', 'q'), 2)
    assert len(new['metainfo']['palette']) == 2


def test_bad_primaries_are_one_line_errors(tmp_path):
    cfg = Config.fromfile(DEMO)
    with pytest.raises(ConfigDerivationError, match='multiples of 32'):
        derive(cfg, img_scale=(250, 250))
    with pytest.raises(ConfigDerivationError, match='max_epochs'):
        derive(cfg, max_epochs=0)
    with pytest.raises(ConfigDerivationError, match='YOLOFormatDataset'):
        apply_run_settings(Config.fromfile(osp.join(REPO, 'configs', 'yolo11n_coco.py')),
                           data_yaml=write_yaml(tmp_path, 'train: a\nval: b\nnames: [x]\n'))
    plain = Config.fromfile(DEMO)
    plain.optim_wrapper.type = 'OptimWrapper'  # would average the window, without the ramp
    with pytest.raises(ConfigDerivationError, match='NominalBatchOptimWrapper'):
        apply_run_settings(plain, nbs=64)
    assert round_img_size(250) == 256 and round_img_size(320) == 320


def test_checkpoint_settings_and_class_mismatch(tmp_path):
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save(dict(meta=dict(dataset_meta=dict(classes=('cat', 'dog', 'bird')),
                              cfg="img_scale = (\n    320,\n    320,\n)\nmax_epochs = 3\n"),
                    state_dict={}), ckpt)
    assert read_checkpoint_meta(ckpt) == (('cat', 'dog', 'bird'), (320, 320), None)
    # demo / export: names and size from the checkpoint, no dataset needed
    cfg = Config.fromfile(DEMO)
    notes = apply_checkpoint_settings(cfg, ckpt)
    assert len(notes) == 2
    check_run(cfg, img_scale=(320, 320), epochs=15, close_mosaic=3, batch=8, nbs=cfg.nbs, num_classes=3,
              class_names=('cat', 'dog', 'bird'))
    # test.py on the config's own 2-class data, or on a 2-class yaml: one line naming both
    with pytest.raises(ConfigDerivationError, match=r'trained on 3 classes \(cat, dog, bird\), the config has 2'):
        apply_checkpoint_settings(Config.fromfile(DEMO), ckpt, evaluates=True)
    two = write_yaml(tmp_path, 'train: a\nval: b\nnames: [fire, smoke]\n')
    with pytest.raises(ConfigDerivationError,
                       match=rf'trained on 3 classes \(cat, dog, bird\), {two} has 2 \(fire, smoke\)'):
        apply_checkpoint_settings(Config.fromfile(DEMO), ckpt, data_yaml=two, evaluates=True)
