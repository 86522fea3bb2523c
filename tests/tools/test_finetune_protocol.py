"""finetune_protocol.py's tables and verdict from per-seed results (the trainings themselves are
compare_report's, tested there)."""
import json
import math

import pytest

from tools.analysis_tools import finetune_protocol as fp


def test_mean_and_standard_error():
    m, se, sd = fp.mean_se([0.5, 0.6, 0.7])
    assert m == pytest.approx(0.6) and sd == pytest.approx(0.1) and se == pytest.approx(0.1 / math.sqrt(3))


def test_report_tables_and_the_target_verdict(tmp_path):
    args = fp.parse_args(['--sets', 'a=x.yaml', '--work-dir', str(tmp_path)])
    runs = {
        ('a', 'YOLO26n', 'weights', 'full'): [dict(mAP=v, mAP_one2many=v + 0.01) for v in (0.50, 0.52, 0.54)],
        ('a', 'Fast', 'weights_teacher', 'full'): [dict(mAP=v) for v in (0.51, 0.51, 0.51)],
        ('a', 'Slow', 'weights_teacher', 'full'): [dict(mAP=v) for v in (0.40, 0.41, 0.42)],
        ('a', 'Fast', 'weights_teacher', 'short'): [dict(mAP=0.3)],
    }
    fp.report(args, str(tmp_path), ('YOLO26n', 'b.py'), ('YOLO26s', 't.py'), {'a': 'x.yaml'},
              {'YOLO26n': dict(mAP=0.6)}, {'a': (dict(mAP=0.7), 't.pth')}, runs)
    text = (tmp_path / 'protocol.md').read_text()
    assert '| a | YOLO26n | pretrained | 0.520 ± 0.012 (0.500, 0.520, 0.540) | 0.530 ± 0.012' in text
    assert '## Short schedule' in text
    # the target: mean >= 0.52 - 0.01155
    assert 'Fast with the teacher 0.510 vs YOLO26n 0.520 ± 0.012: within one standard error or above' in text
    assert 'Slow with the teacher 0.410 vs YOLO26n 0.520 ± 0.012: 0.098 below the target' in text
    saved = json.loads((tmp_path / 'protocol.json').read_text())
    assert len(saved['runs']) == 4 and saved['teachers']['a']['mAP'] == 0.7


def test_candidates_must_be_label_equals_existing_path():
    with pytest.raises(fp.UserError, match='LABEL=PATH'):
        fp.labelled('configs/yolo26n_coco.py')
    assert fp.labelled('N=configs/yolo26n_coco.py')[1].endswith('configs/yolo26n_coco.py')
