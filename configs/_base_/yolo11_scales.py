# The YOLO scales: Ultralytics' numbers (yolo11.yaml / yolo26.yaml `scales:`, the same for both), the one
# place that holds them. A line (_base_/lines/*.py) turns each entry into that line's model override; the
# modules derive every width from these factors (and ChainedYOLODetector passes each module's widths on).
# name: [depth, width, max_channels]
_yaml_scales = dict(
    n=[0.50, 0.25, 1024],
    s=[0.50, 0.50, 1024],
    m=[0.50, 1.00, 512],
    l=[1.00, 1.00, 512],
    x=[1.00, 1.50, 512])
# parse_model turns every C3k2 into its C3k variant for these scales
_c3k_scales = 'mlx'

# name -> the scaling arguments of YOLO11CSPDarknet and YOLO11PAFPN
scales = {
    name: dict(deepen_factor=d, widen_factor=w, max_channels=max_c, force_c3k=name in _c3k_scales)
    for name, (d, w, max_c) in _yaml_scales.items()
}
del _yaml_scales, _c3k_scales
