"""Ultralytics-layout (YOLO-format) detection data, read in place with no conversion step.

A data yaml as Ultralytics writes it (``coco128.yaml`` style)::

    path: ../datasets/fire     # dataset root; relative paths are relative to this yaml's folder
    train: train/images        # a folder, a .txt list of image paths, or a list of those
    val: val/images
    names: [fire, smoke]       # or {0: fire, 1: smoke}; optional `nc` must agree;
                               # without names, classes.txt in the root is read (one per line)

Each image ``.../images/<sub>/x.jpg`` has its labels in ``.../labels/<sub>/x.txt`` (the LAST
``/images/`` of the path becomes ``/labels/``), one row per object: ``class cx cy w h``,
normalised to [0, 1]. Rows of a class and >= 4 x y points are polygons, boxed by their extents.

Label hygiene follows Ultralytics: a missing or empty label file is a background image; an image
whose labels hold a bad row (wrong number of columns, a value that is not a number, coordinates
outside [0, 1], a class id outside the class list, zero width or height) and an unreadable,
truncated or tiny (< 10 px) image are skipped whole, since dropping just the row would teach the
model that the object is background; duplicate rows are removed. Each problem is reported once
with the file (and line), and one summary line is logged when the dataset loads.

``data_list`` items are what mmdet/mmyolo transforms expect (``img_path``, ``width``,
``height``, ``instances`` with pixel ``bbox`` [x1, y1, x2, y2], ``bbox_label``, ``ignore_flag``),
so Mosaic, BatchShapePolicy and mmdet's ``CocoMetric`` with ``ann_file=None`` (ground truth built
from the packed ``instances``) work unchanged.
"""
import logging
import os
import os.path as osp
from collections import Counter

import numpy as np
import yaml
from mmengine.logging import print_log
from mmyolo.datasets.yolov5_coco import BatchShapePolicyDataset
from mmyolo.registry import DATASETS
from PIL import Image

from ..errors import ConfigError

IMG_EXTENSIONS = ('.bmp', '.dng', '.jpeg', '.jpg', '.mpo', '.png', '.tif', '.tiff', '.webp')
MIN_IMAGE_SIZE = 10  # px per side, as Ultralytics


class DataConfigError(ConfigError):
    """The data yaml or classes file is unusable (message names the file and key)."""


def load_data_config(data_yaml):
    """Read and check a data yaml: returns dict(root, names, train, val[, test]).

    Split entries are resolved to lists of absolute paths (folders or .txt lists).
    """
    if not osp.isfile(data_yaml):
        raise DataConfigError(f'data yaml not found: {data_yaml!r}')
    with open(data_yaml, encoding='utf-8') as f:
        try:
            cfg = yaml.safe_load(f) or {}
        except yaml.YAMLError as err:
            raise DataConfigError(f'{data_yaml}: not valid YAML ({str(err).splitlines()[0]})')
    if not isinstance(cfg, dict):
        raise DataConfigError(f'{data_yaml}: expected a mapping with path/train/val/names')
    if 'validation' in cfg and 'val' not in cfg:
        cfg['val'] = cfg.pop('validation')
    yaml_dir = osp.dirname(osp.abspath(data_yaml))
    root = cfg.get('path') or '.'
    root = osp.normpath(osp.join(yaml_dir, osp.expanduser(str(root))))
    for key in ('train', 'val'):
        if not cfg.get(key):
            raise DataConfigError(f'{data_yaml}: key {key!r} is missing (a folder, a .txt list '
                                  'of images, or a list of those, relative to `path`)')
    names = _read_names(cfg, data_yaml, root)
    out = dict(root=root, names=names)
    for key in ('train', 'val', 'test'):
        if cfg.get(key):
            entries = cfg[key] if isinstance(cfg[key], (list, tuple)) else [cfg[key]]
            out[key] = [osp.normpath(osp.join(root, osp.expanduser(str(e)))) for e in entries]
    return out


def _read_names(cfg, data_yaml, root):
    names = cfg.get('names')
    if isinstance(names, dict):
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise DataConfigError(f'{data_yaml}: `names` keys must be 0..{len(keys) - 1}, got {keys}')
        names = [names[k] for k in keys]
    elif names is None:
        classes_txt = osp.join(root, 'classes.txt')
        if osp.isfile(classes_txt):
            with open(classes_txt, encoding='utf-8') as f:
                lines = [line.strip() for line in f.read().splitlines()]
            while lines and not lines[-1]:
                lines.pop()  # a trailing newline is not a class
            if any(not line for line in lines):
                raise DataConfigError(f'{classes_txt}: line {lines.index("") + 1} is blank; '
                                      'one class name per line')
            names = lines
        elif cfg.get('nc'):
            names = [f'class_{i}' for i in range(int(cfg['nc']))]
        else:
            raise DataConfigError(f'{data_yaml}: key \'names\' is missing and there is no '
                                  f'{classes_txt} (give the class names as a list or dict)')
    names = [str(n) for n in names]
    if not names:
        raise DataConfigError(f'{data_yaml}: `names` is empty')
    if cfg.get('nc') is not None and int(cfg['nc']) != len(names):
        raise DataConfigError(f'{data_yaml}: nc={cfg["nc"]} but {len(names)} names are given')
    return names


