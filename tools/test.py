"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--show-dir DIR] ...``

The same arguments as mmyolo's tools/test.py; prints COCO mAP through the config's evaluator.
``--data YAML`` evaluates on that YOLO-format dataset (its val split; class names from the yaml,
which must have the checkpoint's class count, else one line names both); ``--img-size S`` sets
the test size, which otherwise is the one the checkpoint was trained at
(``fasternet_yolo11/config/run_settings.py``). An exported model (``.onnx``, OpenVINO ``.xml``) is
evaluated by ``tools/deployment/test_exported.py``.

Next to the COCO mAP it prints P, R and F1 per class at the best-F1 threshold (Ultralytics'
``Class Images Instances P R mAP50 mAP50-95`` table) and writes ``PR_curve.png``,
``F1_curve.png``, ``P_curve.png``, ``R_curve.png``, the confusion matrices (raw and normalised)
and ``metrics.json`` to ``--eval-dir`` (default: the run's log directory,
``<work_dir>/<timestamp>/``); ``evaluation/metrics/detection_pr_metric.py``.
"""
import argparse
import os
import os.path as osp
import sys

import fasternet_yolo11  # noqa: F401  (before mmdet and mmyolo: it stops albumentations from asking PyPI for updates)

# isort: split
from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmengine.config import DictAction
from mmengine.runner import Runner
from mmyolo.registry import RUNNERS
from mmyolo.utils import is_metainfo_lower

from fasternet_yolo11.config.run_settings import apply_checkpoint_settings, set_eval_dir
from fasternet_yolo11.engine.checkpoint_meta import check_fits
from fasternet_yolo11.engine.distributed import use_gloo_without_cuda
from fasternet_yolo11.utils import cli


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results')
    parser.add_argument('--out', help='dump predictions to a pickle file (.pkl) for offline '
                        'evaluation')
    parser.add_argument('--json-prefix', help='write COCO-format results to '
                        '<prefix>.bbox.json instead of evaluating')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='save images with drawn predictions to '
                        '<work_dir>/<timestamp>/<show_dir>')
    parser.add_argument('--wait-time', type=float, default=2, help='--show interval (s)')
    parser.add_argument('--deploy', action='store_true',
                        help='test the deploy form: Conv+BN fused, PConv slicing')
    parser.add_argument('--one2many', action='store_true',
                        help='YOLO26: evaluate the one-to-many branch with NMS instead of the end-to-end '
                        'one (model.test_cfg.end2end=False)')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument('--data', metavar='YAML', help='evaluate on this Ultralytics data yaml '
                        '(its val split)')
    parser.add_argument('--img-size', type=int, metavar='S', help='square test size (default: '
                        'the size the checkpoint was trained at)')
    parser.add_argument('--eval-dir', metavar='DIR', help='write the P/R/F1 curves, confusion matrices '
                        'and metrics.json here (default: the run\'s log directory)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (applied last)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cli.check_file(args.checkpoint, 'checkpoint')
    cfg = cli.load_config(args.config)
    notes = apply_checkpoint_settings(cfg, args.checkpoint, data_yaml=args.data,
                                      img_size=cli.img_size_flag(args.img_size), evaluates=True)
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    if args.one2many:
        if 'end2end' not in cfg.model.get('test_cfg', {}):
            cli.die(f'--one2many needs an end-to-end head (YOLO26); {args.config} has no model.test_cfg.end2end')
        cfg.model.test_cfg.end2end = False
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    use_gloo_without_cuda(cfg)
    is_metainfo_lower(cfg)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.deploy:
        cfg.custom_hooks = cfg.get('custom_hooks', []) + [dict(type='DeployModeHook')]
    if args.json_prefix is None and not set_eval_dir(cfg.test_evaluator, args.eval_dir or 'auto') \
            and args.eval_dir:
        cli.die(f'--eval-dir needs a COCO bbox evaluator (CocoMetric/DetectionPRMetric); {args.config} has '
            f'{cfg.test_evaluator}')
    if args.json_prefix is not None:
        cfg.test_evaluator.format_only = True
        cfg.test_evaluator.outfile_prefix = args.json_prefix
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            cli.die(f'--tta needs tta_model and tta_pipeline in {args.config}')
        cfg.model = dict(**cfg.tta_model, module=cfg.model)
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        test_data_cfg.pipeline = cfg.tta_pipeline

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            cli.die(f'--out must be a .pkl/.pickle file, got {args.out!r}')
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    check_fits(runner.model, args.checkpoint, 'checkpoint', strict=True)
    runner.test()


if __name__ == '__main__':
    cli.main(main)
