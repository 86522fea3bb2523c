"""Deterministic synthetic detection datasets in the Ultralytics layout (the embedded defaults).

Two sets, each from one function:

- ``make_fire_demo``: fire and smoke, the demo data of ``make demo`` and the comparison report;
- ``make_clutter_demo``: a harder set so that a design verdict is not tuned to one dataset: four
  classes (fire, smoke, person, car), 4-14 objects per image, most of them tiny (a third or more
  of the boxes are under 16 px once the image is resized to 256), on cluttered backgrounds
  (warm lamps, coloured shapes, lines, poles).

The fire set's layout (the clutter set writes ``clutter_demo.yaml`` and its own classes.txt):

    <root>/fire_demo.yaml            data yaml (path: ., train: train/images, val: val/images)
    <root>/classes.txt               fire, smoke
    <root>/{train,val}/images/*.jpg
    <root>/{train,val}/labels/*.txt  class cx cy w h (normalised)

Scenes are drawn with numpy/OpenCV from a seeded generator, so the same arguments give the same
bytes on every machine. They are meant to be learnable but not trivial: backgrounds vary (sky
gradients, textured ground, buildings, warm-coloured distractors such as lamps and red
walls), fires are flickering multi-tongue flames from ~8 px to half the image, smoke is a soft
grey plume (often above a fire, so boxes overlap), some images are empty, sizes and positions
vary and a little blur and sensor noise is added.
"""
import math
import os
import os.path as osp

import cv2
import numpy as np

CLASSES = ('fire', 'smoke')
YAML_NAME = 'fire_demo.yaml'
CLUTTER_CLASSES = ('fire', 'smoke', 'person', 'car')
CLUTTER_YAML_NAME = 'clutter_demo.yaml'


