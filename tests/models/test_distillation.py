"""Distillation: the losses on hand-made tensors, the student/teacher detector (gradients, stop epoch, no
teacher in the state dict, the deploy form or the ONNX graph), and the 3x3 -> 2x2 kernel fold."""
import copy

import onnx
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmyolo.registry import MODELS
from mmyolo.utils import register_all_modules

from fasternet_yolo11.config.distillation import apply_teacher, plain_detector, stop_epoch_of
from fasternet_yolo11.deploy.onnx_export import export
from fasternet_yolo11.errors import MissingFileError
from fasternet_yolo11.models.deploy_form import switch_to_deploy
from fasternet_yolo11.models.layers.yolo11_layers import build_downsample_conv, fold_3x3_to_2x2
from fasternet_yolo11.models.losses import BoxDistillLoss, ChannelWiseDivergence, ScoreDistillLoss, binary_kl

register_all_modules()
REPO_CFG = 'tests/configs/tiny_yolo26.py'


def maps(seed, shapes):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g) for s in shapes]


SHAPES = [(2, 8, 8, 8), (2, 8, 4, 4)]


def branches(seed, nc=3, one2one=True):
    cls = maps(seed, [(2, nc, 8, 8), (2, nc, 4, 4)])
    box = [m.abs() * 3 for m in maps(seed + 1, [(2, 4, 8, 8), (2, 4, 4, 4)])]
    out = {'one2many': (cls, box)}
    if one2one:
        out['one2one'] = ([c - 1 for c in cls], [b + 0.5 for b in box])
    return out


def test_channel_wise_divergence_is_zero_at_equality_and_reads_positions_not_scale():
    cwd = ChannelWiseDivergence(tau=2.0)
    t = maps(0, SHAPES)
    assert cwd(t, t).item() == pytest.approx(0, abs=1e-6)
    assert cwd(maps(1, SHAPES), t).item() > 0.1
    # a per-channel constant shift leaves each channel's spatial softmax unchanged
    assert cwd([m + 5 for m in t], t).item() == pytest.approx(0, abs=1e-5)
    # by hand for one channel of one level: KL(softmax(t/tau) || softmax(s/tau)) * tau^2 / C
    s1, t1 = torch.tensor([[[[0., 1.], [2., 3.]]]]), torch.tensor([[[[1., 0.], [0., 1.]]]])
    p, q = F.softmax(t1.flatten() / 2, 0), F.softmax(s1.flatten() / 2, 0)
    assert cwd([s1], [t1]).item() == pytest.approx((p * (p / q).log()).sum().item() * 4, rel=1e-5)


def test_binary_kl_matches_the_bernoulli_formula():
    s, t = torch.tensor([-2.0, 0.5, 3.0]), torch.tensor([1.0, 0.5, -1.0])
    p, q = torch.sigmoid(t), torch.sigmoid(s)
    expected = p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()
    torch.testing.assert_close(binary_kl(s, t), expected)
    assert binary_kl(t, t).abs().max() < 1e-7


def test_head_losses_are_zero_at_equality_and_pair_the_branches():
    score, box = ScoreDistillLoss(), BoxDistillLoss()
    teacher = branches(0)
    assert score(teacher, teacher).item() == pytest.approx(0, abs=1e-6)
    assert box(teacher, teacher).item() == 0
    student = branches(5)
    assert score(student, teacher).item() > 0 and box(student, teacher).item() > 0
    # a YOLO11 teacher (one-to-many only) teaches both branches of a YOLO26 student from its one branch
    yolo11_teacher = {'one2many': teacher['one2many']}
    same = {'one2many': teacher['one2many'], 'one2one': teacher['one2many']}
    assert score(same, yolo11_teacher).item() == pytest.approx(0, abs=1e-6)
    assert box(same, yolo11_teacher).item() == 0
    # box distances only count where the teacher sees something: zero teacher scores, zero weight
    dark = {'one2many': ([torch.full_like(c, -30.) for c in teacher['one2many'][0]], teacher['one2many'][1])}
    assert box({'one2many': student['one2many']}, dark).item() == pytest.approx(0, abs=1e-9)


