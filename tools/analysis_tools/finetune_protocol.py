"""The protocol users live in: start from pretrained weights, fine-tune on a small set of their own, with a teacher.

    python tools/analysis_tools/finetune_protocol.py \\
        --candidates "YOLO26n-Down2x2-DW=configs/yolo26n_down2x2_dw_coco.py" \\
        --sets fire_demo=data/fire_demo/fire_demo.yaml clutter=data/clutter/clutter_demo.yaml \\
        --seeds 0 1 2 [--jobs 2] [--scratch] [--ablations] [--work-dir work_dirs/finetune_protocol]

No COCO weights reach this machine, so pretraining is simulated as ``transfer_benefit.py`` does:

1. **pretrain**: the base network (``--base``, YOLO26n) and the teacher's (``--teacher``, YOLO26s) are trained with
   the demo recipe (``--recipe``: 15 epochs at 256) on one generated fire/smoke set (``--pretrain-seed``,
   ``--pretrain-train`` images), the stand-in for COCO;
2. **teacher**: the pretrained teacher fine-tuned on each set (``tools/train.py --weights``, seed 0);
3. **fine-tune**, per set and seed: the base with ``--weights <pretrained base>`` and each candidate with
   ``--weights`` (every tensor whose module and shape match, 3x3 downsampling kernels folded into 2x2 ones)
   and ``--teacher <fine-tuned teacher>``, after the short (``--short-epochs``) and the full schedule (the
   recipe's); each candidate also without the teacher (full schedule: what the teacher adds); ``--ablations``
   adds, on ``--ablation-seeds``, the candidates with the teacher but without the fold and the base with the
   teacher;
4. ``--scratch``: the base and the candidates from scratch (full schedule), the second table.

The mAP of a run is its best validation (every 3 epochs and the last), one-to-one (end-to-end) for a YOLO26 head,
with the one-to-many branch + NMS of the same checkpoint beside it. ``--jobs 2`` runs two trainings side by side
with one thread each (on two cores, about 1.3x the throughput of one run with two threads). Writes
``<work-dir>/protocol.{md,json}``; a finished run of the same config and flags is reused
(``analysis/compare.py``'s cache), so an interrupted protocol continues where it stopped.
"""
import argparse
import json
import os
import os.path as osp
import types
from concurrent.futures import ThreadPoolExecutor

from fasternet_yolo11.analysis.compare import train_one
from fasternet_yolo11.analysis.seeds import mean_se
from fasternet_yolo11.errors import UserError
from fasternet_yolo11.utils import cli
from fasternet_yolo11.utils.cli import REPO_ROOT

STARTS = {  # start name -> (label in the tables, with the pretrained weights, with the teacher, fold)
    'weights': ('pretrained', True, False, True),
    'weights_teacher': ('pretrained + teacher', True, True, True),
    'weights_teacher_nofold': ('pretrained + teacher, 2x2 kernels not folded', True, True, False),
    'scratch': ('from scratch', False, False, True),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--candidates', nargs='+', default=[], metavar='LABEL=CONFIG',
                   help='the networks that should match the base at less latency')
    p.add_argument('--base', default='YOLO26n=configs/yolo26n_coco.py', metavar='LABEL=CONFIG')
    p.add_argument('--teacher', default='YOLO26s=configs/yolo26s_coco.py', metavar='LABEL=CONFIG')
    p.add_argument('--sets', nargs='+', required=True, metavar='NAME=YAML', help='the fine-tuning sets')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--short-epochs', type=int, default=5, help='the short schedule (0: none)')
    p.add_argument('--recipe', default=osp.join(REPO_ROOT, 'configs/_base_/fire_demo.py'),
                   help='pipeline and schedule of every run (the full schedule)')
    p.add_argument('--pretrain-seed', type=int, default=100, help='generator seed of the pretraining set')
    p.add_argument('--pretrain-train', type=int, default=400, help='pretraining images (val: 100)')
    p.add_argument('--scratch', action='store_true', help='also train base and candidates from scratch')
    p.add_argument('--ablations', action='store_true',
                   help='also: candidates with the teacher but no fold, the base with the teacher')
    p.add_argument('--ablation-seeds', nargs='+', type=int, default=[0])
    p.add_argument('--jobs', type=int, default=1, choices=[1, 2], help='trainings side by side (2: one thread each)')
    p.add_argument('--work-dir', default='work_dirs/finetune_protocol')
    return p.parse_args(argv)


