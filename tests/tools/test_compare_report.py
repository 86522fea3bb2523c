"""The comparison report (tools/analysis_tools/compare_report.py) end to end on tiny inputs, and
the training-speed tool (train_speed.py) on real and synthetic batches."""
import json
import os.path as osp

import pytest
from _tools import REPO, run_tool

from fasternet_yolo11.analysis import compare, report, spaces
from fasternet_yolo11.datasets.demo_data import make_fire_demo
from fasternet_yolo11.utils import cli
from tools.analysis_tools import compare_report

RECIPE = osp.join(REPO, 'tests/configs/tiny_fire_recipe.py')


@pytest.fixture(scope='module')
def fire_yaml(tmp_path_factory):
    return make_fire_demo(str(tmp_path_factory.mktemp('fire')), num_train=4, num_val=2,
                          img_size=96, seed=7)


def table_rows(md, first_cell):
    return [[c.strip() for c in line.strip('|').split('|')]
            for line in md.splitlines() if line.startswith(f'| {first_cell}')]


def test_report_measures_searches_trains_and_plots(fire_yaml, tmp_path, monkeypatch, capsys):
    # One search point (the shipped lite design) keeps this test short; the full table is
    # the README's.
    lite = 'lite (32, 1-2-4-2, ReLU)'
    monkeypatch.setattr(compare, 'SEARCH_SPACE', {lite: spaces.SEARCH_SPACE[lite]})
    neck = 'C3k2-Faster in the neck'  # and one PConv placement point
    placements = spaces.placement_space()
    monkeypatch.setattr(compare, 'placement_space', lambda line='yolo11': {neck: placements[neck]})
    options = ('PyTorch as trained (NCHW)', 'deploy form, NCHW', 'ONNX Runtime, optimisation basic')
    monkeypatch.setattr(compare_report, 'INFERENCE_OPTIONS', {k: spaces.INFERENCE_OPTIONS[k] for k in options})
    work = str(tmp_path / 'report')
    models, search = compare_report.main([
        '--scales', 'n', '--lines', 'yolo11', 'fasternet_lite', '--work-dir', work,
        '--img-size', '64', '--batch', '2', '--iters', '2', '--batch-iters', '1', '--warmup', '1',
        '--train-iters', '1', '--threads', '1', '--search', '--options',
        '--backends', 'pytorch', 'pytorch_deploy', 'onnxruntime', 'openvino', 'onnxruntime_int8',
        '--train-data', fire_yaml, '--train-recipe', RECIPE])
    md = open(osp.join(work, 'report.md')).read()
    assert 'CPU:' in md and '1 intra-op threads' in md and 'onnxruntime' in md and 'input 64x64' in md
    header = table_rows(md, 'model')[0]
    assert header[:8] == ['model', 'params (M)', 'GFLOPs', 'PyTorch ms', 'deploy form ms', 'ORT ms',
                          'OpenVINO ms', 'ORT INT8 ms']
    assert header[-2:] == ['mAP50-95', 'mAP50']
    size_table, search_table = md.split('## Design search')
    rows = {r[0]: r for r in table_rows(size_table, 'YOLO11n')}
    assert set(rows) == {'YOLO11n', 'YOLO11n-FasterNet-lite'}
    for row in rows.values():
        values = [float(v) for v in row[1:]]  # every cell measured, none '-'
        assert all(v >= 0 for v in values) and values[0] > 1  # > 1M parameters
        assert 0 <= values[-2] <= values[-1] <= 1  # mAP50-95 <= mAP50
    # The two networks differ: their parameter counts are measured, not copied.
    assert rows['YOLO11n'][1] == '2.62' and rows['YOLO11n-FasterNet-lite'][1] == '2.79'
    assert 'YOLO11n-FasterNet-lite is' in md and 'than YOLO11n on this CPU' in md
    search_rows = table_rows(search_table, lite)
    assert len(search_rows) == 1 and search_rows[0][-1].endswith('%')
    neck_rows = table_rows(search_table, neck)
    assert len(neck_rows) == 1 and all(c != '-' for c in neck_rows[0])  # ORT and train img/s too
    assert table_rows(search_table, 'YOLO11n |')  # the reference row closes the table
    option_table = md.split('## Fast inference path (n scale)')[1]
    assert table_rows(option_table, 'option')[0][1:] == ['yolo11n_coco',
                                                         'yolo11n_fasternet_lite_coco']
    for name in options:
        (row,) = table_rows(option_table, name)
        assert all(float(v) > 0 for v in row[1:])
    with open(osp.join(work, 'report.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    saved = json.load(open(osp.join(work, 'report.json')))
    assert [m['label'] for m in saved['models']] == ['YOLO11n', 'YOLO11n-FasterNet-lite']
    assert set(saved['models'][0]['speed']) == {'pytorch/cpu', 'pytorch_deploy/cpu', 'onnxruntime/cpu',
                                                'openvino/cpu', 'onnxruntime_int8/cpu'}
    assert 'ONNX Runtime INT8 latency' in md
    assert saved['models'][0]['train_peak_rss_mib'] > saved['models'][0]['infer_peak_rss_mib'] * 0.5
    # A finished training run of an unchanged config is reused, not repeated.
    capsys.readouterr()
    again = compare.train_one('yolo11n_coco', models[0]['config'],
                                     compare_report.parse_args([
                                         '--work-dir', work, '--train-data', fire_yaml,
                                         '--train-recipe', RECIPE]), str(tmp_path / 'log'))
    assert 'reusing' in capsys.readouterr().out
    assert again['mAP'] == models[0]['train']['mAP']


def test_training_config_takes_network_from_config_and_classes_from_data(fire_yaml):
    import torch
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    cfg = compare.training_config(
        osp.join(REPO, 'configs/yolo11n_fasternet_lite_coco.py'), RECIPE, fire_yaml)
    assert cfg.model.backbone.arch == 'lite' and cfg.model.neck.p5_context
    init_default_scope('mmyolo')
    with torch.device('meta'):
        assert MODELS.build(cfg.model).neck.in_channels == [64, 128, 256]
    assert cfg.model.bbox_head.head_module.num_classes == 2  # the yaml's, not COCO's 80
    assert cfg.train_dataloader.dataset.metainfo['classes'] == ('fire', 'smoke')
    assert cfg.val_dataloader.dataset.data_yaml == osp.abspath(fire_yaml)
    assert cfg.train_cfg.max_epochs == 1  # the recipe's schedule


def test_verdict_states_a_loss_plainly():
    def model(label, line, fused, gflops, mAP=None, seeds=()):
        return dict(label=label, line=line, scale='n', gflops=gflops,
                    speed={'pytorch_deploy/cpu': dict(median_ms=fused), 'pytorch/cpu': dict(median_ms=fused)},
                    train=dict(mAP=mAP, runs=[dict(mAP=x) for x in seeds])
                    if mAP is not None else None)
    lines = report.verdict([model('YOLO11n', 'yolo11', 70, 6.6, 0.5),
                                    model('A', 'fasternet', 84, 9.4, 0.48),
                                    model('B', 'fasternet_lite', 63, 6.6, 0.52)])
    assert lines[0].startswith('- A is not faster than YOLO11n on this CPU but less accurate:')
    assert 'deploy-form CPU latency 20% higher' in lines[0] and 'bbox mAP -0.020' in lines[0]
    assert lines[1].startswith('- B is faster than YOLO11n on this CPU and as accurate or better')
    assert '10% lower' in lines[1] and 'bbox mAP +0.020' in lines[1]
    # With seeds, a difference inside their spread is called what it is.
    ref = model('YOLO11n', 'yolo11', 70, 6.6, 0.533, seeds=(0.506, 0.534, 0.560))
    close = model('C', 'fasternet_lite', 68, 6.4, 0.532, seeds=(0.536, 0.522, 0.539))
    far = model('D', 'fasternet', 90, 9.4, 0.470, seeds=(0.470, 0.469, 0.471))
    lines = report.verdict([ref, close, far])
    assert 'as accurate within seed noise' in lines[0] and '+-0.016' in lines[0]
    assert 'but less accurate' in lines[1]
    # Faster in one backend and slower in another is said as such, naming where.
    mixed = model('E', 'fasternet_lite', 60, 6.0, 0.46, seeds=(0.45, 0.46, 0.47))
    mixed['speed']['onnxruntime/cpu'] = dict(median_ms=50)
    ref['speed']['onnxruntime/cpu'] = dict(median_ms=45)
    line = report.verdict([ref, mixed])[0]
    assert line.startswith('- E is faster than YOLO11n on this CPU in PyTorch CPU, deploy-form CPU, '
                           'not in ONNX Runtime; less accurate:')
    assert 'ONNX Runtime latency 11% higher' in line


def test_train_speed_real_loader_and_synthetic(fire_yaml):
    opts = [f'{k}.dataset.data_yaml={fire_yaml}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    out = run_tool('tools/analysis_tools/train_speed.py', 'configs/yolo11n_fasternet_lite_fire.py',
                   '--iters', '2', '--warmup', '1', '--batch', '2', '--workers', '1',
                   '--threads', '1', '--cfg-options', *opts).out
    line = [ln for ln in out.splitlines() if ln.startswith('yolo11n_fasternet_lite_fire.py:')][-1]
    assert 'batch 2, 1 dataloader workers, 1 threads' in line
    iteration = float(line.split('iteration ')[1].split()[0])
    data_time = float(line.split('data_time ')[1].split()[0])
    assert 0 <= data_time <= iteration
    assert float(line.split('largest worker ')[1].split()[0]) > 50  # the worker was seen
    out = run_tool('tools/analysis_tools/train_speed.py', 'configs/yolo11n_fasternet_lite_coco.py',
                   '--synthetic', '--channels-last', '--img-size', '64', '--iters', '1', '--warmup', '1', '--batch',
                   '2', '--threads', '1').out
    assert 'batch 2, synthetic batches, channels_last' in out and 'images/s' in out


def test_bad_train_data_fails_at_once_in_one_line(tmp_path, capsys):
    bad = tmp_path / 'data.yaml'
    bad.write_text('train: images/train\nval: images/val\n')  # no class names
    with pytest.raises(SystemExit) as exit_info:
        cli.main(compare_report.main, ['--train-data', str(bad), '--work-dir', str(tmp_path / 'w')])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and str(bad) in err and '\n' not in err
    assert not (tmp_path / 'w').exists()  # nothing measured before the check


def test_plot_uses_a_backend_every_model_was_timed_in(tmp_path):
    # A report of exported backends only (no PyTorch rows) still draws its figure, on ONNX Runtime's
    # axis; a report whose models share no backend draws none and its markdown links no image.
    def model(label, speed):
        return dict(label=label, line='yolo26', scale='n', gflops=5.5, params=2.4e6, train=None,
                    speed={k: dict(median_ms=v) for k, v in speed.items()})
    timed = [model('A', {'onnxruntime/cpu': 40.0, 'openvino/cpu': 34.0}),
             model('B', {'onnxruntime/cpu': 31.0})]
    assert report.plot_backend(timed) == 'onnxruntime/cpu'
    assert report.plot(timed, [], str(tmp_path / 'a.png')) and (tmp_path / 'a.png').stat().st_size > 0
    apart = [model('A', {'openvino/cpu': 34.0}), model('B', {'onnxruntime/cpu': 31.0})]
    assert report.plot_backend(apart) is None
    assert not report.plot(apart, [], str(tmp_path / 'b.png')) and not (tmp_path / 'b.png').exists()
