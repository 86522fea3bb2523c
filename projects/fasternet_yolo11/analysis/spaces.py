"""What the comparison report (``tools/analysis_tools/compare_report.py``) compares: the shipped lines,
the FasterNet backbone designs and the placement candidates of the search, the inference options.
"""
import os.path as osp

from ..config.loading import REPO_ROOT
from ..deploy.runtimes import SPEED_BACKENDS

# line -> (config name pattern, label pattern); {} is the scale letter.
LINES = {
    'yolo11': ('yolo11{}_coco.py', 'YOLO11{}'),
    'fasternet': ('yolo11{}_fasternet_coco.py', 'YOLO11{}-FasterNet'),
    'fasternet_lite': ('yolo11{}_fasternet_lite_coco.py', 'YOLO11{}-FasterNet-lite'),
    'fasternet_pconv': ('yolo11{}_fasternet_pconv_coco.py', 'YOLO11{}-FasterNet-PConv'),
    'down2x2': ('yolo11{}_down2x2_coco.py', 'YOLO11{}-Down2x2'),
    'yolo26': ('yolo26{}_coco.py', 'YOLO26{}'),
    'yolo26_fasternet': ('yolo26{}_fasternet_coco.py', 'YOLO26{}-FasterNet'),
    'yolo26_down2x2': ('yolo26{}_down2x2_coco.py', 'YOLO26{}-Down2x2'),
    'yolo26_down2x2_relu': ('yolo26{}_down2x2_relu_coco.py', 'YOLO26{}-Down2x2-ReLU'),
}
_RELU, _GELU = dict(type='ReLU', inplace=True), dict(type='GELU')
# FasterNet designs for the n scale, each on the YOLO11n neck and head (SPPF + C2PSA on P5):
# name -> backbone keyword arguments. T0 is the reference YAML's; 'lite' is the shipped CPU line.
SEARCH_SPACE = {
    'T0 (40, 1-2-8-2, GELU)': dict(arch='t0', widen_factor=0.25),
    '40, 1-2-8-2, ReLU': dict(arch=dict(embed_dim=40, depths=(1, 2, 8, 2), act_cfg=_RELU)),
    '32, 1-2-8-2, GELU': dict(arch=dict(embed_dim=32, depths=(1, 2, 8, 2), act_cfg=_GELU)),
    '32, 1-2-8-2, ReLU': dict(arch=dict(embed_dim=32, depths=(1, 2, 8, 2), act_cfg=_RELU)),
    '32, 1-2-6-2, ReLU': dict(arch=dict(embed_dim=32, depths=(1, 2, 6, 2), act_cfg=_RELU)),
    '32, 1-2-6-2, ReLU, n_div 2': dict(arch=dict(embed_dim=32, depths=(1, 2, 6, 2), act_cfg=_RELU),
                                       n_div=2),
    'lite (32, 1-2-4-2, ReLU)': dict(arch='lite', widen_factor=0.25),
    '32, 1-2-4-2, ReLU, mlp_ratio 1.5': dict(arch='lite', widen_factor=0.25, mlp_ratio=1.5),
    '32, 0-2-4-2, ReLU': dict(arch=dict(embed_dim=32, depths=(0, 2, 4, 2), act_cfg=_RELU)),
    '24, 1-2-6-2, ReLU': dict(arch=dict(embed_dim=24, depths=(1, 2, 6, 2), act_cfg=_RELU)),
}
# Where FasterNet's ideas go in YOLO11: candidate name (configs/_search_/placements.py) -> label.
PLACEMENT_LABELS = {
    'backbone': 'C3k2-Faster in the backbone',
    'neck': 'C3k2-Faster in the neck',
    'both': 'C3k2-Faster in backbone + neck',
    'backbone_c3k': 'C3k2-Faster (C3k variant) in the backbone',
    'neck_c3k': 'C3k2-Faster (C3k variant) in the neck',
    'both_c3k': 'C3k2-Faster (C3k variant) in backbone + neck',
    'head_pconv': 'PConv in the head box convs',
    'lite_neck': 'lite + C3k2-Faster neck',
    'both_mlp1': 'C3k2-Faster, mlp_ratio 1, backbone + neck',
    'neck_head_pconv': 'C3k2-Faster neck + PConv head',
    'lite_neck_head': 'lite + C3k2-Faster neck + PConv head',
    'both_head': 'C3k2-Faster backbone + neck + PConv head',
    'lite_neck_mlp1_head': 'lite + C3k2-Faster neck (mlp_ratio 1) + PConv head',
    'relu': 'ReLU (no PConv)',
    'down2x2': '2x2 downsampling (no PConv)',
    'relu_down2x2': 'ReLU + 2x2 downsampling (no PConv)',
    'down2x2_head': '2x2 downsampling + PConv head',
    'down2x2_neck_head': '2x2 downsampling + C3k2-Faster neck + PConv head',
    'down2x2_both_head': '2x2 downsampling + C3k2-Faster backbone + neck + PConv head',
    'down2x2_relu_backbone': '2x2 downsampling + ReLU in the backbone',
    'head_dw': 'depthwise head box convs',
    'down2x2_head_dw': '2x2 downsampling + depthwise head box convs',
    'relu_head': 'ReLU + PConv head',
    'relu_down2x2_head': 'ReLU + 2x2 downsampling + PConv head',
    'relu_down2x2_neck_head': 'ReLU + 2x2 downsampling + C3k2-Faster neck + PConv head',
    'relu_down2x2_both_head': 'ReLU + 2x2 downsampling + C3k2-Faster backbone + neck + PConv head',
}


