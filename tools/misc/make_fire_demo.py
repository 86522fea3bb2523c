"""Generate a synthetic demo dataset (Ultralytics layout) deterministically.

    python tools/misc/make_fire_demo.py [--out data/fire_demo] [--kind fire|clutter] [--train 400]
        [--val 100] [--size 320]

``--kind fire`` (the default) is the fire/smoke demo data; ``--kind clutter`` the harder four-class
set of small objects on cluttered backgrounds (projects/fasternet_yolo11/datasets/demo_data.py).
"""
import argparse

from fasternet_yolo11.datasets.demo_data import make_clutter_demo, make_fire_demo
from fasternet_yolo11.utils import cli

MAKERS = dict(fire=make_fire_demo, clutter=make_clutter_demo)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/fire_demo', help='dataset root to write')
    parser.add_argument('--kind', choices=sorted(MAKERS), default='fire', help='which scenes')
    parser.add_argument('--train', type=int, default=400, help='number of training images')
    parser.add_argument('--val', type=int, default=100, help='number of validation images')
    parser.add_argument('--size', type=int, default=320, help='longest image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    yaml_path = MAKERS[args.kind](args.out, args.train, args.val, args.size, args.seed)
    print(f'wrote {yaml_path}')


if __name__ == '__main__':
    cli.main(main)
