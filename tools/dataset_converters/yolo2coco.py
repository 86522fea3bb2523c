"""Convert a YOLO-format (Ultralytics layout) dataset split to a COCO json.

    python tools/dataset_converters/yolo2coco.py DATA_YAML [--split val] [--out FILE]

Training and evaluation here read YOLO-format data directly (YOLOFormatDataset); this is for
users who want a COCO json for other tools. It applies the same label checks as training (bad
rows skip their image, duplicates are removed), so the json holds exactly what is trained on.
Category ids start at 0 in the order of `names`; image ids follow the sorted image paths;
file_name is the path relative to the dataset root.
"""
import argparse
import json
import os
import os.path as osp

from fasternet_yolo11.datasets.yolo_dataset import YOLOFormatDataset  # noqa: E402
from fasternet_yolo11.utils import cli  # noqa: E402


def to_coco(dataset):
    root = dataset.data_cfg['root']
    images, annotations = [], []
    for info in dataset.load_data_list():
        images.append(dict(id=info['img_id'], file_name=osp.relpath(info['img_path'], root),
                           width=info['width'], height=info['height']))
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            annotations.append(dict(id=len(annotations) + 1, image_id=info['img_id'],
                                    category_id=inst['bbox_label'],
                                    bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                                    iscrowd=0))
    categories = [dict(id=i, name=n) for i, n in enumerate(dataset.metainfo['classes'])]
    return dict(images=images, annotations=annotations, categories=categories)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_yaml', help='Ultralytics data yaml (path/train/val/names)')
    parser.add_argument('--split', default='val', choices=['train', 'val', 'test'])
    parser.add_argument('--out', help='output json (default: <root>/annotations/<split>.json)')
    args = parser.parse_args()
    dataset = YOLOFormatDataset(data_yaml=args.data_yaml, split=args.split, pipeline=[], lazy_init=True)
    coco = to_coco(dataset)
    out = args.out or osp.join(dataset.data_cfg['root'], 'annotations', f'{args.split}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(coco, f)
    print(f'wrote {out}: {len(coco["images"])} images, {len(coco["annotations"])} boxes, '
          f'{len(coco["categories"])} categories')


if __name__ == '__main__':
    cli.main(main)
