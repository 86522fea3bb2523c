"""The config's COCO metric over an exported model (``tools/deployment/test_exported.py``).

The val dataloader and ``val_evaluator`` are the config's, as ``tools/test.py`` builds them,
with the changes an exported graph needs (:func:`prepare_config`): the test pipeline stored in
the model (its letterbox size is the graph's fixed input size) and no batch shapes. Each image's packed tensor goes
through the detector's own normaliser and session (ONNX Runtime or OpenVINO); a ``raw`` export
is decoded and NMS-ed as the PyTorch head does (``YOLOv5Head.predict_by_feat``: multi-label,
the config's ``test_cfg`` score threshold, NMS IoU and ``max_per_img``); the boxes are mapped
back to the original image (:func:`~fasternet_yolo11.deploy.preprocess.unletterbox`) and fed to
the evaluator with the batch's ground truth.
"""
from typing import Optional


def prepare_config(cfg, detector):
    """In place: ``cfg``'s val set read through the test pipeline stored in the exported model
    (the one it was exported with, so its letterbox size is the graph's input size), without
    batch shapes (every image gets the same ``img_hw`` input), one image per batch."""
    dataset = cfg.val_dataloader.dataset
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    dataset['batch_shapes_cfg'] = None
    # read back from JSON: lists where mmyolo wants tuples
    dataset['pipeline'] = [{k: tuple(v) if isinstance(v, list) else v for k, v in t.items()}
                           for t in detector.pipeline]
    cfg.val_dataloader.batch_size = 1
    return cfg


def evaluate(cfg, detector, max_images: Optional[int] = None, progress: bool = False) -> dict:
    """The metrics of ``cfg.val_evaluator`` for ``detector`` (an
    :class:`~fasternet_yolo11.deploy.exported.ExportedDetector`) over ``cfg``'s val set (the
    first ``max_images`` only, when given)."""
    import torch
    from mmengine.evaluator import Evaluator
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmengine.structures import InstanceData

    from .preprocess import unletterbox
    init_default_scope('mmyolo')
    cfg = prepare_config(cfg, detector)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = loader.dataset.metainfo
    test_cfg = cfg.model.get('test_cfg', {})
    score_thr = test_cfg.get('score_thr', 0.001)
    iou_thr = test_cfg.get('nms', {}).get('iou_threshold', 0.7)
    max_per_img = test_cfg.get('max_per_img', 300)
    n = 0
    it = loader
    if progress:
        from tqdm import tqdm
        it = tqdm(loader, desc=f'evaluate ({detector.backend})', unit='img')
    for batch in it:
        samples = batch['data_samples']
        for img, sample in zip(batch['inputs'], samples):
            boxes, scores, labels = detector(detector.normalise(img), iou_thr, score_thr,
                                             max_per_img)[0]
            pred = InstanceData()
            pred.bboxes = torch.from_numpy(unletterbox(boxes, sample.metainfo))
            pred.scores = torch.from_numpy(scores.astype('float32'))
            pred.labels = torch.from_numpy(labels.astype('int64'))
            sample.pred_instances = pred
        evaluator.process(data_samples=samples, data_batch=batch)
        n += len(samples)
        if max_images and n >= max_images:
            break
    return evaluator.evaluate(n)
