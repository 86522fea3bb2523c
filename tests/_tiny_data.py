"""Tiny generated datasets for tests: a few coloured rectangles on noise, COCO json layout."""
import json
import os
import os.path as osp

import cv2
import numpy as np


def make_tiny_coco(root, num_images=4, size=64, classes=('fire', 'smoke'), seed=0):
    """Write ``root/images/*.jpg`` and ``root/annotations/{train,val}.json``; returns root."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        img = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
        for _ in range(rng.integers(1, 3)):
            w, h = rng.integers(size // 6, size // 2, 2)
            x, y = rng.integers(0, size - w), rng.integers(0, size - h)
            label = int(rng.integers(0, len(classes)))
            colour = (0, 80, 255) if label == 0 else (200, 200, 200)
            cv2.rectangle(img, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), colour, -1)
            annotations.append(dict(id=len(annotations) + 1, image_id=i, category_id=label,
                                    bbox=[int(x), int(y), int(w), int(h)], area=int(w * h), iscrowd=0))
        name = f'{i:04d}.jpg'
        cv2.imwrite(osp.join(root, 'images', name), img)
        images.append(dict(id=i, file_name=name, width=size, height=size))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=k, name=n) for k, n in enumerate(classes)])
    for split in ('train', 'val'):
        with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(coco, f)
    return root