def label_path_for(img_path):
    """``.../images/a/b.jpg`` -> ``.../labels/a/b.txt`` (the last ``/images/`` is replaced)."""
    sa, sb = f'{os.sep}images{os.sep}', f'{os.sep}labels{os.sep}'
    head, sep, tail = img_path.rpartition(sa)
    stem = osp.splitext(tail if sep else img_path)[0]
    return (head + sb + stem if sep else stem) + '.txt'


def list_images(sources):
    """Image paths from folders (recursive) and .txt lists; non-image files are ignored."""
    files, ignored = [], 0
    for src in sources:
        if osp.isdir(src):
            for dirpath, _, filenames in os.walk(src):
                for name in sorted(filenames):
                    if name.lower().endswith(IMG_EXTENSIONS):
                        files.append(osp.join(dirpath, name))
                    else:
                        ignored += 1
        elif osp.isfile(src) and src.endswith('.txt'):
            parent = osp.dirname(src)
            with open(src, encoding='utf-8') as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    # Ultralytics resolves './x.jpg' entries relative to the list's folder.
                    path = osp.normpath(line if osp.isabs(line) else osp.join(parent, line))
                    if path.lower().endswith(IMG_EXTENSIONS):
                        files.append(path)
                    else:
                        ignored += 1
        else:
            raise DataConfigError(f'image source not found: {src!r} (a folder or a .txt list)')
    return sorted(set(files)), ignored


def check_image(path):
    """Returns (width, height) or raises ValueError with the reason it is unusable."""
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            width, height = im.size
            fmt = (im.format or '').upper()
    except Exception as err:  # PIL raises many kinds for broken files
        raise ValueError(f'unreadable image ({type(err).__name__}: {err})') from None
    if width < MIN_IMAGE_SIZE or height < MIN_IMAGE_SIZE:
        raise ValueError(f'image is {width}x{height}, smaller than {MIN_IMAGE_SIZE} px')
    if fmt == 'JPEG':
        with open(path, 'rb') as f:
            f.seek(-2, os.SEEK_END)
            if f.read() != b'\xff\xd9':
                raise ValueError('truncated JPEG (no end-of-image marker)')
    return width, height


def parse_label_file(path, num_classes):
    """Returns (rows (N, 5) float array [cls, cx, cy, w, h], duplicates removed, problem or None).

    A missing or empty file gives zero rows. The first bad row makes ``problem`` a message.
    """
    if not osp.isfile(path):
        return np.zeros((0, 5)), 0, None
    rows = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for lineno, line in enumerate(f, 1):
            values = line.split()
            if not values:
                continue
            where = f'{path}:{lineno}'
            try:
                numbers = [float(v) for v in values]
            except ValueError:
                return None, 0, f'{where}: not numeric: {line.strip()!r}'
            # Polygon rows (class x1 y1 x2 y2 ...) are boxed by their extents. Ultralytics takes
            # any row over 6 values as one; we ask for >= 4 points, because a 7-value row in a box
            # dataset is far more often a malformed box row than a triangle.
            if len(numbers) >= 9 and len(numbers) % 2 == 1:
                xy = np.array(numbers[1:]).reshape(-1, 2)
                lo, hi = xy.min(0), xy.max(0)
                numbers = [numbers[0], *((lo + hi) / 2), *(hi - lo)]
            elif len(numbers) != 5:
                return None, 0, (f'{where}: {len(numbers)} columns, expected 5 '
                                 '(class cx cy w h) or a polygon of >= 4 points')
            cls, cx, cy, w, h = numbers
            if cls != int(cls) or not 0 <= cls < num_classes:
                return None, 0, (f'{where}: class id {values[0]} is not in 0..{num_classes - 1} '
                                 '(check names/classes.txt)')
            if min(cx, cy, w, h) < 0 or max(cx, cy, w, h) > 1:
                return None, 0, f'{where}: coordinates outside [0, 1]: {line.strip()!r}'
            if w <= 0 or h <= 0:
                return None, 0, f'{where}: zero-size box: {line.strip()!r}'
            rows.append(numbers)
    if not rows:
        return np.zeros((0, 5)), 0, None
    rows = np.array(rows, dtype=np.float64)
    unique, index = np.unique(rows, axis=0, return_index=True)
    return rows[np.sort(index)], len(rows) - len(unique), None


