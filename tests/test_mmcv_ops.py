"""The compiled mmcv ops are present and run on the CPU (mmdet/mmyolo import them eagerly)."""
import torch


def test_mmcv_ext_is_compiled():
    import mmcv
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['nms', 'roi_align_forward'])
    assert mmcv.__version__ == '2.0.1'
    assert hasattr(ext, 'nms')


def test_batched_nms_keeps_per_class_maxima():
    from mmcv.ops import batched_nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [0., 0., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    labels = torch.tensor([0, 0, 1, 0])
    dets, keep = batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.5))
    # box 1 overlaps box 0 of the same class; box 2 overlaps too but is another class.
    assert keep.tolist() == [0, 2, 3]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7, 0.6]))


def test_roi_align_runs_on_cpu():
    from mmcv.ops import roi_align
    feat = torch.arange(16., dtype=torch.float32).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True)
    assert out.shape == (1, 1, 2, 2)
    assert out[0, 0, 0, 0] < out[0, 0, 1, 1]
