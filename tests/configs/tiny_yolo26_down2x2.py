# The tiny YOLO26 with 2x2 stride-2 downsampling convs (the Down2x2 lines' kernel): a student of tiny_yolo26.py
# whose downsampling kernels start from the teacher's 3x3 ones, folded.
_base_ = './tiny_yolo26.py'
model = dict(backbone=dict(downsample_kernel=2), neck=dict(downsample_kernel=2))
