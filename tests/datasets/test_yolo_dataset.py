"""YOLOFormatDataset: the data yaml, label lookup, label hygiene, and the demo generator."""
import io
import logging
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from _tools import REPO
from mmengine.logging import MMLogger

from fasternet_yolo11.datasets.demo_data import make_fire_demo
from fasternet_yolo11.datasets.yolo_dataset import (
    DataConfigError,
    YOLOFormatDataset,
    label_path_for,
    load_data_config,
)


@pytest.fixture
def mm_log():
    """What the dataset reports through mmengine's current logger."""
    logger = MMLogger.get_current_instance()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def _image(path, size=(32, 48)):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((*size, 3), 100, np.uint8))


def _label(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def _dataset(root, names='[fire, smoke]', **kwargs):
    yaml_path = osp.join(root, 'data.yaml')
    with open(yaml_path, 'w') as f:
        f.write(f'path: .\ntrain: train/images\nval: train/images\nnames: {names}\n')
    return YOLOFormatDataset(data_yaml=yaml_path, split='train', pipeline=[], **kwargs)


def test_label_path_replaces_the_last_images_folder():
    assert label_path_for('/d/images/x/images/train/a.b.jpg') == '/d/images/x/labels/train/a.b.txt'


def test_boxes_are_converted_to_pixels(tmp_path):
    root = str(tmp_path)
    _image(f'{root}/train/images/a.jpg', size=(40, 80))  # h=40, w=80
    _label(f'{root}/train/labels/a.txt', '1 0.5 0.5 0.5 0.25\n')
    ds = _dataset(root)
    info = ds.get_data_info(0)
    assert (info['width'], info['height']) == (80, 40)
    assert info['instances'][0]['bbox'] == pytest.approx([20, 15, 60, 25])
    assert info['instances'][0]['bbox_label'] == 1
    assert ds.metainfo['classes'] == ('fire', 'smoke')


BAD_LABELS = {
    'four_columns': ('0 0.5 0.5 0.2\n', '4 columns'),
    'seven_columns': ('0 0.5 0.5 0.2 0.2 0.1 0.1\n', '7 columns'),
    'outside': ('0 0.5 0.5 1.2 0.2\n', 'outside [0, 1]'),
    'negative': ('0 -0.1 0.5 0.2 0.2\n', 'outside [0, 1]'),
    'zero_size': ('0 0.5 0.5 0.0 0.2\n', 'zero-size'),
    'class_too_big': ('2 0.5 0.5 0.2 0.2\n', 'class id 2'),
    'not_numeric': ('fire 0.5 0.5 0.2 0.2\n', 'not numeric'),
}


def test_bad_label_rows_skip_their_image_and_are_reported(tmp_path, mm_log):
    root = str(tmp_path)
    for name, (text, _) in BAD_LABELS.items():
        _image(f'{root}/train/images/{name}.jpg')
        _label(f'{root}/train/labels/{name}.txt', '0 0.5 0.5 0.2 0.2\n' + text)
    _image(f'{root}/train/images/good.jpg')
    _label(f'{root}/train/labels/good.txt', '0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n')  # duplicate
    _image(f'{root}/train/images/empty.jpg')
    _label(f'{root}/train/labels/empty.txt', '')  # 0-byte label: background
    _image(f'{root}/train/images/nolabel.jpg')  # no label file: background
    ds = _dataset(root)
    names = sorted(osp.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds)))
    assert names == ['empty.jpg', 'good.jpg', 'nolabel.jpg']
    good = [ds.get_data_info(i) for i in range(len(ds)) if 'good' in ds.get_data_info(i)['img_path']]
    assert len(good[0]['instances']) == 1  # duplicate removed
    log = mm_log.getvalue()
    for name, (_, reason) in BAD_LABELS.items():
        line = [ln for ln in log.splitlines() if f'{name}.txt' in ln]
        assert len(line) == 1 and reason in line[0], (name, line)
    assert 'duplicate rows removed' in log
    assert ds.load_stats['skipped'] == len(BAD_LABELS)
    assert ds.load_stats['backgrounds'] == 2


