"""The clutter set (demo_data.make_clutter_demo): as hard as its docstring says, and repeatable."""
import collections
import os

from fasternet_yolo11.datasets import YOLOFormatDataset
from fasternet_yolo11.datasets.demo_data import CLUTTER_CLASSES, make_clutter_demo


def test_clutter_set_has_four_classes_and_mostly_small_boxes(tmp_path):
    yaml_path = make_clutter_demo(str(tmp_path / 'c'), num_train=40, num_val=10, seed=3)
    ds = YOLOFormatDataset(data_yaml=yaml_path, split='train', pipeline=[])
    assert len(ds) == 40 and ds.load_stats['skipped'] == 0
    per_class, small, total = collections.Counter(), 0, 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        scale = 256 / max(info['height'], info['width'])  # the demo recipe's input size
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            per_class[inst['bbox_label']] += 1
            small += max(x2 - x1, y2 - y1) * scale < 16
            total += 1
    assert sorted(per_class) == list(range(len(CLUTTER_CLASSES))) and len(CLUTTER_CLASSES) >= 4
    assert min(per_class.values()) >= 0.1 * total  # no class is a rarity
    assert total / len(ds) >= 4  # several objects per image
    assert small / total >= 0.3, f'{small}/{total} boxes under 16 px at 256'


def test_clutter_set_is_deterministic(tmp_path):
    for name in ('a', 'b'):
        make_clutter_demo(str(tmp_path / name), num_train=3, num_val=2, img_size=128, seed=7)
    for split in ('train', 'val'):
        names = sorted(os.listdir(tmp_path / 'a' / split / 'labels'))
        assert names and names == sorted(os.listdir(tmp_path / 'b' / split / 'labels'))
        for n in names:
            assert (tmp_path / 'a' / split / 'labels' / n).read_text() == \
                (tmp_path / 'b' / split / 'labels' / n).read_text()
