"""The YOLO11 detection head (Ultralytics 8.3.0 ``Detect``), with YOLO26's options (8.4 ``Detect``)."""
import copy
import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.utils import multi_apply
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from mmyolo.models.dense_heads import YOLOv8Head, YOLOv8HeadModule
from mmyolo.registry import MODELS

from ..layers.fasternet_layers import PConv
from ..layers.yolo11_layers import YOLO11_ACT_CFG, YOLO11_NORM_CFG, reset_conv_parameters


@MODELS.register_module()
class YOLO11HeadModule(YOLOv8HeadModule):
    """Decoupled anchor-free head module of YOLO11.

    Per level ``i`` (Ultralytics ``Detect.cv2[i]`` / ``cv3[i]``):

    * ``reg_preds[i]``: Conv3x3(c2) -> Conv3x3(c2) -> Conv2d 1x1
      (``4 * reg_max`` box-distribution logits, sides l, t, r, b);
    * ``cls_preds[i]``: (DWConv3x3 -> Conv1x1(c3)) -> (DWConv3x3 ->
      Conv1x1(c3)) -> Conv2d 1x1 (``num_classes`` logits), nested exactly as
      Ultralytics' ``Sequential`` so indices map one to one;

    with ``c2 = max(16, in_channels[0] // 4, 4 * reg_max)`` and
    ``c3 = max(in_channels[0], min(num_classes, 100))``.

    ``in_channels`` are the **actual** channels of the neck outputs (a ``ChainedYOLODetector``
    passes its neck's ``out_channels``). Unlike
    MMYOLO's ``YOLOv8HeadModule`` there is no ``widen_factor``: that module
    passes ``in_channels`` through ``make_divisible(c, widen_factor)``, which
    would also round real widths that are not multiples of 8.

    The DFL integral (softmax over ``reg_max`` bins dotted with
    ``0..reg_max-1``) uses MMYOLO's non-persistent ``proj`` buffer, so this
    head has 16 parameters fewer than Ultralytics' (whose frozen
    ``dfl.conv.weight`` holds the same ``arange(16)``); its trainable
    parameters are the same.

    Two options make the box branch's 3x3 convs (``reg_preds[i][0]`` and ``[1]``) cheaper, each
    turning a conv into a ``Sequential`` of a spatial and a pointwise part (None/False: YOLO11's
    head):

    * ``pconv_n_div``: FasterNet's PConv + pointwise pair, ``PConv`` (3x3 on
      ``C // pconv_n_div`` channels, the rest passed through) then a 1x1 ``ConvModule`` to the
      conv's output width (BN + act);
    * ``box_dwconv``: the class branch's own pair, a depthwise 3x3 ``ConvModule`` then a 1x1 one
      (Ultralytics' ``DWConv`` + ``Conv``): every channel still sees its 3x3 neighbourhood.

    The class branch keeps its depthwise 3x3 convs: a depthwise conv costs ``9 C`` weights where
    a PConv costs ``9 (C / n_div)^2``, which is more for ``C > n_div^2``, so PConv would not make
    it lighter.

    YOLO26 (Ultralytics 8.4) is two options of this head:

    * ``reg_max=1``: no DFL; the box branch's last conv outputs the 4 ltrb distances in grid
      units directly (its box bias starts at 2 cells: a box of a few cells);
    * ``one2one=True``: a second box/class branch pair (``one2one_reg_preds``,
      ``one2one_cls_preds``), a copy of the first, trained for one prediction per object on
      **detached** features (its gradients never reach the neck, so it learns to pick from what
      the one-to-many branch shapes). ``end2end`` (True by default; the dense head sets it from
      its ``test_cfg``) makes inference run that branch alone, whose top-k needs no NMS.

    Shapes: inputs (B, in_channels[i], H_i, W_i). In training,
    ``forward`` returns per level class logits (B, nc, H_i, W_i), decoded
    distances (B, 4, H_i, W_i) in grid units and distribution logits
    (B, H_i*W_i, 4, reg_max) (with ``reg_max=1`` the distances again), then with ``one2one``
    the same three of the one-to-one branch; in eval the first two of the branch that infers.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Optional[Sequence[int]] = None,
                 num_base_priors: int = 1,
                 featmap_strides: Sequence[int] = (8, 16, 32),
                 reg_max: int = 16,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 pconv_n_div: Optional[int] = None,
                 box_dwconv: bool = False,
                 one2one: bool = False,
                 init_cfg: OptMultiConfig = None):
        # Not YOLOv8HeadModule.__init__: it rescales in_channels.
        BaseModule.__init__(self, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.featmap_strides = featmap_strides
        self.num_levels = len(featmap_strides)
        self.num_base_priors = num_base_priors
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.reg_max = reg_max
        assert not (pconv_n_div and box_dwconv), 'pconv_n_div and box_dwconv both replace the box convs: pick one'
        self.pconv_n_div = pconv_n_div
        self.box_dwconv = box_dwconv
        self.one2one = one2one
        self.end2end = one2one
        if in_channels is None:
            raise ValueError('YOLO11HeadModule needs in_channels: give them, or build the head in a '
                             'ChainedYOLODetector, which passes the neck\'s widths')
        self.in_channels = list(in_channels)
        assert len(self.in_channels) == self.num_levels
        self._init_layers()

    def _init_layers(self):
        reg_channels = max(16, self.in_channels[0] // 4, 4 * self.reg_max)
        cls_channels = max(self.in_channels[0], min(self.num_classes, 100))
        cfg = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

        def dw_pw(in_channels: int, out_channels: int = cls_channels) -> nn.Sequential:
            """Ultralytics' ``DWConv(c, c, 3)`` then ``Conv(c, c2, 1)``."""
            return nn.Sequential(
                ConvModule(
                    in_channels,
                    in_channels,
                    3,
                    padding=1,
                    groups=in_channels,
                    **cfg),
                ConvModule(in_channels, out_channels, 1, **cfg))

        def conv3x3(in_channels: int, out_channels: int) -> nn.Module:
            """Ultralytics' ``Conv(c1, c2, 3)``, or PConv + 1x1 with ``pconv_n_div``, or
            depthwise 3x3 + 1x1 with ``box_dwconv``."""
            if self.box_dwconv:
                return dw_pw(in_channels, out_channels)
            if self.pconv_n_div is None:
                return ConvModule(in_channels, out_channels, 3, padding=1, **cfg)
            return nn.Sequential(
                PConv(in_channels, self.pconv_n_div),
                ConvModule(in_channels, out_channels, 1, **cfg))

        self.reg_preds = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        for in_channels in self.in_channels:
            self.reg_preds.append(
                nn.Sequential(
                    conv3x3(in_channels, reg_channels),
                    conv3x3(reg_channels, reg_channels),
                    nn.Conv2d(reg_channels, 4 * self.reg_max, 1)))
            self.cls_preds.append(
                nn.Sequential(
                    dw_pw(in_channels), dw_pw(cls_channels),
                    nn.Conv2d(cls_channels, self.num_classes, 1)))

        if self.one2one:
            self.one2one_reg_preds = copy.deepcopy(self.reg_preds)
            self.one2one_cls_preds = copy.deepcopy(self.cls_preds)
        proj = torch.arange(self.reg_max, dtype=torch.float)
        self.register_buffer('proj', proj, persistent=False)

    def forward(self, x):
        """Per level outputs of the branch(es) that run: see the class docstring."""
        assert len(x) == self.num_levels
        if self.one2one and self.end2end and not self.training:
            return multi_apply(self.forward_single, x, self.one2one_cls_preds, self.one2one_reg_preds)
        one2many = multi_apply(self.forward_single, x, self.cls_preds, self.reg_preds)
        if not (self.one2one and self.training):
            return one2many
        detached = [f.detach() for f in x]
        return one2many + multi_apply(self.forward_single, detached, self.one2one_cls_preds,
                                      self.one2one_reg_preds)

    def branch_outputs(self, x) -> dict:
        """Every branch's per level class logits (B, nc, H_i, W_i) and box distances (B, 4, H_i,
        W_i), grid units, in any mode: ``{'one2many': (cls, bbox)}``, plus ``'one2one'`` when
        the head has that branch (what a distillation teacher gives, frozen in eval mode)."""
        out = {'one2many': tuple(multi_apply(self.forward_single, x, self.cls_preds, self.reg_preds)[:2])}
        if self.one2one:
            out['one2one'] = tuple(multi_apply(self.forward_single, x, self.one2one_cls_preds,
                                               self.one2one_reg_preds)[:2])
        return out

    def drop_training_branches(self) -> None:
        """Delete the branch inference does not run (the deploy form): the one-to-many branch of
        an end-to-end head, the one-to-one branch otherwise."""
        if not self.one2one:
            return
        if self.end2end:
            self.reg_preds, self.cls_preds = self.one2one_reg_preds, self.one2one_cls_preds
        del self.one2one_reg_preds, self.one2one_cls_preds
        self.one2one = False

    def init_weights(self):
        """PyTorch's default conv init and Ultralytics' ``bias_init``.

        Box bias 1.0 on the DFL logits (8.3.0's value; a constant shift of all bins has no
        effect), 2.0 on direct distances (``reg_max=1``: boxes 2 cells from the anchor, 8.4's);
        class bias ``log(5 / nc / (640 / stride)^2)`` (about 5 objects per 640 image, e.g.
        -11.54/-10.15/-8.76 for nc=80). The one-to-one branch starts as a copy of the other.
        """
        if self.init_cfg is None:
            reset_conv_parameters(self)
        else:
            BaseModule.init_weights(self)
        for reg_pred, cls_pred, stride in zip(self.reg_preds, self.cls_preds,
                                              self.featmap_strides):
            reg_pred[-1].bias.data[:] = 1.0 if self.reg_max > 1 else 2.0
            cls_pred[-1].bias.data[:self.num_classes] = math.log(
                5 / self.num_classes / (640 / stride)**2)
        if self.one2one:
            self.one2one_reg_preds.load_state_dict(self.reg_preds.state_dict())
            self.one2one_cls_preds.load_state_dict(self.cls_preds.state_dict())


@MODELS.register_module()
class YOLO11Head(YOLOv8Head):
    """YOLO11 head: :class:`YOLO11HeadModule` with YOLOv8's loss and
    post-processing.

    The loss path is ``YOLOv8Head.loss_by_feat`` unchanged, which already
    matches Ultralytics' ``v8DetectionLoss``: TAL assignment (top-k 10,
    alpha 0.5, beta 6, CIoU), BCE x 0.5 over the assigned-score sum, CIoU
    x 7.5 and DFL x 1.5 / 4 (MMDet's DFL sums the 4 sides where Ultralytics
    averages them), every term times the batch size. Inference is
    ``YOLOv5Head.predict_by_feat`` (multi-label score filter, top-k, batched
    NMS).
    """
