"""Train a detector: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...``

Your own YOLO-format data in one command, no config file to write::

    python tools/train.py configs/yolo11n_fasternet_fire.py --data my.yaml --epochs 30 \
        --img-size 320 --batch 8 [--workers 2] [--nbs 64]

``--data/--epochs/--img-size/--batch/--workers/--nbs/--patience/--amp`` set the config's primaries
and everything derived from them (class names and count from the yaml, every pipeline size, switch
epoch, intervals, scheduler, weight-decay batch, accumulation, early stopping, the optim wrapper:
``fasternet_yolo11/config/derivation.py``); a flag left out keeps the config's value, and
``--cfg-options`` is applied after them, as given. The work dir's dumped config says what ran.
Resume with the same flags plus ``--resume``.

Start from pretrained weights with ``--weights PATH [PATH ...]`` (YOLO11/YOLO26 weights, FasterNet
ImageNet weights, our checkpoints; copied by module correspondence, a table per module group:
``engine/weight_transfer.py``). Stop early with ``--patience N``. Distil from a trained model with
``--teacher TEACHER_CONFIG TEACHER_CKPT`` (``config/distillation.py``).

mmyolo's tools/train.py arguments, plus ``--channels-last``. Where it behaves differently:

* ``--resume`` without a path continues from the newest *complete* checkpoint of the work dir
  (``engine/checkpoint_io.find_resume_checkpoint``), not blindly from ``last_checkpoint``;
* a ``--resume`` or ``load_from`` checkpoint is compared with the model (tensor shapes only,
  memory-mapped) before training starts: one line names what does not fit;
* on a machine without CUDA a distributed run uses gloo, plain BatchNorm and no DDP
  ``device_ids`` (``engine/distributed.py``);
* a ``--resume``/``load_from`` checkpoint trained on another class count than the run's is
  one line naming both (an error for ``--resume``; a warning for ``load_from``, which may
  fine-tune on other classes);
* user errors (bad data yaml, missing file, refused checkpoint, NaN loss) end in one line.
"""
import argparse
import os
import os.path as osp
import sys

import fasternet_yolo11  # noqa: F401  (before mmdet and mmyolo: it stops albumentations from asking PyPI for updates)

# isort: split
from mmengine.config import DictAction
from mmengine.runner import Runner
from mmyolo.registry import RUNNERS
from mmyolo.utils import is_metainfo_lower

