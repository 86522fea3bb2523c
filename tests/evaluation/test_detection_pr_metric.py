"""DetectionPRMetric on hand-built predictions: exact P, R, F1, best threshold, confusion counts;
mAP columns equal to mmdet's CocoMetric; the eval-dir files."""
import json

import numpy as np
import pytest
import torch
from mmdet.evaluation import CocoMetric

from fasternet_yolo11.evaluation import DetectionPRMetric
from fasternet_yolo11.evaluation.matching import best_f1_index, confusion_counts, match_image, pr_curves, threshold_grid
from fasternet_yolo11.evaluation.reports import EVAL_FILES, format_table, write_eval_dir

CLASSES = ('fire', 'smoke')
FIRE, SMOKE = 0, 1

# (ground truth [(box, label)], detections [(box, score, label)]) per image. By hand, IoU 0.5:
#   image 0: fire A found (0.9 TP), smoke B found (0.8 TP), a fire where nothing is (0.3 FP)
#   image 1: fire C found (0.7 TP), a duplicate of C (0.6 FP, one to one), fire D detected as
#            smoke (0.5: FP smoke, D missed)
#   image 2: smoke E missed, a smoke where nothing is (0.4 FP)
# fire: 3 GT, detections 0.9 TP, 0.7 TP, 0.6 FP, 0.3 FP; smoke: 2 GT, 0.8 TP, 0.5 FP, 0.4 FP.
IMAGES = [
    ([([0, 0, 10, 10], FIRE), ([20, 20, 40, 40], SMOKE)],
     [([0, 0, 10, 10], 0.9, FIRE), ([20, 20, 40, 40], 0.8, SMOKE), ([50, 50, 60, 60], 0.3, FIRE)]),
    ([([10, 10, 30, 30], FIRE), ([60, 60, 80, 80], FIRE)],
     [([10, 10, 30, 30], 0.7, FIRE), ([11, 11, 30, 30], 0.6, FIRE), ([60, 60, 80, 80], 0.5, SMOKE)]),
    ([([0, 0, 50, 50], SMOKE)],
     [([70, 70, 90, 90], 0.4, SMOKE)]),
]
# Mean F1 over the two classes by threshold interval: (.6, .7] is the maximum, (0.8 + 2/3) / 2:
# fire P 1, R 2/3, F1 0.8; smoke P 1, R 1/2, F1 2/3. Grid points i/999 in (.6, .7]: i = 600..699,
# the middle one is 649.
BEST_THR = 649 / 999


def samples(images=IMAGES, with_instances=True):
    out = []
    for i, (gts, dets) in enumerate(images):
        s = dict(img_id=i, ori_shape=(100, 100),
                 pred_instances=dict(
                     bboxes=torch.tensor([d[0] for d in dets], dtype=torch.float32).reshape(-1, 4),
                     scores=torch.tensor([d[1] for d in dets], dtype=torch.float32),
                     labels=torch.tensor([d[2] for d in dets], dtype=torch.int64)))
        if with_instances:
            s['instances'] = [dict(bbox=list(map(float, b)), bbox_label=lab, ignore_flag=0) for b, lab in gts]
        else:
            s['gt_instances'] = dict(bboxes=torch.tensor([g[0] for g in gts], dtype=torch.float32),
                                     labels=torch.tensor([g[1] for g in gts]))
        out.append(s)
    return out


def evaluate(metric, data):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, data)
    return metric.evaluate(len(data))


def test_exact_p_r_f1_and_best_threshold():
    metric = DetectionPRMetric(ann_file=None, metric='bbox', proposal_nums=(100, 1, 10))
    res = evaluate(metric, samples())
    assert res['coco/best_f1_thr'] == pytest.approx(BEST_THR, abs=1e-12)
    assert res['coco/precision'] == pytest.approx(1.0)
    assert res['coco/recall'] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert res['coco/f1'] == pytest.approx((0.8 + 2 / 3) / 2)
    per = metric.last_report['per_class']
    assert (per['fire']['P'], per['fire']['R'], per['fire']['F1']) == pytest.approx((1, 2 / 3, 0.8))
    assert (per['smoke']['P'], per['smoke']['R'], per['smoke']['F1']) == pytest.approx((1, 0.5, 2 / 3))
    assert (per['fire']['instances'], per['smoke']['instances']) == (3, 2)
    assert (per['fire']['images'], per['smoke']['images']) == (2, 2)
    report = metric.last_report
    assert report['all']['images'] == 3 and report['all']['instances'] == 5
    # The curves at a few thresholds, by hand (exact counts over the detections with score >= t).
    grid = report['curves']['grid']
    p, r = report['curves']['P'], report['curves']['R']
    i = int(np.searchsorted(grid, 0.35))       # fire: 2 TP, 1 FP; smoke: 1 TP 2 FP
    assert (p[0, i], r[0, i], p[1, i], r[1, i]) == pytest.approx((2 / 3, 2 / 3, 1 / 3, 1 / 2))
    assert (p[0, 0], r[0, 0]) == pytest.approx((0.5, 2 / 3))  # t = 0: every detection
    assert (p[0, -1], r[0, -1]) == (1.0, 0.0)                 # t = 1: nothing claimed


