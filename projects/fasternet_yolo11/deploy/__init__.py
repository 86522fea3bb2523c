"""Deployment: the inference form of a model, the export graphs, the shared inference code.

``deploy_form`` (the deploy switch and its steps), ``export_graphs`` (what ONNX export traces),
``onnx_export`` (the export itself), ``inference`` (loading a model to run, the demos'
preprocessing, drawing and outputs, ONNX Runtime and OpenVINO detection), ``runners`` (one model run
eager, fused, in ONNX Runtime or in OpenVINO, for speed measurements), ``quantization``
(INT8 post-training static quantization of an exported model).
"""
from .deploy_form import fuse_conv_bn, set_pconv_mode, switch_to_deploy
from .export_graphs import End2End, RawOutputs, decode, make_priors
from .inference import OnnxDetector, OpenVinoDetector, init_model, load_exported
from .runners import BACKENDS, runners

__all__ = ['switch_to_deploy', 'fuse_conv_bn', 'set_pconv_mode', 'RawOutputs', 'End2End',
           'decode', 'make_priors', 'init_model', 'OnnxDetector',
           'OpenVinoDetector', 'load_exported', 'BACKENDS', 'runners']