def _background(rng, h, w):
    kind = rng.integers(0, 3)
    top = rng.uniform(40, 230, 3)
    bottom = rng.uniform(20, 200, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    img = (top * (1 - t) + bottom * t).repeat(w, axis=1)
    if kind >= 1:  # ground with texture
        horizon = int(h * rng.uniform(0.4, 0.8))
        ground = rng.uniform(30, 140, 3)
        img[horizon:] = ground + rng.normal(0, 12, (h - horizon, w, 3))
    if kind == 2:  # buildings / trees as dark or coloured blocks
        for _ in range(rng.integers(2, 7)):
            bw, bh = rng.integers(w // 12, w // 3), rng.integers(h // 8, h // 2)
            x0 = rng.integers(0, w - bw)
            y1 = int(h * rng.uniform(0.5, 1.0))
            img[max(0, y1 - bh):y1, x0:x0 + bw] = rng.uniform(20, 160, 3)
    img += rng.normal(0, 4, img.shape)
    return img


def _distractors(rng, img):
    """Warm but non-fire things (lamps, red/orange rectangles) so colour alone is not enough."""
    h, w = img.shape[:2]
    for _ in range(rng.integers(0, 3)):
        colour = (rng.uniform(0, 60), rng.uniform(90, 200), rng.uniform(180, 255))  # BGR
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.circle(img, (cx, cy), int(rng.integers(3, max(4, w // 20))), colour, -1)
        else:
            sw, sh = int(rng.integers(6, w // 5)), int(rng.integers(6, h // 5))
            cv2.rectangle(img, (cx, cy), (cx + sw, cy + sh), colour, -1)


def _flame_mask(rng, size):
    """A flame silhouette: a round base with 2-5 tapering tongues. Returns float mask (s, s)."""
    s = size
    mask = np.zeros((s, s), np.float32)
    cv2.ellipse(mask, (s // 2, int(s * 0.75)), (max(1, int(s * 0.35)), max(1, int(s * 0.22))),
                0, 0, 360, 1.0, -1)
    for _ in range(rng.integers(2, 6)):
        bx = int(s * rng.uniform(0.25, 0.75))
        tip = (int(np.clip(bx + s * rng.uniform(-0.2, 0.2), 0, s - 1)), int(s * rng.uniform(0.0, 0.35)))
        half = max(1, int(s * rng.uniform(0.08, 0.2)))
        pts = np.array([[bx - half, int(s * 0.8)], [bx + half, int(s * 0.8)], tip], np.int32)
        cv2.fillPoly(mask, [pts], 1.0)
    k = max(1, s // 12) * 2 + 1
    return cv2.GaussianBlur(mask, (k, k), 0)


def _paste(img, mask, colour, x, y, alpha=1.0):
    """Alpha-blend a (s, s) mask of an RGB colour map at (x, y); returns the visible box."""
    h, w = img.shape[:2]
    s = mask.shape[0]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + s, w), min(y + s, h)
    if x1 <= x0 or y1 <= y0:
        return None
    m = mask[y0 - y:y1 - y, x0 - x:x1 - x, None] * alpha
    region = img[y0:y1, x0:x1]
    col = colour[y0 - y:y1 - y, x0 - x:x1 - x] if colour.ndim == 3 else colour
    img[y0:y1, x0:x1] = region * (1 - m) + col * m
    ys, xs = np.nonzero(mask[y0 - y:y1 - y, x0 - x:x1 - x] > 0.5)
    if len(xs) == 0:
        return None
    return [x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1]


def _draw_fire(rng, img, size, x, y):
    mask = _flame_mask(rng, size)
    yy = np.linspace(0, 1, size)[:, None]
    # Hot core near the base (yellow-white), red-orange tips; BGR.
    colour = np.stack([np.broadcast_to(v, (size, size)) for v in (
        30 + 120 * yy ** 3 * rng.uniform(0.5, 1.0),
        60 + 170 * yy * rng.uniform(0.7, 1.0),
        np.full_like(yy, rng.uniform(220, 255)))], -1)
    colour = colour + rng.normal(0, 10, colour.shape)
    return _paste(img, mask, colour, x, y)


def _draw_smoke(rng, img, size, x, y):
    mask = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(3, 7)):
        r = int(size * rng.uniform(0.15, 0.35))
        c = (int(size * rng.uniform(0.3, 0.7)), int(size * rng.uniform(0.3, 0.7)))
        cv2.circle(mask, c, max(1, r), 1.0, -1)
    k = max(1, size // 8) * 2 + 1
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    grey = rng.uniform(90, 210)
    colour = np.full((size, size, 3), grey) + rng.normal(0, 6, (size, size, 3))
    return _paste(img, mask, colour, x, y, alpha=rng.uniform(0.6, 0.9))


def render_scene(rng, height, width):
    """Returns (BGR uint8 image, list of (class_id, [x1, y1, x2, y2]))."""
    img = _background(rng, height, width)
    _distractors(rng, img)
    objects = []
    n_fire = 0 if rng.random() < 0.1 else int(rng.integers(1, 4))
    for _ in range(n_fire):
        # log-uniform sizes: many small fires, some large.
        size = int(math.exp(rng.uniform(math.log(10), math.log(min(height, width) * 0.55))))
        x = int(rng.integers(-size // 4, width - size * 3 // 4))
        y = int(rng.integers(0, height - size * 3 // 4))
        if rng.random() < 0.6:  # smoke rising from this fire, overlapping it
            s_size = int(size * rng.uniform(1.0, 1.8))
            box = _draw_smoke(rng, img, s_size, x + size // 2 - s_size // 2,
                              y - int(s_size * rng.uniform(0.5, 0.9)))
            if box is not None:
                objects.append((1, box))
        box = _draw_fire(rng, img, size, x, y)
        if box is not None:
            objects.append((0, box))
    if rng.random() < 0.25:  # smoke on its own
        size = int(rng.uniform(16, min(height, width) * 0.5))
        box = _draw_smoke(rng, img, size, int(rng.integers(0, width - size // 2)),
                          int(rng.integers(0, height - size // 2)))
        if box is not None:
            objects.append((1, box))
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    # Boxes smaller than 3 px are not annotatable; drop them as a labeller would.
    objects = [(c, b) for c, b in objects if b[2] - b[0] >= 3 and b[3] - b[1] >= 3]
    return img, objects


def _clutter(rng, img):
    """Many small non-objects: warm dots and blobs, coloured shapes, thin lines and poles."""
    h, w = img.shape[:2]
    for _ in range(rng.integers(8, 25)):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        if rng.random() < 0.3:  # warm, fire-coloured (BGR) so colour alone is not enough
            colour = (rng.uniform(0, 60), rng.uniform(90, 200), rng.uniform(180, 255))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        kind = rng.integers(0, 4)
        if kind == 0:
            cv2.circle(img, (x, y), int(rng.integers(1, 6)), colour, -1)
        elif kind == 1:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(2, 14)), y + int(rng.integers(2, 14))),
                          colour, -1)
        elif kind == 2:
            cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), colour,
                     int(rng.integers(1, 3)))
        else:  # a pole: tall and thin, like a standing person from afar
            cv2.rectangle(img, (x, y), (x + int(rng.integers(1, 4)), y + int(rng.integers(8, 40))),
                          colour, -1)


def _draw_person(rng, img, size, x, y):
    """A standing figure ``size`` px tall: head, torso, two legs. Returns its box."""
    h, w = img.shape[:2]
    colour = tuple(float(c) for c in rng.uniform(10, 240, 3))
    skin = (rng.uniform(60, 140), rng.uniform(100, 170), rng.uniform(150, 230))
    head = max(1, size // 8)
    bw = max(2, size // 4)
    cx = x + bw // 2
    cv2.circle(img, (cx, y + head), head, skin, -1)
    cv2.rectangle(img, (x, y + 2 * head), (x + bw, y + int(size * 0.6)), colour, -1)
    leg = tuple(float(c) for c in rng.uniform(10, 120, 3))
    lw = max(1, bw // 3)
    cv2.rectangle(img, (x, y + int(size * 0.6)), (x + lw, y + size), leg, -1)
    cv2.rectangle(img, (x + bw - lw, y + int(size * 0.6)), (x + bw, y + size), leg, -1)
    box = [max(x, 0), max(y, 0), min(x + bw + 1, w), min(y + size + 1, h)]
    return box if box[2] > box[0] and box[3] > box[1] else None


def _draw_car(rng, img, size, x, y):
    """A side-view car ``size`` px long: body, cabin with window, two wheels. Returns its box."""
    h, w = img.shape[:2]
    colour = tuple(float(c) for c in rng.uniform(20, 250, 3))
    bh = max(2, size // 4)
    top = y + bh // 2
    cv2.rectangle(img, (x, top), (x + size, top + bh), colour, -1)
    cv2.rectangle(img, (x + size // 4, y), (x + size * 3 // 4, top), colour, -1)
    cv2.rectangle(img, (x + size // 3, y + max(1, bh // 6)), (x + size * 2 // 3, top),
                  (rng.uniform(150, 230),) * 3, -1)
    r = max(1, size // 9)
    for wx in (x + size // 5, x + size * 4 // 5):
        cv2.circle(img, (wx, top + bh), r, (20.0, 20.0, 20.0), -1)
    box = [max(x, 0), max(y, 0), min(x + size + 1, w), min(top + bh + r + 1, h)]
    return box if box[2] > box[0] and box[3] > box[1] else None


def render_clutter_scene(rng, height, width):
    """The clutter set's scene. Returns (BGR uint8 image, list of (class_id, [x1, y1, x2, y2]))."""
    img = _background(rng, height, width)
    _distractors(rng, img)
    _clutter(rng, img)
    side = min(height, width)
    objects = []
    for _ in range(rng.integers(4, 15)):
        cls = int(rng.integers(0, len(CLUTTER_CLASSES)))
        # log-uniform from 6 px to 0.4 of the image: most objects are small, few are large.
        size = int(math.exp(rng.uniform(math.log(6), math.log(side * 0.4))))
        x = int(rng.integers(0, max(1, width - size)))
        y = int(rng.integers(0, max(1, height - size)))
        draw = (_draw_fire, _draw_smoke, _draw_person, _draw_car)[cls]
        box = draw(rng, img, max(size, 8) if cls == 1 else size, x, y)
        if box is not None:
            objects.append((cls, box))
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    objects = [(c, b) for c, b in objects if b[2] - b[0] >= 3 and b[3] - b[1] >= 3]
    return img, objects


def _write_dataset(root, render, classes, yaml_name, title, num_train, num_val, img_size, seed):
    """Render ``num_train``/``num_val`` scenes under ``root``; returns the data yaml's path."""
    sizes = [(img_size, img_size), (img_size * 3 // 4, img_size), (img_size, img_size * 3 // 4)]
    for split, count, split_seed in (('train', num_train, seed), ('val', num_val, seed + 1)):
        rng = np.random.default_rng(split_seed)
        img_dir, lbl_dir = osp.join(root, split, 'images'), osp.join(root, split, 'labels')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(lbl_dir, exist_ok=True)
        for i in range(count):
            h, w = sizes[int(rng.integers(0, len(sizes)))]
            img, objects = render(rng, h, w)
            name = f'{split}_{i:05d}'
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            with open(osp.join(lbl_dir, name + '.txt'), 'w') as f:
                for cls, (x1, y1, x2, y2) in objects:
                    f.write(f'{cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} '
                            f'{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n')
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    yaml_path = osp.join(root, yaml_name)
    with open(yaml_path, 'w') as f:
        f.write(f'# {title} (projects/fasternet_yolo11/datasets/demo_data.py)\n'
                'path: .\ntrain: train/images\nval: val/images\n'
                f'names: [{", ".join(classes)}]\n')
    return yaml_path


def make_fire_demo(root, num_train=400, num_val=100, img_size=320, seed=0):
    """Write the fire/smoke demo dataset under ``root`` and return the path of its data yaml."""
    return _write_dataset(root, render_scene, CLASSES, YAML_NAME, 'Synthetic fire/smoke demo data',
                          num_train, num_val, img_size, seed)


def make_clutter_demo(root, num_train=400, num_val=100, img_size=320, seed=0):
    """Write the harder four-class clutter dataset under ``root``; returns its data yaml's path."""
    return _write_dataset(root, render_clutter_scene, CLUTTER_CLASSES, CLUTTER_YAML_NAME,
                          'Synthetic four-class clutter data, mostly small objects',
                          num_train, num_val, img_size, seed)