def test_bad_images_are_skipped(tmp_path, mm_log):
    root = str(tmp_path)
    _image(f'{root}/train/images/ok.jpg')
    _image(f'{root}/train/images/trunc.jpg')
    data = open(f'{root}/train/images/trunc.jpg', 'rb').read()
    open(f'{root}/train/images/trunc.jpg', 'wb').write(data[:len(data) // 2])
    open(f'{root}/train/images/zero.jpg', 'wb').close()
    open(f'{root}/train/images/text.png', 'w').write('not an image')
    open(f'{root}/train/images/notes.md', 'w').write('ignored: not an image extension')
    _image(f'{root}/train/images/tiny.png', size=(5, 5))
    ds = _dataset(root)
    assert len(ds) == 1
    log = mm_log.getvalue()
    for name in ('trunc.jpg', 'zero.jpg', 'text.png', 'tiny.png'):
        assert sum(name in ln for ln in log.splitlines() ) == 1, name
    assert ds.load_stats['ignored_files'] == 1


@pytest.mark.parametrize('yaml_text, message', [
    ('path: .\nval: v\nnames: [a]\n', "'train' is missing"),
    ('path: .\ntrain: t\nnames: [a]\n', "'val' is missing"),
    ('path: .\ntrain: t\nval: v\n', "'names' is missing"),
    ('path: .\ntrain: t\nval: v\nnames: [a]\nnc: 2\n', 'nc=2'),
])
def test_data_yaml_errors_name_the_key(tmp_path, yaml_text, message):
    path = tmp_path / 'd.yaml'
    path.write_text(yaml_text)
    with pytest.raises(DataConfigError, match=message) as err:
        load_data_config(str(path))
    assert str(path) in str(err.value) and '\n' not in str(err.value)


def test_names_from_dict_and_classes_txt(tmp_path):
    (tmp_path / 'd.yaml').write_text("path: .\ntrain: t\nval: v\nnames: {0: a, 1: b}\n")
    assert load_data_config(str(tmp_path / 'd.yaml'))['names'] == ['a', 'b']
    (tmp_path / 'e.yaml').write_text('path: .\ntrain: t\nval: v\n')
    (tmp_path / 'classes.txt').write_text('fire\nsmoke\n')
    assert load_data_config(str(tmp_path / 'e.yaml'))['names'] == ['fire', 'smoke']
    (tmp_path / 'classes.txt').write_text('fire\n\nsmoke\n')
    with pytest.raises(DataConfigError, match='line 2 is blank'):
        load_data_config(str(tmp_path / 'e.yaml'))
    (tmp_path / 'classes.txt').unlink()
    with pytest.raises(DataConfigError, match='classes.txt'):
        load_data_config(str(tmp_path / 'e.yaml'))


def test_txt_lists_and_lists_of_sources(tmp_path):
    root = str(tmp_path)
    for split in ('a', 'b'):
        _image(f'{root}/{split}/images/{split}1.jpg')
    with open(f'{root}/list.txt', 'w') as f:
        f.write('./b/images/b1.jpg\n')
    with open(f'{root}/d.yaml', 'w') as f:
        f.write('path: .\ntrain: [a/images, list.txt]\nval: list.txt\nnames: [x]\n')
    ds = YOLOFormatDataset(data_yaml=f'{root}/d.yaml', split='train', pipeline=[])
    assert len(ds) == 2


def test_paths_with_spaces_and_unicode(tmp_path):
    root = str(tmp_path / 'mes données' / 'feu')
    _image(f'{root}/train/images/é 1.jpg')
    _label(f'{root}/train/labels/é 1.txt', '0 0.5 0.5 0.5 0.5\n')
    ds = _dataset(root)
    assert len(ds.get_data_info(0)['instances']) == 1


def test_demo_generator_is_deterministic_and_loads(tmp_path):
    y1 = make_fire_demo(str(tmp_path / 'a'), num_train=6, num_val=3, img_size=96, seed=5)
    make_fire_demo(str(tmp_path / 'b'), num_train=6, num_val=3, img_size=96, seed=5)
    for split in ('train', 'val'):
        for name in sorted(os.listdir(tmp_path / 'a' / split / 'labels')):
            assert (tmp_path / 'a' / split / 'labels' / name).read_text() == \
                (tmp_path / 'b' / split / 'labels' / name).read_text()
    ds = YOLOFormatDataset(data_yaml=y1, split='train', pipeline=[])
    assert len(ds) == 6 and ds.load_stats['skipped'] == 0 and ds.load_stats['boxes'] > 0


def test_yolo2coco_matches_the_dataset(tmp_path):
    import json
    import subprocess
    import sys
    yaml_path = make_fire_demo(str(tmp_path / 'd'), num_train=2, num_val=4, img_size=96, seed=1)
    out = tmp_path / 'val.json'
    tool = osp.join(REPO, 'tools',
                    'dataset_converters', 'yolo2coco.py')
    subprocess.run([sys.executable, tool, yaml_path, '--split', 'val', '--out', str(out)],
                   check=True, capture_output=True)
    coco = json.loads(out.read_text())
    ds = YOLOFormatDataset(data_yaml=yaml_path, split='val', pipeline=[])
    assert len(coco['images']) == len(ds) == 4
    assert [c['name'] for c in coco['categories']] == ['fire', 'smoke']
    first = ds.get_data_info(0)
    anns = [a for a in coco['annotations'] if a['image_id'] == first['img_id']]
    assert len(anns) == len(first['instances'])
    for ann, inst in zip(anns, first['instances']):
        x1, y1, x2, y2 = inst['bbox']
        assert ann['bbox'] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
        assert ann['category_id'] == inst['bbox_label']


def test_batch_shape_policy_and_mosaic_inputs(tmp_path):
    from mmengine.registry import init_default_scope
    init_default_scope('mmyolo')
    yaml_path = make_fire_demo(str(tmp_path / 'd'), num_train=4, num_val=4, img_size=96, seed=2)
    val = YOLOFormatDataset(
        data_yaml=yaml_path, split='val', test_mode=True, pipeline=[],
        batch_shapes_cfg=dict(type='BatchShapePolicy', batch_size=2, img_size=64,
                              size_divisor=32, extra_pad_ratio=0.5))
    assert all('batch_shape' in val.get_data_info(i) for i in range(len(val)))
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
    train = YOLOFormatDataset(data_yaml=yaml_path, split='train', pipeline=[
        *load, dict(type='Mosaic', img_scale=(64, 64), pre_transform=load)])
    out = train[0]  # Mosaic pulls three more images through `dataset`, as on COCO
    assert out['img'].shape == (128, 128, 3)
    assert len(out['gt_bboxes']) == len(out['gt_bboxes_labels'])


def test_lazy_metainfo_needs_no_data(tmp_path):
    # what mmdet's init_detector does for inference on a machine without the dataset
    ds = YOLOFormatDataset(data_yaml=str(tmp_path / 'absent.yaml'), split='val', pipeline=[],
                           lazy_init=True, metainfo=dict(classes=('fire', 'smoke')))
    assert ds.metainfo['classes'] == ('fire', 'smoke')
    with pytest.raises(DataConfigError, match='absent.yaml'):
        ds.full_init()
