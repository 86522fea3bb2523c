"""Parameters and FLOPs of one or more configs.

    python tools/analysis_tools/get_flops.py configs/yolo11n_coco.py
    python tools/analysis_tools/get_flops.py --all   # YOLO11 and YOLO11-FasterNet n-x, one table

mmengine's counter counts one multiply-add as one "flop", so its number is MACs.  Ultralytics
reports GFLOPs = 2 x MACs at 640x640; both are printed so the numbers can be set against the
yaml comments (YOLO11n: 6.6 GFLOPs).  The model is measured in deploy form with BN still
separate, as Ultralytics counts it (``fasternet_yolo11.analysis.complexity``).
"""
import argparse
import os.path as osp

from mmengine.config import DictAction

from fasternet_yolo11.analysis.complexity import measure
from fasternet_yolo11.utils import cli
from fasternet_yolo11.utils.cli import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs')


def parse_args():
    parser = argparse.ArgumentParser(description='Count parameters and FLOPs of detectors')
    parser.add_argument('configs', nargs='*', help='one or more config files')
    parser.add_argument('--all', action='store_true',
                        help='one table for the ten COCO configs (YOLO11 and YOLO11-FasterNet, n-x)')
    parser.add_argument('--shape', type=int, nargs='+', default=[640, 640],
                        help='input size H [W] (default 640 640)')
    parser.add_argument('--show-arch', action='store_true', help='print the per-module tree')
    parser.add_argument('--not-show-table', action='store_true',
                        help='do not print the per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (applied to every config)')
    args = parser.parse_args()
    if args.all:
        args.configs += [osp.join(CONFIG_DIR, f'yolo11{s}{kind}_coco.py')
                         for kind in ('', '_fasternet') for s in 'nsmlx']
        args.not_show_table = True
    if not args.configs:
        parser.error('give one or more configs, or --all')
    return args


def main():
    args = parse_args()
    shape = (args.shape * 2)[:2] if len(args.shape) == 1 else args.shape[:2]
    rows = []
    for config in args.configs:
        res = measure(config, shape, args.cfg_options, not args.not_show_table, args.show_arch)
        if res['arch']:
            print(res['arch'])
        if res['table']:
            print(res['table'])
        rows.append((osp.splitext(osp.basename(config))[0], res))
    print(f'\ninput shape: {shape[0]}x{shape[1]}  (GFLOPs = 2 x MACs, Ultralytics convention)')
    print(f'| {"config":<32} | {"params":>12} | {"GMACs":>8} | {"GFLOPs":>8} |')
    print(f'|{"-" * 34}|{"-" * 14}|{"-" * 10}|{"-" * 10}|')
    for name, res in rows:
        print(f'| {name:<32} | {res["params"]:>12,} | {res["macs"] / 1e9:>8.2f} | '
              f'{res["gflops_ultralytics"]:>8.2f} |')


if __name__ == '__main__':
    cli.main(main)