def test_fitness_and_map_columns_equal_coco_metric():
    ours = DetectionPRMetric(ann_file=None, metric='bbox', classwise=True, proposal_nums=(100, 1, 10))
    res = evaluate(ours, samples())
    ref = evaluate(CocoMetric(ann_file=None, metric='bbox', classwise=True, proposal_nums=(100, 1, 10)),
                   samples())
    for key, value in ref.items():
        assert res[key] == value, key
    report = ours.last_report
    assert round(report['all']['mAP50-95'], 3) == ref['coco/bbox_mAP']
    assert round(report['all']['mAP50'], 3) == ref['coco/bbox_mAP_50']
    for name in CLASSES:  # CocoMetric's per-class "precision" is the class's AP@[.5:.95]
        assert round(report['per_class'][name]['mAP50-95'], 3) == ref[f'coco/{name}_precision']
    # the all row is the mean of the class rows, as pycocotools averages
    assert np.mean([report['per_class'][n]['mAP50'] for n in CLASSES]) == pytest.approx(report['all']['mAP50'])
    assert np.mean([report['per_class'][n]['mAP50-95'] for n in CLASSES]) == pytest.approx(
        report['all']['mAP50-95'])
    assert res['coco/fitness'] == pytest.approx(0.1 * report['all']['mAP50'] + 0.9 * report['all']['mAP50-95'])
    assert 0 < res['coco/fitness'] < 1
    # and mmdet's module is left as it was
    from mmdet.datasets.api_wrappers import COCOeval
    from mmdet.evaluation.metrics import coco_metric
    assert coco_metric.COCOeval is COCOeval


def test_ground_truth_from_gt_instances_gives_the_same():
    # an ann_file run has no packed `instances`: P/R/F1 read gt_instances (boxes as mmdet's
    # HorizontalBoxes) and ignored_instances
    from mmdet.structures.bbox import HorizontalBoxes

    from fasternet_yolo11.evaluation.metrics.detection_pr_metric import ground_truth_of
    for raw, packed in zip(samples(), samples(with_instances=False)):
        packed['gt_instances']['bboxes'] = HorizontalBoxes(packed['gt_instances']['bboxes'])
        a, b = ground_truth_of(raw), ground_truth_of(packed)
        for x, y in zip(a, b):
            assert np.array_equal(x, y)
    packed['ignored_instances'] = dict(bboxes=torch.zeros(1, 4), labels=torch.tensor([1]))
    boxes, labels, ignore = ground_truth_of(packed)
    assert labels.tolist() == [1, 1] and ignore.tolist() == [False, True]


def test_confusion_counts_by_hand():
    metric = DetectionPRMetric(ann_file=None)
    evaluate(metric, samples())
    cm = metric.last_report['confusion']['matrix']
    # [true][predicted], last = background. fire: A, C found; D taken for smoke. smoke: B found,
    # E missed. background: the 0.3 and 0.6 fires, the 0.4 smoke.
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [2, 1, 0]]
    best = DetectionPRMetric(ann_file=None, confusion_score_thr='best')
    evaluate(best, samples())
    # at 0.65 only the 0.9, 0.8, 0.7 detections remain: D and E missed, no false detection
    assert best.last_report['confusion']['matrix'].tolist() == [[2, 0, 1], [0, 1, 1], [0, 0, 0]]
    # the tool's function is the same code
    from fasternet_yolo11.analysis.confusion import match
    gts, dets = IMAGES[1]
    args = ([g[0] for g in gts], [g[1] for g in gts], [d[0] for d in dets], [d[2] for d in dets], 2, 0.45)
    assert match(*args, [d[1] for d in dets]).tolist() == confusion_counts(
        *args, [d[1] for d in dets]).tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 0]]


def test_matching_rules():
    gt = [[0, 0, 10, 10]]
    # best score first, not best IoU: the 0.9 detection (IoU 0.81) takes the box
    tp, keep = match_image(gt, [0], [[0, 0, 10, 10], [1, 1, 10, 10]], [0.5, 0.9], [0, 0])
    assert tp.tolist() == [False, True] and keep.all()
    # wrong class is never a TP; a detection on an ignored (crowd) box is neither TP nor FP
    tp, keep = match_image([[0, 0, 10, 10], [50, 50, 70, 70]], [0, 0], [[0, 0, 10, 10], [50, 50, 70, 70]],
                           [0.9, 0.8], [1, 0], gt_ignore=[False, True])
    assert tp.tolist() == [False, False] and keep.tolist() == [True, False]
    # a class without detections: P = R = F1 = 0; without ground truth: NaN row, left out
    grid, p, r, f1 = pr_curves([0.5], [True], [0], [1, 2, 0], threshold_grid(11))
    assert p[1].tolist() == [0.0] * 11 and np.isnan(p[2]).all()
    i, mean = best_f1_index(f1)
    assert mean[0] == pytest.approx(0.5) and grid[i] == pytest.approx(0.2)  # plateau 0..0.5 -> middle


