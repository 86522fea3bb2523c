"""The comparison report's rendering: the markdown tables, the verdict sentences and the plot."""
import datetime
import os.path as osp

from ..config.loading import REPO_ROOT
from .spaces import BACKEND_LABELS, PCONV


def fmt(value, spec='.1f'):
    return '-' if value is None or value != value else format(value, spec)


def markdown(models, search_rows, options, args, hw, figure=True):
    """The report's markdown: the main table per scale, the per-seed mAP, the verdict, the search
    table and the inference options. ``models`` and ``search_rows`` are the measurement dicts
    (:mod:`.compare`); ``args`` the report's command line; ``hw`` the hardware lines; ``figure``
    whether report.png was drawn (:func:`plot`)."""
    b = args.batch
    out = ['# The lines compared', '',
           f'Measured {datetime.date.today().isoformat()} with '
           f'`tools/analysis_tools/compare_report.py`; input {args.img_size}x{args.img_size}, '
           f'random weights (speed does not depend on them).', '']
    out += [f'- {line}' for line in hw] + ['']
    devices = sorted({k.split('/')[1] for m in models for k in m['speed']})
    out += ['## Size and speed', '',
            f'Latency: batch 1, median of {args.iters} rounds that run every model of the scale '
            f'once each, each backend in its own rounds (ms; ONNX Runtime without thread '
            f'spinning, as its sessions take turns). Throughput: batch {b} (img/s). Deploy form = Conv+BN '
            f'folded, PConv slicing, channels_last (`tools/test.py --deploy`); ONNX Runtime: the graph of '
            f'`export_onnx.py --mode raw`, PConv {PCONV["onnxruntime"]}, graph '
            'optimisation all; OpenVINO: the same ONNX file, CPU, fp32, latency hint; INT8: '
            'that file statically quantized (ORT: QDQ, per-channel weights; OpenVINO: NNCF, an IR), '
            'calibrated on random inputs (speed only; accuracy: quantize.py). Training: '
            f'forward+backward+step at batch {b}, synthetic batches (img/s). Peak RSS of the '
            'measuring process (MiB; it includes the ~0.4 GiB of the torch runtime).', '']
    cols = args.backends
    head = ['model', 'params (M)', 'GFLOPs', *[f'{BACKEND_LABELS[k]} ms' for k in cols],
            *[f'{BACKEND_LABELS[k]} bs{b} img/s' for k in cols],
            f'inference peak RSS bs{b}', f'train img/s bs{b}', f'train peak RSS bs{b}']
    if 'cuda' in devices:
        head += ['CUDA PyTorch ms', 'CUDA deploy form ms', f'CUDA peak MiB bs{b}']
    if any('train' in m for m in models):
        head += ['mAP50-95', 'mAP50']
    one2many = any('mAP_one2many' in (m.get('train') or {}) for m in models)
    if one2many:
        head += ['one-to-many + NMS mAP50-95']
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for m in models:
        s = m['speed']

        def get(key, field):
            return s.get(key, {}).get(field)
        row = [m['label'], fmt(m['params'] / 1e6 if m.get('params') else None, '.2f'), fmt(m.get('gflops'), '.2f')]
        row += [fmt(get(f'{k}/cpu', 'median_ms')) for k in cols]
        row += [fmt(get(f'{k}/cpu', 'throughput')) for k in cols]
        row += [fmt(m.get('infer_peak_rss_mib'), '.0f'), fmt(m.get('train_images_per_s'), '.2f'),
                fmt(m.get('train_peak_rss_mib'), '.0f')]
        if 'cuda' in devices:
            row += [fmt(get('pytorch/cuda', 'median_ms'), '.2f'),
                    fmt(get('pytorch_deploy/cuda', 'median_ms'), '.2f'),
                    fmt(get('pytorch/cuda', 'peak_mib'), '.0f')]
        if any('train' in x for x in models):
            t = m.get('train') or {}
            row += [fmt(t.get('mAP'), '.3f'), fmt(t.get('mAP50'), '.3f')]
        if one2many:
            row += [fmt((m.get('train') or {}).get('mAP_one2many'), '.3f')]
        out.append('| ' + ' | '.join(row) + ' |')
    trained = [m for m in models if m.get('train')]
    if trained:
        t = trained[0]['train']
        seeds = ', '.join(str(r['seed']) for r in t['runs'])
        out += ['', f'mAP: best validation bbox mAP (and its mAP50) of from-scratch runs of the '
                f'recipe `{osp.relpath(args.train_recipe, REPO_ROOT)}` ({t["epochs"]} epochs) on '
                f'`{args.train_data}`, mean over seeds {seeds}. Per seed, and training wall '
                'time per run:', '']
        out += [f"- {m['label']}: " + ', '.join(
            f"{r['mAP']:.3f} / {r['mAP50']:.3f}"
            + (f" (one-to-many + NMS {r['mAP_one2many']:.3f})" if 'mAP_one2many' in r else '')
            for r in m['train']['runs']) + f"; {m['train']['minutes']:.1f} min" for m in trained]
    out += ['', '## Verdict', ''] + verdict(models, getattr(args, 'baseline', 'yolo11'))
    if search_rows:
        ref = search_rows[0]
        trained = any(r.get('train') for r in search_rows)

        def ms(r, key):
            return r['speed'].get(key, {}).get('median_ms')

        def rel(r, key):
            a, b = ms(r, key), ms(ref, key)
            return '-' if a is None or not b else f'{100 * (a / b - 1):+.0f}%'
        out += ['', f'## Design search ({args.search_scale} scale)', '',
                f"FasterNet designs on the {ref['label']} neck and head (SPPF + C2PSA on P5; "
                'width = embed_dim, stage widths x1/x2/x4/x8, then depths and activation) and '
                f"placements of FasterNet's ideas in {ref['label']} (configs/_search_/placements.py), "
                f'batch 1, CPU, median of {args.iters} interleaved rounds; the last row is '
                f"{ref['label']} itself. Training img/s: synthetic batches of {args.batch}.", '',
                '| design | params (M) | GFLOPs | PyTorch ms | deploy form ms | ORT ms | train img/s | '
                + ('mAP50-95 | ' if trained else '') + f"ORT vs {ref['label']} | deploy form vs "
                f"{ref['label']} |",
                '|---|---|---|---|---|---|---|' + ('---|' if trained else '') + '---|---|']
        for r in search_rows[1:] + [ref]:
            m = [fmt(r['train']['mAP'], '.3f') if r.get('train') else '-'] if trained else []
            out.append(' | '.join(
                [f"| {r['label']}", f"{r['params'] / 1e6:.2f}", f"{r['gflops']:.2f}",
                 fmt(ms(r, 'pytorch/cpu')), fmt(ms(r, 'pytorch_deploy/cpu')), fmt(ms(r, 'onnxruntime/cpu')),
                 fmt(r.get('train_images_per_s')), *m, rel(r, 'onnxruntime/cpu'),
                 rel(r, 'pytorch_deploy/cpu')]) + ' |')
    if options:
        names = [osp.basename(c)[:-3] for c in options['configs']]
        out += ['', '## Fast inference path (n scale)', '',
                f'Batch 1, CPU, median of {args.iters} interleaved rounds (ms); each option '
                'against the row above it or the first row of its backend.', '',
                '| option | ' + ' | '.join(names) + ' |', '|---|' + '---|' * len(names)]
        for v in options['variants']:
            cells = [options['latency'][c].get(v, {}).get('median_ms') for c in options['configs']]
            out.append(f'| {v} | ' + ' | '.join(fmt(x) for x in cells) + ' |')
    if figure:
        out += ['', '![latency vs GFLOPs and mAP](report.png)']
    out.append('')
    return '\n'.join(out)


