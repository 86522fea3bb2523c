"""Speed against accuracy, the picture people pick a model by: latency (x a reference model, one
backend) against mAP50-95, one panel per dataset.

    python tools/analysis_tools/plot_speed_accuracy.py REPORT_JSON \\
        --scratch fire_demo=work_dirs/i24_fire_demo clutter=work_dirs/i24_clutter \\
        --protocol work_dirs/i25_protocol/protocol.json --reference YOLO26n --out speed_accuracy.png

``REPORT_JSON``: ``compare_report.py``'s ``report.json`` (its models' latencies, one run of
interleaved rounds). ``--scratch SET=DIR``: compare_report work dirs whose cached training runs
(``DIR/train/<config name>/seed*/result.json``) give each model's mAP from scratch on SET, or JSON
files ``{config name: [runs]}`` (repeat a set to combine sources);
``--protocol``: ``finetune_protocol.py``'s ``protocol.json``, whose full-schedule runs give the
pretrained (+ teacher) points, and from-scratch points where ``--scratch`` gave none. Each point
is the mean over seeds, with the seeds' standard error as a bar. Prints the table it draws.
"""
import argparse
import glob
import json
import os.path as osp

from fasternet_yolo11.analysis.seeds import mean_se
from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('report', help="compare_report.py's report.json")
    p.add_argument('--scratch', nargs='*', default=[], metavar='SET=DIR|JSON')
    p.add_argument('--protocol', default=None, help="finetune_protocol.py's protocol.json")
    p.add_argument('--reference', default='YOLO26n', help='the label latencies are divided by')
    p.add_argument('--backend', default='onnxruntime', help='the latency column (a speed backend name)')
    p.add_argument('--scale', default='n', help='models of this scale')
    p.add_argument('--out', default='speed_accuracy.png')
    return p.parse_args(argv)


def stem(path):
    return osp.splitext(osp.basename(path))[0]


def point(values):
    """(mean, standard error, number of seeds) of per-seed mAPs, or None without runs."""
    return (*mean_se(values)[:2], len(values)) if values else None


def scratch_map(source, config_stem):
    """mAP (mean, se, n) of ``config_stem``'s runs in ``source``: a compare_report work dir, or a JSON
    file of ``{config stem: [run, ...]}`` (runs kept from other days)."""
    if source.endswith('.json'):
        with open(source) as f:
            runs = json.load(f).get(config_stem, [])
    else:
        runs = [json.load(open(p)) for p in sorted(glob.glob(osp.join(source, 'train', config_stem, 'seed*',
                                                                        'result.json')))]
    return point([r['mAP'] for r in runs])


def collect(args):
    """(latency ratio by label, {set: {(label, start): (mean, se, n)}})."""
    report = json.load(open(args.report))
    models = [m for m in report['models'] if m.get('scale') == args.scale or m.get('line') == 'reference']
    key = f'{args.backend}/cpu'
    ms = {m['label']: m['speed'][key]['median_ms'] for m in models if key in m.get('speed', {})}
    if args.reference not in ms:
        raise cli.UserError(f'{args.report} has no {args.backend} latency of {args.reference!r} '
                            f'(labels: {", ".join(ms)})')
    ratio = {label: v / ms[args.reference] for label, v in ms.items()}
    by_stem = {stem(m['config']): m['label'] for m in models if m.get('line') != 'reference'}
    points = {}
    for spec in args.scratch:
        set_name, _, work_dir = spec.partition('=')
        for config_stem, label in by_stem.items():
            found = scratch_map(work_dir, config_stem)
            if found:
                points.setdefault(set_name, {})[(label, 'from scratch')] = found
    if args.protocol:
        proto = json.load(open(args.protocol))
        config_label = {}
        for spec in [proto['args']['base']] + proto['args']['candidates']:
            label, _, path = spec.partition('=')
            config_label[label] = by_stem.get(stem(path), label)
        starts = dict(weights='pretrained', weights_teacher='pretrained + teacher', scratch='from scratch')
        for row in proto['runs']:
            if row['schedule'] != 'full' or row['start'] not in starts:
                continue
            key = (config_label.get(row['model'], row['model']), starts[row['start']])
            # A --scratch source, where given, keeps its from-scratch runs (they may hold more seeds).
            points.setdefault(row['set'], {}).setdefault(key, point([r['mAP'] for r in row['runs']]))
    return ratio, points


def table(ratio, points, reference, backend):
    sets = list(points)
    lines = [f'| model | start | {backend} latency (x {reference}) | ' + ' | '.join(f'{s} mAP50-95' for s in sets)
             + ' |', '|---|---|---|' + '---|' * len(sets)]
    rows = sorted({k for s in sets for k in points[s]}, key=lambda k: (ratio.get(k[0], 9), k[1]))
    for label, start in rows:
        cells = []
        for s in sets:
            v = points[s].get((label, start))
            cells.append('-' if v is None else f'{v[0]:.3f} ± {v[1]:.3f}' if v[2] > 1 else f'{v[0]:.3f} (1 seed)')
        r = ratio.get(label)
        lines.append(f'| {label} | {start} | {"-" if r is None else f"{r:.2f}x"} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot(ratio, points, reference, backend, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sets = list(points)
    fig, axes = plt.subplots(1, len(sets), figsize=(6.5 * len(sets), 5), squeeze=False)
    labels = sorted({k[0] for s in sets for k in points[s]}, key=lambda k: ratio.get(k, 9))
    colours = {label: f'C{i % 10}' for i, label in enumerate(labels)}
    markers = {'from scratch': ('o', 60), 'pretrained': ('s', 60), 'pretrained + teacher': ('*', 180)}
    for ax, set_name in zip(axes[0], sets):
        for (label, start), (m, se, n) in sorted(points[set_name].items()):
            if label not in ratio:
                continue
            c, (marker, size) = colours[label], markers.get(start, ('D', 60))
            if start == 'from scratch':
                ax.scatter(ratio[label], m, marker=marker, s=size, facecolors='none', edgecolors=c)
            else:
                ax.scatter(ratio[label], m, marker=marker, s=size, color=c)
            ax.errorbar(ratio[label], m, yerr=se, fmt='none', ecolor=c, alpha=0.6)
            ax.annotate(f'{label} ({start})', (ratio[label], m), fontsize=7, xytext=(4, 3),
                        textcoords='offset points')
        ax.axvline(1.0, color='C3', lw=0.6, ls='--')
        ax.set_xlabel(f'{backend} fp32 latency, x {reference} (lower is faster)')
        ax.set_ylabel('mAP50-95 (mean over seeds, bar: standard error)')
        ax.set_title(set_name)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    ratio, points = collect(args)
    if not points:
        raise cli.UserError('no accuracy given: --scratch SET=DIR and/or --protocol')
    print(table(ratio, points, args.reference, args.backend))
    plot(ratio, points, args.reference, args.backend, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    cli.main(main)
