"""How much do pretrained weights help? Fine-tune from scratch vs from transferred weights.

    python tools/analysis_tools/transfer_benefit.py [--lines yolo11n fasternet lite] [--seeds 0 1 2]
        [--finetune-train 100] [--work-dir work_dirs/transfer_benefit]

No COCO weights reach this machine, so the pretraining is simulated: YOLO11n is trained with the
demo recipe (``configs/yolo11n_fire_demo.py``: 15 epochs at 256) on one generated fire/smoke set
(``--pretrain-seed``), then every n line is fine-tuned with the same recipe on *another*
generated set (``--finetune-seed``, ``--finetune-train`` images, a small dataset as users have),
once from scratch and once with ``tools/train.py --weights <the pretrained YOLO11n>`` (transfer
by module correspondence: the FasterNet lines take SPPF, C2PSA, neck and head, not the
backbone). The val mAP is read after 5 and after 15 epochs of each run (``val_interval`` 5;
the 5-epoch number is the run's state at epoch 5, not a separate 5-epoch schedule).

Writes ``<work-dir>/transfer_benefit.{md,json}``; runs that already finished are reused.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from fasternet_yolo11.analysis.logs import find_scalars, read_scalars
from fasternet_yolo11.utils import cli

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LINES = {  # name -> demo config (the demo recipe, the network of each n line)
    'yolo11n': 'configs/yolo11n_fire_demo.py',
    'fasternet': 'configs/yolo11n_fasternet_fire_demo.py',
    'lite': 'configs/yolo11n_fasternet_lite_fire_demo.py',
}
EPOCHS = (5, 15)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--lines', nargs='+', default=list(LINES), choices=list(LINES))
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--pretrain-seed', type=int, default=100, help='generator seed of the pretraining set')
    p.add_argument('--finetune-seed', type=int, default=200, help='generator seed of the fine-tuning set')
    p.add_argument('--pretrain-train', type=int, default=400, help='pretraining images')
    p.add_argument('--finetune-train', type=int, default=100, help='fine-tuning images (val: 100)')
    p.add_argument('--work-dir', default='work_dirs/transfer_benefit')
    return p.parse_args(argv)


def train(config, work_dir, extra):
    """tools/train.py in a subprocess; its log in ``<work_dir>.log``; skipped when done."""
    done = osp.join(work_dir, 'done.json')
    if osp.isfile(done):
        result = json.load(open(done))
        return dict(result, **{k: {int(e): v for e, v in result[k].items()} for k in ('mAP', 'mAP50')})
    os.makedirs(osp.dirname(work_dir) or '.', exist_ok=True)
    start = time.time()
    with open(work_dir + '.log', 'w') as log:
        rc = subprocess.call([sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir,
                              *extra], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    if rc:
        cli.die(f'training failed ({rc}): see {work_dir}.log')
    _, val = read_scalars(find_scalars(work_dir))
    result = dict(seconds=round(time.time() - start, 1),
                  mAP={int(r['step']): r['coco/bbox_mAP'] for r in val if 'coco/bbox_mAP' in r},
                  mAP50={int(r['step']): r['coco/bbox_mAP_50'] for r in val if 'coco/bbox_mAP_50' in r})
    json.dump(result, open(done, 'w'))
    return result


def best_checkpoint(work_dir):
    found = sorted(f for f in os.listdir(work_dir) if f.startswith('best_coco_bbox_mAP_epoch_'))
    if not found:
        cli.die(f'no best checkpoint in {work_dir}')
    return osp.join(work_dir, found[-1])


def mean_std(values):
    import statistics
    return (statistics.mean(values), statistics.pstdev(values)) if values else (float('nan'), 0.0)


def main(argv=None):
    args = parse_args(argv)
    from fasternet_yolo11.datasets.demo_data import make_fire_demo
    work = osp.abspath(args.work_dir)
    data = {}
    for name, seed, count in (('pretrain', args.pretrain_seed, args.pretrain_train),
                              ('finetune', args.finetune_seed, args.finetune_train)):
        root = osp.join(work, 'data', name)
        yaml_path = osp.join(root, 'fire_demo.yaml')
        if not osp.isfile(yaml_path):
            yaml_path = make_fire_demo(root, num_train=count, num_val=100, seed=seed)
        data[name] = yaml_path
    pretrain_dir = osp.join(work, 'pretrain_yolo11n')
    pretrained = train(LINES['yolo11n'], pretrain_dir, ['--data', data['pretrain']])
    weights = best_checkpoint(pretrain_dir)
    print(f'pretrained YOLO11n: mAP {pretrained["mAP"].get(15, float("nan")):.3f} at epoch 15 -> {weights}')
    val = ['--cfg-options', 'train_cfg.val_interval=5', 'train_cfg.dynamic_intervals=[(15,5)]']
    runs = {}
    for line in args.lines:
        for start in ('scratch', 'transfer'):
            for seed in args.seeds:
                extra = ['--data', data['finetune']] + (['--weights', weights] if start == 'transfer' else []) + \
                    val + [f'randomness.seed={seed}']
                res = train(LINES[line], osp.join(work, line, f'{start}_seed{seed}'), extra)
                runs.setdefault((line, start), []).append(res)
                print(f'{line:9s} {start:8s} seed {seed}: ' + '  '.join(
                    f'mAP@{e} {res["mAP"].get(e, float("nan")):.3f}' for e in EPOCHS))
    rows = ['| line | start | ' + ' | '.join(f'mAP after {e} ep' for e in EPOCHS) + ' | '
            + ' | '.join(f'mAP50 after {e} ep' for e in EPOCHS) + ' | per seed (mAP after 15) |',
            '|---|---|' + '---|' * (2 * len(EPOCHS) + 1)]
    table = {}
    for (line, start), results in runs.items():
        cells = []
        for key in ('mAP', 'mAP50'):
            for e in EPOCHS:
                vals = [r[key].get(e) for r in results]
                m, s = mean_std([v for v in vals if v is not None])
                cells.append(f'{m:.3f} ± {s:.3f}')
                table.setdefault(f'{line}/{start}', {})[f'{key}@{e}'] = [m, s]
        per_seed = ', '.join(f'{r["mAP"].get(15, float("nan")):.3f}' for r in results)
        rows.append(f'| {line} | {start} | ' + ' | '.join(cells) + f' | {per_seed} |')
    text = (f'Fine-tuning on {args.finetune_train} generated images (seed {args.finetune_seed}, 100 val), demo '
            f'recipe; transfer = --weights of YOLO11n pretrained on {args.pretrain_train} other generated images '
            f'(seed {args.pretrain_seed}); seeds {" ".join(map(str, args.seeds))}; mean ± std over seeds.\n\n'
            + '\n'.join(rows) + '\n')
    with open(osp.join(work, 'transfer_benefit.md'), 'w') as f:
        f.write(text)
    json.dump(dict(table=table, args=vars(args)), open(osp.join(work, 'transfer_benefit.json'), 'w'), indent=1)
    print(text)


if __name__ == '__main__':
    cli.main(main)