def seed_noise(a, b):
    """Standard error of the difference of two mean mAPs, from each model's seed-to-seed
    spread (sample standard deviation); 0 with fewer than two seeds each."""
    import statistics
    runs = [[r['mAP'] for r in t.get('runs', [])] for t in (a, b)]
    if min(len(r) for r in runs) < 2:
        return 0.0
    return sum(statistics.variance(r) / len(r) for r in runs) ** 0.5


def verdict(models, baseline='yolo11'):
    """One plain sentence per model against the ``baseline`` line of its scale: faster only when
    faster in every backend measured (a user deploys one of them), and its accuracy against the seed
    noise. Reference graphs timed alongside (no parameters counted) get none."""
    lines = []
    ref = {m['scale']: m for m in models if m['line'] == baseline}
    for m in models:
        base = ref.get(m['scale'])
        if m['line'] == baseline or base is None or not m.get('gflops'):
            continue
        parts, accuracy, lower, higher = [], '', [], []
        for key, name in (('pytorch/cpu', 'PyTorch CPU latency'),
                          ('pytorch_deploy/cpu', 'deploy-form CPU latency'),
                          ('onnxruntime/cpu', 'ONNX Runtime latency'), ('openvino/cpu', 'OpenVINO latency'),
                          ('onnxruntime_int8/cpu', 'ONNX Runtime INT8 latency'),
                          ('openvino_int8/cpu', 'OpenVINO INT8 latency'),
                          ('pytorch_deploy/cuda', 'CUDA latency')):
            if key in m['speed'] and key in base['speed']:
                r = m['speed'][key]['median_ms'] / base['speed'][key]['median_ms'] - 1
                parts.append(f"{name} {abs(100 * r):.0f}% {'higher' if r > 0 else 'lower'}")
                (higher if r > 0 else lower).append(name.replace(' latency', ''))
        parts.append(f"{m['gflops'] / base['gflops']:.2f}x the GFLOPs")
        if m.get('train') and base.get('train'):
            d = m['train']['mAP'] - base['train']['mAP']
            noise = seed_noise(m['train'], base['train'])
            parts.append(f"bbox mAP {d:+.3f} ({m['train']['mAP']:.3f} vs {base['train']['mAP']:.3f}"
                         + (f', seed noise of the difference +-{noise:.3f})' if noise else ')'))
            accuracy = ('as accurate or better' if d >= 0 else
                        'as accurate within seed noise' if -d <= noise else 'less accurate')
        # Faster means faster in every backend measured: a user deploys one of them.
        if not higher:
            claim = f"is faster than {base['label']} on this CPU"
        elif not lower:
            claim = f"is not faster than {base['label']} on this CPU"
        else:
            claim = (f"is faster than {base['label']} on this CPU in {', '.join(lower)}, "
                     f"not in {', '.join(higher)}")
        if accuracy:
            joint = ';' if lower and higher else ' but' if accuracy == 'less accurate' else ' and'
            accuracy = f'{joint} {accuracy}'
        lines.append(f"- {m['label']} {claim}{accuracy}: " + ', '.join(parts) + '.')
    return lines