PLACEMENTS = 'configs/_search_/placements.py'


# the lines a search can start from: their config name prefix ('yolo26' -> yolo26{}_coco.py)
SEARCH_LINES = ('yolo11', 'yolo26')


def placement_space(repo=REPO_ROOT, line='yolo11'):
    """{label: (name, base config pattern, model override)} of the search's candidates on ``line``
    (one of :data:`SEARCH_LINES`): a candidate's base (``yolo11{}_coco.py`` unless
    ``faster_candidate_bases`` says) with the line's prefix instead of ``yolo11``."""
    from mmengine.config import Config
    space = Config.fromfile(osp.join(repo, PLACEMENTS))
    bases = space.get('faster_candidate_bases', {})
    return {PLACEMENT_LABELS.get(name, name):
            (name, line + bases.get(name, 'yolo11{}_coco.py')[len('yolo11'):], override.to_dict())
            for name, override in space.faster_candidates.items()}


# PConv forward per backend (as trained: split_cat); slicing is the deploy form's and the exporter's.
PCONV = {b: 'split_cat' if b == 'pytorch' else 'slicing' for b in SPEED_BACKENDS}
# Column names of the backends in the tables.
BACKEND_LABELS = dict(pytorch='PyTorch', pytorch_deploy='deploy form', onnxruntime='ORT', openvino='OpenVINO',
                      onnxruntime_int8='ORT INT8', openvino_int8='OpenVINO INT8')
# The "fast inference path" study: each option against its baseline, n scale, CPU.
# name -> (backend, device, build_runner() keyword arguments).
INFERENCE_OPTIONS = {
    'PyTorch as trained (NCHW)': ('pytorch', 'cpu', {}),
    'PyTorch as trained, channels_last': ('pytorch', 'cpu', dict(channels_last=True)),
    'deploy form, NCHW': ('pytorch_deploy', 'cpu', dict(channels_last=False)),
    'deploy form, channels_last (as deployed)': ('pytorch_deploy', 'cpu', {}),
    'deploy form, channels_last, PConv split_cat': ('pytorch_deploy', 'cpu', dict(pconv='split_cat')),
    'ONNX Runtime, optimisation all (default)': ('onnxruntime', 'cpu', {}),
    'ONNX Runtime, all, PConv split_cat': ('onnxruntime', 'cpu', dict(pconv='split_cat')),
    'ONNX Runtime, optimisation extended': ('onnxruntime', 'cpu', dict(ort_opt='extended')),
    'ONNX Runtime, optimisation basic': ('onnxruntime', 'cpu', dict(ort_opt='basic')),
    'ONNX Runtime, optimisation disabled': ('onnxruntime', 'cpu', dict(ort_opt='disable')),
}