def tiny_model_cfgs(teacher_widen=0.125):
    """(student, teacher) model configs: the tiny YOLO26 and a wider one (other neck widths)."""
    cfg = Config.fromfile(REPO_CFG)
    student = cfg.model
    teacher = copy.deepcopy(student.to_dict())
    teacher['backbone']['widen_factor'] = teacher['neck']['widen_factor'] = teacher_widen
    return cfg, student, teacher


def distilled(stop_epoch=None, teacher_widen=0.125):
    cfg, student, teacher_cfg = tiny_model_cfgs(teacher_widen)
    model = MODELS.build(dict(student, type='DistilledYOLODetector', teacher=teacher_cfg, stop_epoch=stop_epoch))
    model.init_weights()
    teacher = MODELS.build(Config(dict(m=teacher_cfg)).m)
    teacher.init_weights()
    return model, teacher


def batch(num=2, size=64):
    g = torch.Generator().manual_seed(0)
    inputs = torch.rand(num, 3, size, size, generator=g) * 255
    boxes = torch.tensor([[0, 0, 10., 12., 40., 44.], [0, 1, 20., 8., 60., 30.], [1, 0, 5., 5., 30., 50.]])
    samples = dict(bboxes_labels=boxes, img_metas=[dict(batch_input_shape=(size, size), img_shape=(size, size))
                                                   for _ in range(num)])
    return inputs / 255, samples


def test_distilled_detector_trains_the_student_not_the_teacher():
    MessageHub.get_current_instance().update_info('epoch', 0)
    model, teacher = distilled()
    with pytest.raises(RuntimeError, match='no teacher'):
        model.loss(*batch())
    model.set_teacher(teacher)
    assert model.teacher is teacher and not teacher.training
    assert all(not p.requires_grad for p in teacher.parameters())
    model.train()
    losses = model.loss(*batch())
    names = {'loss_distill_neck_cwd', 'loss_distill_head_score', 'loss_distill_head_box'}
    assert names <= set(losses) and {'loss_cls', 'loss_bbox'} <= set(losses)
    sum(losses[k] for k in names).backward()
    assert model.backbone.stem.conv.weight.grad.abs().sum() > 0  # distillation alone reaches the backbone
    assert all(a.weight.grad.abs().sum() > 0 for a in model.distill_align)
    assert all(p.grad is None for p in teacher.parameters())
    # the teacher is no submodule: not in the state dict, the parameters (optimizer) or a deep copy's modules
    assert not any(k.startswith('_teacher') for k in model.state_dict())
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in teacher.parameters())


def test_stop_epoch_trains_without_the_teacher():
    model, _ = distilled(stop_epoch=2)
    model.train()
    MessageHub.get_current_instance().update_info('epoch', 2)
    try:
        losses = model.loss(*batch())  # no teacher set: it is not needed any more
    finally:
        MessageHub.get_current_instance().update_info('epoch', 0)
    assert not any(k.startswith('loss_distill') for k in losses)
    assert stop_epoch_of(-3, 15) == 12 and stop_epoch_of(4, 15) == 4 and stop_epoch_of(None, 15) is None


def test_equal_widths_need_no_alignment_conv():
    model, _ = distilled(teacher_widen=0.0625)
    assert all(isinstance(a, torch.nn.Identity) for a in model.distill_align)