PLOT_BACKENDS = ('pytorch_deploy/cpu', 'onnxruntime/cpu', 'openvino/cpu', 'pytorch/cpu')


def plot_backend(models):
    """The backend the plot puts on its latency axis: the first of PLOT_BACKENDS every model has."""
    for key in PLOT_BACKENDS:
        if models and all(key in m.get('speed', {}) for m in models):
            return key
    return None


def plot(models, search_rows, path):
    """report.png: CPU latency (deploy form, else the first backend every model was timed in) against
    GFLOPs (search points in grey) and, with trained models, mAP against latency."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    models = [m for m in models if m.get('gflops')]  # not the reference graphs timed alongside
    key = plot_backend(models)
    if key is None:
        return False
    backend = key.split('/')[0]
    with_map = [m for m in models if m.get('train')]
    fig, axes = plt.subplots(1, 2 if with_map else 1, figsize=(12 if with_map else 6.5, 5),
                             squeeze=False)
    markers = dict(yolo11='o', fasternet='s', fasternet_lite='^', fasternet_pconv='D', down2x2='v', yolo26='*',
                   yolo26_fasternet='P', yolo26_down2x2='<', yolo26_down2x2_relu='>')
    ax = axes[0][0]
    for r in search_rows[1:]:
        if key in r['speed']:
            ax.scatter(r['gflops'], r['speed'][key]['median_ms'], c='lightgray', marker='x')
    for m in models:
        ms = m['speed'][key]['median_ms']
        ax.scatter(m['gflops'], ms, marker=markers.get(m['line'], 'o'), s=60, label=m['label'])
        ax.annotate(m['label'], (m['gflops'], ms), fontsize=8, xytext=(4, 4), textcoords='offset points')
    ax.set_xlabel('GFLOPs (640x640)')
    ax.set_ylabel(f'CPU latency, {backend}, batch 1 (ms)')
    ax.set_title('latency vs GFLOPs' + (' (x: design search)' if search_rows else ''))
    ax.grid(alpha=0.3)
    if with_map:
        ax = axes[0][1]
        for m in with_map:
            ms = m['speed'][key]['median_ms']
            ax.scatter(ms, m['train']['mAP'], marker=markers.get(m['line'], 'o'), s=60)
            ax.annotate(m['label'], (ms, m['train']['mAP']), fontsize=8, xytext=(4, 4), textcoords='offset points')
        ax.set_xlabel(f'CPU latency, {backend}, batch 1 (ms)')
        ax.set_ylabel('bbox mAP50-95 (fixed recipe)')
        ax.set_title('mAP vs latency')
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
