# tiny_det_coco.py with the operator's metric and early stopping, on a model that cannot change:
# lr 0 and BN momentum 0, so every validation gives the same numbers (no improvement).
_base_ = './tiny_det_coco.py'

frozen_norm = dict(type='BN', momentum=0.0, eps=0.001)
model = dict(backbone=dict(norm_cfg=frozen_norm), neck=dict(norm_cfg=frozen_norm),
             bbox_head=dict(head_module=dict(norm_cfg=frozen_norm)),
             test_cfg=dict(score_thr=0.0))  # a random model's scores are tiny: keep every box
val_evaluator = dict(_delete_=True, type='DetectionPRMetric', ann_file='data/tiny/annotations/val.json',
                     metric='bbox', proposal_nums=(100, 1, 10))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.0))
train_cfg = dict(max_epochs=8, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=5, save_best='coco/bbox_mAP', rule='greater'))
# patience 50 here: the test sets 2 with tools/train.py --patience
custom_hooks = [dict(type='FitnessEarlyStoppingHook', monitor='coco/fitness', patience=50),
                dict(type='BestThresholdHook')]
