"""Your own data in one command: a generated 3-class dataset in the ``images/{train,val}`` layout
trains with ``tools/train.py CONFIG --data --epochs --img-size --batch`` and no config file, is
evaluated by ``tools/test.py --data``, resumes with the same flags, and the demo runs on the
checkpoint without the dataset (class names from the checkpoint)."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from _tools import run_tool

CONFIG = 'configs/yolo11n_fasternet_fire.py'  # 2 classes (fire, smoke), 640 px, 100 epochs
NAMES = ('cat', 'dog', 'bird')


def make_yolo_dataset(root, names=NAMES, num_train=4, num_val=2, size=64, seed=0):
    """Ultralytics' ``images/{train,val}`` + ``labels/{train,val}`` layout and a data yaml whose
    ``names`` is a dict; every image holds one box of each class. Returns the yaml path."""
    rng = np.random.default_rng(seed)
    colours = [(0, 80, 255), (200, 200, 200), (40, 200, 40), (200, 40, 200)]
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, 'images', split))
        os.makedirs(osp.join(root, 'labels', split))
        for i in range(count):
            img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            rows = []
            for label in range(len(names)):
                w, h = (int(v) for v in rng.integers(size // 5, size // 3, 2))
                x, y = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
                cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), colours[label % 4], -1)
                rows.append(f'{label} {(x + w / 2) / size:.6f} {(y + h / 2) / size:.6f} '
                            f'{w / size:.6f} {h / size:.6f}')
            cv2.imwrite(osp.join(root, 'images', split, f'{i:03d}.jpg'), img)
            with open(osp.join(root, 'labels', split, f'{i:03d}.txt'), 'w') as f:
                f.write('\n'.join(rows) + '\n')
    yaml_path = osp.join(root, 'my.yaml')
    with open(yaml_path, 'w') as f:
        f.write('path: .\ntrain: images/train\nval: images/val\nnames:\n'
                + ''.join(f'  {i}: {n}\n' for i, n in enumerate(names)))
    return yaml_path


def meta(path):
    return torch.load(path, map_location='cpu', weights_only=True)['meta']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One epoch on the 3-class data, flags only (the module's tests share it)."""
    root = tmp_path_factory.mktemp('own')
    yaml_path = make_yolo_dataset(str(root / 'data'))
    work = str(root / 'work')
    proc = run_tool('tools/train.py', CONFIG, '--data', yaml_path, '--epochs', '1', '--img-size', '64',
                    '--batch', '2', '--workers', '0', '--work-dir', work)
    return dict(root=root, yaml=yaml_path, work=work, log=proc.out)


def test_one_command_trains_on_three_classes(trained):
    log, work = trained['log'], trained['work']
    for name in NAMES:  # the per-class table of the validation
        assert any(line.startswith(f'| {name} ') for line in log.splitlines()), name
    ckpt = osp.join(work, 'epoch_1.pth')
    m = meta(ckpt)
    assert tuple(m['dataset_meta']['classes']) == NAMES and len(m['dataset_meta']['palette']) == 3
    assert (m['epoch'], m['iter']) == (1, 2)
    # the dumped config says what ran
    dumped = open(osp.join(work, 'yolo11n_fasternet_fire.py')).read()
    for text in (trained['yaml'], 'max_epochs = 1', 'num_classes = 3', "'bird'"):
        assert text in dumped, text


