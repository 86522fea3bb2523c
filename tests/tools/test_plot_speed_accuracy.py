"""plot_speed_accuracy.py: latency ratios from a report, mAP from cached runs and a protocol, one table."""
import json

from tools.analysis_tools import plot_speed_accuracy as psa


def test_table_and_plot_from_a_report_runs_and_a_protocol(tmp_path):
    report = dict(models=[
        dict(config='configs/yolo26n_coco.py', label='YOLO26n', line='yolo26', scale='n',
             speed={'onnxruntime/cpu': dict(median_ms=40.0)}),
        dict(config='/w/search/fast_coco.py', label='Fast', line='fast', scale='n',
             speed={'onnxruntime/cpu': dict(median_ms=30.0)}),
        dict(config='u.onnx', label='Ultralytics YOLO26n', line='reference', scale='n',
             speed={'onnxruntime/cpu': dict(median_ms=36.0)})])
    (tmp_path / 'report.json').write_text(json.dumps(report))
    for name, values in (('yolo26n_coco', (0.40, 0.42)), ('fast_coco', (0.30, 0.30))):
        for seed, v in enumerate(values):
            run = tmp_path / 'scratch' / 'train' / name / f'seed{seed}'
            run.mkdir(parents=True)
            (run / 'result.json').write_text(json.dumps(dict(mAP=v)))
    protocol = dict(args=dict(base='YOLO26n=configs/yolo26n_coco.py', candidates=['F=/w/search/fast_coco.py']),
                    runs=[dict(set='fire', model='YOLO26n', start='weights', schedule='full',
                               runs=[dict(mAP=0.5), dict(mAP=0.52)]),
                          dict(set='fire', model='F', start='weights_teacher', schedule='full',
                               runs=[dict(mAP=0.49), dict(mAP=0.51)]),
                          dict(set='fire', model='F', start='weights_teacher', schedule='short',
                               runs=[dict(mAP=0.1)]),
                          dict(set='fire', model='F', start='scratch', schedule='full', runs=[dict(mAP=0.9)]),
                          dict(set='clutter', model='F', start='scratch', schedule='full',
                               runs=[dict(mAP=0.2), dict(mAP=0.24)])])
    (tmp_path / 'protocol.json').write_text(json.dumps(protocol))
    args = psa.parse_args([str(tmp_path / 'report.json'), '--scratch', f'fire={tmp_path / "scratch"}',
                           '--protocol', str(tmp_path / 'protocol.json'), '--out', str(tmp_path / 'p.png')])
    (tmp_path / 'old.json').write_text(json.dumps({'fast_coco': [dict(mAP=0.1)]}))
    ratio, points = psa.collect(args)
    assert points['fire'][('Fast', 'from scratch')][0] == 0.3
    older = psa.collect(psa.parse_args([str(tmp_path / 'report.json'), '--scratch', f'old={tmp_path / "old.json"}']))
    assert older[1] == {'old': {('Fast', 'from scratch'): (0.1, 0.0, 1)}}
    assert ratio == {'YOLO26n': 1.0, 'Fast': 0.75, 'Ultralytics YOLO26n': 0.9}
    m, se, n = points['fire'][('YOLO26n', 'from scratch')]
    assert (round(m, 6), round(se, 6), n) == (0.41, 0.01, 2)
    assert round(points['fire'][('Fast', 'pretrained + teacher')][0], 6) == 0.5  # protocol label -> config
    # The protocol's from-scratch runs fill a set --scratch did not cover, and give way where it did.
    assert round(points['clutter'][('Fast', 'from scratch')][0], 6) == 0.22
    text = psa.table(ratio, points, 'YOLO26n', 'onnxruntime')
    assert '| Fast | pretrained + teacher | 0.75x | 0.500 ± 0.010 |' in text
    assert '| Fast | from scratch | 0.75x | 0.300 ± 0.000 | 0.220 ± 0.020 |' in text
    assert '| Ultralytics YOLO26n' not in text  # a reference graph has no trained points
    one = psa.table(ratio, {'fire': {('Fast', 'from scratch'): (0.3, 0.0, 1)}}, 'YOLO26n', 'onnxruntime')
    assert '| Fast | from scratch | 0.75x | 0.300 (1 seed) |' in one  # no standard error of one run
    psa.main([str(tmp_path / 'report.json'), '--protocol', str(tmp_path / 'protocol.json'),
                       '--out', str(tmp_path / 'p.png')])
    assert (tmp_path / 'p.png').stat().st_size > 10000