def labelled(spec):
    label, _, path = spec.partition('=')
    if not path:
        raise UserError(f'expected LABEL=PATH, got {spec!r}')
    cli.check_file(path, label)
    return label, osp.abspath(path)


def slug(text):
    return ''.join(c if c.isalnum() else '_' for c in text).strip('_')


class Protocol:
    def __init__(self, args):
        self.args = args
        self.work = osp.abspath(args.work_dir)
        self.pool = ThreadPoolExecutor(args.jobs)
        self.threads = 1 if args.jobs > 1 else None

    def run(self, set_name, yaml_path, name, config, seed, flags):
        """A training run in the background: a future of compare.train_one's result dict."""
        ns = types.SimpleNamespace(work_dir=osp.join(self.work, set_name), train_recipe=self.args.recipe,
                                   train_data=yaml_path)
        log = osp.join(self.work, set_name, f'{name}_seed{seed}.log')
        os.makedirs(osp.dirname(log), exist_ok=True)
        return self.pool.submit(train_one, name, config, ns, log, seed, tuple(flags), self.threads)

    @staticmethod
    def best_checkpoint(set_dir, name, seed):
        import glob
        found = sorted(glob.glob(osp.join(set_dir, 'train', name, f'seed{seed}', 'best_coco_bbox_mAP_epoch_*.pth')),
                       key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
        if not found:
            raise UserError(f'no best checkpoint of {name} seed {seed} in {set_dir}')
        return found[-1]


def pretrain_set(work, args):
    from fasternet_yolo11.datasets.demo_data import make_fire_demo
    root = osp.join(work, 'data', 'pretrain')
    yaml_path = osp.join(root, 'fire_demo.yaml')
    if not osp.isfile(yaml_path):
        yaml_path = make_fire_demo(root, num_train=args.pretrain_train, num_val=100, seed=args.pretrain_seed)
    return yaml_path


def main(argv=None):
    args = parse_args(argv)
    base, teacher = labelled(args.base), labelled(args.teacher)
    candidates = [labelled(c) for c in args.candidates]
    sets = dict(labelled(s) for s in args.sets)
    proto = Protocol(args)
    # 1. pretraining (the COCO stand-in)
    pre_yaml = pretrain_set(proto.work, args)
    pre = {label: proto.run('pretrain', pre_yaml, slug(label), cfg, 0, []) for label, cfg in (base, teacher)}
    pre_result = {label: f.result() for label, f in pre.items()}
    pre_ckpt = {label: proto.best_checkpoint(osp.join(proto.work, 'pretrain'), slug(label), 0) for label in pre}
    for label, r in pre_result.items():
        print(f'pretrained {label}: mAP {r["mAP"]:.3f} -> {pre_ckpt[label]}', flush=True)
    # 2. the teacher of each set
    t_futures = {s: proto.run(s, y, slug(teacher[0]) + '_teacher', teacher[1], 0, ['--weights', pre_ckpt[teacher[0]]])
                 for s, y in sets.items()}
    teachers = {s: (f.result(), proto.best_checkpoint(osp.join(proto.work, s), slug(teacher[0]) + '_teacher', 0))
                for s, f in t_futures.items()}
    # 3./4. the students
    full, short = ('full', []), ('short', ['--epochs', str(args.short_epochs)])
    both = [full] + ([short] if args.short_epochs else [])
    plan = []  # (set, row label, start, schedule, seed, future)
    # (model, start, schedules, seeds): the comparison of the target in both schedules, what the teacher
    # adds in the full one, and the ablations on fewer seeds
    rows = [(base, 'weights', both, args.seeds)]
    for c in candidates:
        rows += [(c, 'weights_teacher', both, args.seeds), (c, 'weights', [full], args.seeds)]
    if args.ablations:
        rows += [(c, 'weights_teacher_nofold', [full], args.ablation_seeds) for c in candidates]
        rows += [(base, 'weights_teacher', [full], args.ablation_seeds)]
    for set_name, yaml_path in sets.items():
        t_flags = ['--teacher', teacher[1], teachers[set_name][1]]
        for (label, cfg), start, schedules, seeds in rows:
            _, weights, with_teacher, fold = STARTS[start]
            flags = (['--weights', pre_ckpt[base[0]]] if weights else []) + (t_flags if with_teacher else []) \
                + ([] if fold else ['--no-weights-fold'])
            for sched, s_flags in schedules:
                for seed in seeds:
                    name = f'{slug(label)}_{start}_{sched}'
                    plan.append((set_name, label, start, sched, seed,
                                 proto.run(set_name, yaml_path, name, cfg, seed, flags + s_flags)))
        if args.scratch:
            for label, cfg in [base] + candidates:
                for seed in args.seeds:
                    plan.append((set_name, label, 'scratch', 'full', seed,
                                 proto.run(set_name, yaml_path, f'{slug(label)}_scratch_full', cfg, seed, [])))
    results = {}
    for set_name, label, start, sched, seed, future in plan:
        r = future.result()
        results.setdefault((set_name, label, start, sched), []).append(dict(r, seed=seed))
        print(f'{set_name:10s} {label:28s} {STARTS[start][0]:46s} {sched:5s} seed {seed}: mAP {r["mAP"]:.3f}'
              + (f' (one-to-many {r["mAP_one2many"]:.3f})' if 'mAP_one2many' in r else ''), flush=True)
    report(args, proto.work, base, teacher, sets, pre_result, teachers, results)


def cell(runs, key='mAP'):
    vals = [r[key] for r in runs if key in r]
    if not vals:
        return '-'
    m, se, _ = mean_se(vals)
    return f'{m:.3f} ± {se:.3f} ({", ".join(f"{v:.3f}" for v in vals)})'


def report(args, work, base, teacher, sets, pre_result, teachers, results):
    lines = [f'# Fine-tune protocol ({osp.basename(args.recipe)}: full = its schedule, short = {args.short_epochs} '
             'epochs)', '',
             f'Pretraining (the COCO stand-in): {args.pretrain_train} generated fire/smoke images (seed '
             f'{args.pretrain_seed}); ' + ', '.join(f'{k} {v["mAP"]:.3f}' for k, v in pre_result.items())
             + ' mAP50-95 there. Teacher per set: ' + ', '.join(
                 f'{s} {teacher[0]} {t[0]["mAP"]:.3f}' for s, t in teachers.items()) + '.', '',
             'mAP50-95 (end-to-end for YOLO26 heads), mean ± standard error over seeds (each seed); '
             'one-to-many + NMS of the same checkpoints in the last column.', '']
    for sched in ('full', 'short'):
        keys = [k for k in results if k[3] == sched]
        if not keys:
            continue
        lines += [f'## {"Full" if sched == "full" else "Short"} schedule', '',
                  '| set | model | start | mAP50-95 | one-to-many + NMS |', '|---|---|---|---|---|']
        for key in keys:
            runs = results[key]
            lines.append(f'| {key[0]} | {key[1]} | {STARTS[key[2]][0]} | {cell(runs)} | {cell(runs, "mAP_one2many")} |')
        lines.append('')
    verdict = []
    for set_name in sets:
        ref = results.get((set_name, base[0], 'weights', 'full'))
        if not ref:
            continue
        m, se, _ = mean_se([r['mAP'] for r in ref])
        for (s, label, start, sched), runs in results.items():
            if s == set_name and sched == 'full' and start == 'weights_teacher' and label != base[0]:
                cm = mean_se([r['mAP'] for r in runs])[0]
                verdict.append(f'{set_name}: {label} with the teacher {cm:.3f} vs {base[0]} {m:.3f} ± {se:.3f}: '
                               + ('within one standard error or above' if cm >= m - se else
                                  f'{m - se - cm:.3f} below the target (mean - 1 SE)'))
    if verdict:
        lines += ['## Against the target (>= base mean - 1 SE, full schedule)', ''] + [f'- {v}' for v in verdict]
    text = '\n'.join(lines) + '\n'
    with open(osp.join(work, 'protocol.md'), 'w') as f:
        f.write(text)
    with open(osp.join(work, 'protocol.json'), 'w') as f:
        json.dump(dict(args=vars(args), pretrain=pre_result, teachers={s: t[0] for s, t in teachers.items()},
                       runs=[dict(set=k[0], model=k[1], start=k[2], schedule=k[3], runs=v)
                             for k, v in results.items()]), f, indent=1)
    print(text)


if __name__ == '__main__':
    cli.main(main)