def test_test_py_evaluates_on_the_yaml(trained):
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    proc = run_tool('tools/test.py', CONFIG, ckpt, '--data', trained['yaml'], '--work-dir',
                    str(trained['root'] / 'test'), '--cfg-options', 'test_dataloader.num_workers=0',
                    'test_dataloader.persistent_workers=False')
    assert 'image size from the checkpoint: 64x64' in proc.out
    assert 'coco/bbox_mAP' in proc.out and '| bird ' in proc.out
    # --eval-dir: curves, confusion matrices and metrics.json for the yaml's classes
    proc = run_tool('tools/test.py', CONFIG, ckpt, '--data', trained['yaml'], '--work-dir',
                    str(trained['root'] / 'test'), '--eval-dir', str(trained['root'] / 'eval'), '--cfg-options',
                    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False')
    from fasternet_yolo11.evaluation.reports import EVAL_FILES
    assert all((trained['root'] / 'eval' / f).is_file() for f in EVAL_FILES)
    metrics = json.load(open(trained['root'] / 'eval' / 'metrics.json'))
    assert set(NAMES) == set(metrics['per_class'])


def test_class_count_mismatch_is_one_line(trained, tmp_path):
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    two = make_yolo_dataset(str(tmp_path / 'two'), names=('fire', 'smoke'), num_train=1, num_val=1)
    proc = run_tool('tools/test.py', CONFIG, ckpt, '--data', two, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: checkpoint {ckpt} was trained on 3 classes (cat, dog, bird), {two} has 2 (fire, smoke)')
    proc = run_tool('tools/train.py', CONFIG, '--data', two, '--epochs', '2', '--resume', ckpt,
                    '--work-dir', str(tmp_path / 'w'), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: checkpoint {ckpt} was trained on 3 classes (cat, dog, bird), {two} has 2 (fire, smoke)')


def test_demo_runs_without_the_dataset(trained, tmp_path):
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    images = str(tmp_path / 'images')
    shutil.copytree(osp.join(trained['root'], 'data', 'images', 'val'), images)
    data = osp.join(trained['root'], 'data')
    hidden = data + '_moved'
    os.rename(data, hidden)  # no dataset on this machine
    try:
        out = str(tmp_path / 'out')
        proc = run_tool('demo/image_demo.py', CONFIG, ckpt, images, '--out-dir', out, '--score-thr', '0')
    finally:
        os.rename(hidden, data)
    assert 'class names from the checkpoint: cat, dog, bird' in proc.out
    results = json.load(open(osp.join(out, 'detections.json')))
    found = {d['class'] for dets in results.values() for d in dets}  # {image: [detection]}
    assert found and found <= set(NAMES)


def test_resume_with_the_same_flags_continues(trained, tmp_path):
    work = str(tmp_path / 'work')
    shutil.copytree(trained['work'], work)
    proc = run_tool('tools/train.py', CONFIG, '--data', trained['yaml'], '--epochs', '2', '--img-size', '64',
                    '--batch', '2', '--workers', '0', '--work-dir', work, '--resume')
    assert 'resumed epoch: 1, iter: 2' in proc.out
    m = meta(osp.join(work, 'epoch_2.pth'))
    assert (m['epoch'], m['iter']) == (2, 4) and tuple(m['dataset_meta']['classes']) == NAMES


def test_weights_start_a_run_on_other_classes(trained, tmp_path):
    """--weights of the 3-class checkpoint into a 2-class run: the table, the class branch
    re-initialised, the rest loaded by mmengine's load_from from the transfer file."""
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    two = make_yolo_dataset(str(tmp_path / 'two'), names=('fire', 'smoke'), num_train=2, num_val=1)
    work = str(tmp_path / 'w')
    proc = run_tool('tools/train.py', CONFIG, '--data', two, '--epochs', '1', '--img-size', '64', '--batch', '2',
                    '--workers', '0', '--work-dir', work, '--weights', ckpt)
    assert f'{ckpt}: detector' in proc.out and 'SPPF + C2PSA' in proc.out
    # what was re-initialised is said once, in the table, and nothing warns about it afterwards
    assert 'head class branch: 6 tensors re-initialised for 2 classes (the weights have 3)' in proc.out
    assert 'does not fit' not in proc.out and 'warning:' not in proc.out
    transferred = osp.join(work, 'transferred_weights.pth')
    assert f'Load checkpoint from {transferred}' in proc.out
    state = torch.load(transferred, map_location='cpu', weights_only=True)['state_dict']
    source = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert all(torch.equal(v, source[k]) for k, v in state.items())
    # 3 -> 2 classes at n: only the class convs of the three levels differ
    assert sorted(set(source) - set(state)) == sorted(
        f'bbox_head.head_module.cls_preds.{i}.2.{p}' for i in range(3) for p in ('weight', 'bias'))