def test_table_and_eval_dir(tmp_path):
    metric = DetectionPRMetric(ann_file=None, eval_dir=str(tmp_path / 'eval'))
    evaluate(metric, samples())
    table = format_table(metric.last_report).splitlines()
    assert table[0].split() == ['Class', 'Images', 'Instances', 'P', 'R', 'mAP50', 'mAP50-95']
    assert table[1].split()[:5] == ['all', '3', '5', '1', '0.583']
    assert [ln.split()[0] for ln in table[2:4]] == ['fire', 'smoke']
    for name in EVAL_FILES:
        assert (tmp_path / 'eval' / name).stat().st_size > 0, name
    for name in EVAL_FILES[:-1]:
        assert (tmp_path / 'eval' / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    saved = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())
    assert saved['best_f1_threshold'] == pytest.approx(BEST_THR)
    assert saved['per_class']['fire']['instances'] == 3
    assert set(saved['per_class']['smoke']) >= {'P', 'R', 'F1', 'mAP50', 'mAP50-95', 'instances'}
    assert saved['confusion_matrix']['counts'] == [[2, 1, 0], [0, 1, 1], [2, 1, 0]]
    # written again elsewhere from the kept report
    paths = write_eval_dir(metric.last_report, str(tmp_path / 'again'))
    assert len(paths) == len(EVAL_FILES)


def test_no_detections_at_all():
    metric = DetectionPRMetric(ann_file=None)
    res = evaluate(metric, samples([(gts, []) for gts, _ in IMAGES]))
    assert res['coco/precision'] == 0 and res['coco/recall'] == 0 and res['coco/f1'] == 0
    assert res['coco/fitness'] == 0.0 and res['coco/best_f1_thr'] == 0.0
    # detections, none right: threshold 0, P and R over all of them
    wrong = [(gts, [([90, 90, 99, 99], 0.8, FIRE), ([80, 80, 99, 99], 0.6, SMOKE)]) for gts, _ in IMAGES]
    res = evaluate(DetectionPRMetric(ann_file=None), samples(wrong))
    assert res['coco/best_f1_thr'] == 0.0 and res['coco/precision'] == 0 and res['coco/recall'] == 0


def test_eval_dir_auto_is_the_log_dir(tmp_path):
    from mmengine.logging import MMLogger
    (tmp_path / 'run').mkdir()
    MMLogger.get_instance('test_pr_auto_dir', log_file=str(tmp_path / 'run' / 'run.log'))
    metric = DetectionPRMetric(ann_file=None, eval_dir='auto')
    evaluate(metric, samples())
    assert (tmp_path / 'run' / 'metrics.json').is_file() and (tmp_path / 'run' / 'PR_curve.png').is_file()


def test_patience_and_eval_dir_edit_the_config():
    from mmengine.config import Config

    from fasternet_yolo11.config.derivation import use_pr_metric
    from fasternet_yolo11.config.run_settings import apply_run_settings, set_eval_dir
    cfg = Config(dict(val_evaluator=dict(type='mmdet.CocoMetric', ann_file=None, metric='bbox', classwise=True),
                      test_evaluator=[dict(type='mmdet.CocoMetric', metric='bbox'), dict(type='Other')],
                      custom_hooks=[dict(type='EMAHook')]))
    assert set_eval_dir(cfg.test_evaluator, '/x') == 1
    assert cfg.test_evaluator[0].type == 'DetectionPRMetric' and cfg.test_evaluator[0].eval_dir == '/x'
    assert 'eval_dir' not in cfg.test_evaluator[1]
    apply_run_settings(cfg, patience=7)  # --patience on a config without early stopping adds it
    hook = cfg.custom_hooks[-1]
    assert hook == dict(type='FitnessEarlyStoppingHook', monitor='coco/fitness', rule='greater', patience=7)
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook', 'FitnessEarlyStoppingHook']
    assert cfg.val_evaluator.type == 'DetectionPRMetric' and cfg.val_evaluator.classwise
    assert cfg.patience == 7
    cfg.custom_hooks[1].monitor = 'coco/bbox_mAP'  # a config's own hook keeps its monitor
    apply_run_settings(cfg, patience=3)
    assert len(cfg.custom_hooks) == 2 and cfg.custom_hooks[1].patience == 3
    assert cfg.custom_hooks[1].monitor == 'coco/bbox_mAP'
    assert use_pr_metric(dict(type='mmdet.CocoMetric', metric='segm')) == 0
    # the edited evaluator builds
    from mmyolo.registry import METRICS
    assert type(METRICS.build(cfg.val_evaluator)).__name__ == 'DetectionPRMetric'