def test_deploy_form_and_onnx_graph_have_no_teacher_nor_alignment(tmp_path):
    cfg, student_cfg, _ = tiny_model_cfgs()
    model, teacher = distilled()
    model.set_teacher(teacher)
    plain = MODELS.build(student_cfg)
    plain.init_weights()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith('distill_')})
    deployed = switch_to_deploy(copy.deepcopy(model), channels_last=False)
    assert not hasattr(deployed, 'distill_align') and deployed.teacher is None
    assert sum(p.numel() for p in deployed.parameters()) == \
        sum(p.numel() for p in switch_to_deploy(copy.deepcopy(plain)).parameters())
    graphs = []
    for m, name in ((model, 'distilled.onnx'), (plain, 'plain.onnx')):
        summary = export(m.eval(), cfg, str(tmp_path / name), img_hw=(64, 64))
        graphs.append((summary['ops'], sum(int(torch.tensor(i.dims).prod()) for i in
                                           onnx.load(summary['path']).graph.initializer)))
    assert graphs[0] == graphs[1]  # same nodes, same number of weights: nothing of the teacher


def test_apply_teacher_makes_a_student_with_the_runs_classes(tmp_path):
    cfg = Config.fromfile(REPO_CFG)
    cfg.num_classes = 2
    ckpt = tmp_path / 't.pth'
    ckpt.write_bytes(b'')
    cfg.max_epochs, cfg.close_mosaic_epochs = 15, 3
    student = apply_teacher(cfg, 'configs/yolo26s_fire.py', str(ckpt))
    assert student['type'] == 'DistilledYOLODetector' and cfg.teacher['checkpoint'] == str(ckpt)
    assert student['stop_epoch'] == 12  # by default, distillation stops with the mosaic
    cfg.distill = dict(stop_epoch=None)
    assert apply_teacher(cfg, 'configs/yolo26s_fire.py', str(ckpt))['stop_epoch'] is None
    assert student['teacher']['bbox_head']['head_module']['num_classes'] == 2
    assert student['teacher']['backbone']['widen_factor'] == 0.5
    assert [h['type'] for h in cfg.custom_hooks].count('DistillationTeacherHook') == 1
    apply_teacher(cfg, 'configs/yolo26s_fire.py', str(ckpt))  # again: still one hook, the plain student
    assert [h['type'] for h in cfg.custom_hooks].count('DistillationTeacherHook') == 1
    assert plain_detector(cfg.model)['type'] == 'ChainedYOLODetector'
    assert 'teacher' not in plain_detector(cfg.model)
    with pytest.raises(MissingFileError, match='teacher checkpoint not found'):
        apply_teacher(cfg, 'configs/yolo26s_fire.py', str(tmp_path / 'none.pth'))
    with pytest.raises(MissingFileError, match='config file not found'):
        apply_teacher(cfg, 'configs/none.py', str(ckpt))


def test_fold_3x3_to_2x2_follows_its_rule_on_a_known_kernel():
    w = torch.arange(9, dtype=torch.float).reshape(1, 1, 3, 3)  # [[0 1 2] [3 4 5] [6 7 8]]
    assert fold_3x3_to_2x2(w).tolist() == [[[[0 + 1 + 3 + 4, 2 + 5], [6 + 7, 8]]]]
    with pytest.raises(ValueError, match='3x3'):
        fold_3x3_to_2x2(torch.zeros(1, 1, 2, 2))
    # on an input constant over every window, the folded 2x2 conv answers as the 3x3 one (inside the border)
    conv3 = build_downsample_conv(4, 6, 3, norm_cfg=None, act_cfg=None).conv
    conv2 = build_downsample_conv(4, 6, 2, norm_cfg=None, act_cfg=None).conv
    with torch.no_grad():
        conv2.weight.copy_(fold_3x3_to_2x2(conv3.weight))
        conv2.bias.copy_(conv3.bias)
    x = torch.ones(1, 4, 8, 8) * torch.randn(1, 4, 1, 1)
    torch.testing.assert_close(conv2(x)[..., 1:, 1:], conv3(x)[..., 1:, 1:])


def test_a_distilled_checkpoint_loads_into_the_plain_student():
    _, student_cfg, _ = tiny_model_cfgs()
    model, _ = distilled()
    plain = MODELS.build(student_cfg)
    result = plain.load_state_dict(model.state_dict(), strict=True)  # the distill_align tensors are ignored
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(plain.state_dict()['backbone.stem.conv.weight'],
                               model.state_dict()['backbone.stem.conv.weight'])