from fasternet_yolo11.config import distillation, run_settings
from fasternet_yolo11.engine.checkpoint_io import find_resume_checkpoint
from fasternet_yolo11.engine.checkpoint_meta import check_fits, read_checkpoint_meta
from fasternet_yolo11.engine.distributed import use_gloo_without_cuda
from fasternet_yolo11.utils import cli


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--channels-last', action='store_true',
                        help='train in the channels_last (NHWC) layout: faster on CPU '
                        '(ChannelsLastHook; single process only)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest '
                        'checkpoint in the work dir when no path is given')
    run = parser.add_argument_group('run settings (each derives every key that depends on it)')
    run.add_argument('--data', metavar='YAML', help='an Ultralytics data yaml: the splits and the '
                     'class names (list, dict, or nc + classes.txt)')
    run.add_argument('--epochs', type=int, help='training epochs')
    run.add_argument('--img-size', type=int, metavar='S', help='square input size (rounded up '
                     'to a multiple of 32)')
    run.add_argument('--batch', type=int, help='batch size per process')
    run.add_argument('--workers', type=int, help='dataloader workers (train and val)')
    run.add_argument('--patience', type=int, metavar='N', help='stop after N epochs without a better '
                     'fitness (0.1 mAP50 + 0.9 mAP50-95; the config key patience, default 100); 0 never stops')
    run.add_argument('--nbs', type=int, metavar='N', help="Ultralytics' nominal batch: accumulate "
                     'gradients to about N images per step; 0 steps every batch')
    parser.add_argument('--weights', nargs='+', metavar='PATH',
                        help='start from pretrained weights: our checkpoints, YOLO11 weights (converted or an '
                        'Ultralytics .pt), FasterNet ImageNet weights; every tensor whose module and shape match '
                        'is copied (engine/weight_transfer.py). load_from stays for exact resumption')
    parser.add_argument('--no-weights-fold', action='store_true',
                        help='with --weights: leave 2x2 downsampling convs at their initial values instead of '
                        'folding the pretrained 3x3 kernels into them (to measure what the fold gives)')
    parser.add_argument('--teacher', nargs=2, metavar=('TEACHER_CONFIG', 'TEACHER_CKPT'),
                        help='distil from a trained model (our checkpoint, converted or Ultralytics .pt) run frozen on '
                        'each batch: neck maps (channel-wise) and head scores and boxes; the top-level distill dict '
                        'sets the losses and stop_epoch; nothing of the teacher is exported')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_epochs=5 (applied '
                        'after the run settings, not derived)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_run_flags(cfg, args):
    """``--data/--epochs/--img-size/--batch/--workers/--nbs/--patience/--amp`` on the loaded config."""
    if args.patience is not None and args.patience < 0:
        cli.die(f'--patience must be >= 0 (0 never stops), got {args.patience}')
    run_settings.apply_run_settings(
        cfg, data_yaml=args.data, epochs=args.epochs, img_size=cli.img_size_flag(args.img_size),
        batch=args.batch, workers=args.workers, nbs=run_settings.KEEP if args.nbs is None else args.nbs,
        patience=args.patience, amp=True if args.amp else None)


def check_checkpoint_classes(cfg, path, what, fatal):
    """One line when the checkpoint was trained on another class count than this run."""
    if not path or '://' in str(path):
        return
    ckpt_names = read_checkpoint_meta(path).class_names
    names = cfg.get('class_names')
    source = cfg.get('data_yaml') or 'the config'
    message = run_settings.class_mismatch(path, ckpt_names, source, names)
    if message and fatal:
        cli.die(message)
    if message:
        print(f'warning: {message}; the class-dependent head tensors keep their initial values',
              file=sys.stderr)


def transfer_weights(cfg, paths, fold=True):
    """``--weights``: the tensors the files give this model, written to
    ``<work_dir>/transferred_weights.pth``, which becomes ``load_from``; prints the table."""
    from fasternet_yolo11.engine import weight_transfer
    sources = [weight_transfer.read_weights(p) for p in paths]
    result = weight_transfer.transfer(weight_transfer.model_state_shapes(cfg), sources, fold=fold)
    print(weight_transfer.format_table(result))
    if not result.state_dict:
        cli.die(f'--weights: none of the {len(result.status)} tensors of this model fit any of {" ".join(paths)}')
    cfg.load_from = weight_transfer.save_transferred(result, osp.join(cfg.work_dir, 'transferred_weights.pth'))


def resolve_auto_resume(work_dir):
    """The checkpoint ``--resume`` (no path) continues from, printing its notes; None when
    training starts from scratch."""
    path, notes = find_resume_checkpoint(work_dir)
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    return path


def main():
    args = parse_args()
    cfg = cli.load_config(args.config)
    apply_run_flags(cfg, args)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    teacher = args.teacher or ((cfg.get('teacher') or {}).get('config'), (cfg.get('teacher') or {}).get('checkpoint'))
    if all(teacher) and str(cfg.model.get('type', '')).split('.')[-1] != distillation.STUDENT:
        distillation.apply_teacher(cfg, *teacher)
    cfg.launcher = args.launcher
    use_gloo_without_cuda(cfg)
    is_metainfo_lower(cfg)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.channels_last:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='ChannelsLastHook')]

    if args.resume not in (None, 'auto'):
        cli.check_file(args.resume, '--resume checkpoint')
        cfg.resume, cfg.load_from = True, args.resume
    elif args.resume == 'auto' or (cfg.get('resume') and not cfg.get('load_from')):
        # mmengine trusts last_checkpoint blindly; this falls back to the newest complete
        # checkpoint, and with none a fresh run keeps the config's load_from (pretrained weights)
        found = resolve_auto_resume(cfg.work_dir)
        cfg.resume = found is not None
        if found:
            cfg.load_from = found
    if args.weights and cfg.resume:
        print(f'note: resuming {cfg.load_from}; --weights is not applied', file=sys.stderr)
    elif args.weights:
        transfer_weights(cfg, args.weights, fold=not args.no_weights_fold)
    # --weights says itself what it transferred and re-initialised (its table)
    transferred = bool(args.weights) and not cfg.resume
    if not cfg.resume:
        cli.check_file(cfg.get('load_from'), 'load_from checkpoint')
    if not transferred:
        check_checkpoint_classes(cfg, cfg.get('load_from'),
                                 'resume checkpoint' if cfg.resume else 'load_from checkpoint',
                                 fatal=bool(cfg.resume))

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if cfg.get('load_from') and not transferred:
        note = check_fits(runner.model, cfg.load_from,
                          'resume checkpoint' if cfg.resume else 'load_from checkpoint', strict=bool(cfg.resume))
        if note:
            print(f'warning: {note}', file=sys.stderr)
    runner.train()


if __name__ == '__main__':
    cli.main(main)