@DATASETS.register_module()
class YOLOFormatDataset(BatchShapePolicyDataset):
    """A split of an Ultralytics-layout dataset, described by its data yaml.

    Args:
        data_yaml (str): the data yaml (see the module docstring).
        split (str): 'train', 'val' or 'test'.
        metainfo (dict, optional): defaults to ``dict(classes=names from the yaml)``; if given,
            its classes must equal the yaml's.
        batch_shapes_cfg (dict, optional): mmyolo's BatchShapePolicy for rectangular val.
        **kwargs: the usual mmengine dataset arguments (pipeline, test_mode, ...).
    """

    METAINFO = dict(classes=(), palette=None)

    def __init__(self, data_yaml, split='train', metainfo=None, **kwargs):
        self.data_yaml = data_yaml
        self.split = split
        self.data_cfg = None
        if kwargs.get('lazy_init') and metainfo and metainfo.get('classes'):
            # Inference tools (mmdet's init_detector) build the dataset lazily for its metainfo
            # only: the config's classes are enough and the data need not be on this machine.
            # The yaml is read and checked against them when the data is loaded.
            root = ''
        else:
            self._read_data_cfg(metainfo)
            metainfo = dict(metainfo or {}, classes=tuple(self.data_cfg['names']))
            root = self.data_cfg['root']
        super().__init__(metainfo=metainfo, ann_file='', data_root=root, **kwargs)

    def _read_data_cfg(self, metainfo):
        self.data_cfg = load_data_config(self.data_yaml)
        if self.split not in self.data_cfg:
            raise DataConfigError(f'{self.data_yaml}: no {self.split!r} split')
        names = tuple(self.data_cfg['names'])
        if metainfo and metainfo.get('classes') and tuple(metainfo['classes']) != names:
            raise DataConfigError(f'{self.data_yaml}: names {names} differ from the config\'s '
                                  f'metainfo classes {tuple(metainfo["classes"])}')

    def load_data_list(self):
        if self.data_cfg is None:
            self._read_data_cfg(self.metainfo)
        num_classes = len(self.metainfo['classes'])
        images, ignored_files = list_images(self.data_cfg[self.split])
        stats = Counter(ignored_files=ignored_files)
        data_list = []
        for img_path in images:
            try:
                width, height = check_image(img_path)
            except ValueError as err:
                self._report(f'{img_path}: {err}; skipped')
                stats['bad_images'] += 1
                continue
            label_file = label_path_for(img_path)
            rows, duplicates, problem = parse_label_file(label_file, num_classes)
            if problem:
                self._report(f'{problem}; image {img_path} skipped')
                stats['bad_labels'] += 1
                continue
            if duplicates:
                self._report(f'{label_file}: {duplicates} duplicate rows removed')
                stats['duplicates'] += duplicates
            instances = []
            for cls, cx, cy, w, h in rows:
                x1, y1 = (cx - w / 2) * width, (cy - h / 2) * height
                x2, y2 = (cx + w / 2) * width, (cy + h / 2) * height
                instances.append(dict(bbox=[max(x1, 0.), max(y1, 0.), min(x2, width),
                                            min(y2, height)],
                                      bbox_label=int(cls), ignore_flag=0))
            stats['boxes'] += len(instances)
            stats['backgrounds'] += not instances
            data_list.append(dict(img_path=img_path, img_id=len(data_list), width=width,
                                  height=height, instances=instances, seg_map_path=None))
        if not data_list:
            raise DataConfigError(f'{self.data_yaml}: split {self.split!r} has no usable image '
                                  f'(sources: {self.data_cfg[self.split]})')
        skipped = stats['bad_images'] + stats['bad_labels']
        print_log(f'YOLOFormatDataset {self.split} ({self.data_yaml}): {len(data_list)} images, '
                  f'{stats["boxes"]} boxes, {stats["backgrounds"]} backgrounds, {skipped} skipped '
                  f'({stats["bad_images"]} bad images, {stats["bad_labels"]} bad label files), '
                  f'{stats["duplicates"]} duplicate rows removed, {ignored_files} non-image files '
                  'ignored', logger='current')
        self.load_stats = dict(stats, images=len(data_list), skipped=skipped)
        return data_list

    def _report(self, message):
        print_log(message, logger='current', level=logging.WARNING)

    def filter_data(self):
        # Backgrounds stay (Ultralytics trains on them); nothing else to filter here.
        return self.data_list
