#!/usr/bin/env bash
# Sets up this repository's Python environment in ./.venv, reproducibly and idempotently:
#   torch (CPU wheel unless a CUDA torch is already in the venv), mmcv 2.0.1 compiled with its
#   ops (the wheel is cached outside the repo), then mmengine / mmdet / mmyolo and the rest, pinned.
#
#   bash tools/setup_env.sh            # or: make setup
#
# Environment knobs:
#   PYTHON=python3.11        interpreter used to create the venv
#   VENV=.venv               where the venv lives (git-ignored)
#   FY11_CACHE=~/.cache/fasternet-yolo11   where the compiled mmcv wheel is kept
#   FORCE_CUDA=1             build mmcv's CUDA ops (install a CUDA torch into the venv first, see README)
#   MAX_JOBS=N               parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
CACHE="${FY11_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fasternet-yolo11}"
TORCH_VERSION=2.13.0
MMCV_VERSION=2.0.1
STEPS=7
step() { echo "[setup $1/$STEPS] $2"; }
die() { echo "setup_env.sh: ERROR: $*" >&2; exit 1; }
trap 'die "step failed at line $LINENO (see the output above); fix it and rerun: bash tools/setup_env.sh"' ERR

# The stamp records what the venv was built from; a matching stamp makes a rerun a no-op.
STAMP_SRC="$(cat tools/setup_env.sh pyproject.toml requirements/*.txt | sha256sum | cut -c1-16)"
STAMP="$VENV/.fy11-setup-stamp"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_SRC" ]] && "$VENV/bin/python" -c "import mmcv._ext" 2>/dev/null; then
  echo "[setup] $VENV is up to date (delete it to rebuild)."
  exit 0
fi

step 1 "virtual environment in $VENV"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 8), sys.version' \
  || die "$PYTHON is not a usable Python >= 3.8 (set PYTHON=...)"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q -c requirements/constraints.txt -r requirements/build.txt

step 2 "torch"
if "$PY" -c "import torch" 2>/dev/null; then
  echo "  keeping the torch already in the venv: $("$PY" -c 'import torch; print(torch.__version__)')"
else
  # On this machine kind pip finds the CPU wheel of torch 2.13.0 on local disk. CUDA users
  # install a CUDA build of torch into the venv before running this script (README).
  "${PIP[@]}" install -q -c requirements/constraints.txt "torch==$TORCH_VERSION" numpy
fi
TORCH_TAG="$("$PY" -c 'import torch, sys; print(f"torch{torch.__version__}-cp{sys.version_info[0]}{sys.version_info[1]}")')"
CUDA_TAG=cpu
if [[ "${FORCE_CUDA:-0}" == "1" ]] || "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  CUDA_TAG="cuda$("$PY" -c 'import torch; print(torch.version.cuda)')"
fi

step 3 "mmcv $MMCV_VERSION with compiled ops"
WHEEL_DIR="$CACHE/wheels/mmcv$MMCV_VERSION-$TORCH_TAG-$CUDA_TAG"
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  echo "  no cached wheel in $WHEEL_DIR: compiling (about 10 minutes on 2 cores)"
  BUILD="$(mktemp -d)"
  "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD"
  tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
  # mmcv 2.0.1's setup.py compiles its CPU ops with -std=c++14, but torch >= 2.1 headers
  # refuse anything older than C++17 ("C++17 or later compatible compiler is required").
  # Raise the flag in the unpacked sdist; nothing installed is edited.
  sed -i 's/-std=c++14/-std=c++17/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
  grep -q -- '-std=c++17' "$BUILD/mmcv-$MMCV_VERSION/setup.py" || die "could not raise mmcv's C++ standard flag"
  # --no-build-isolation: setup.py imports torch to build the ops; in an isolated build env
  # torch is missing and the ops are silently skipped (then: No module named 'mmcv._ext').
  # Runtime deps are needed by setup.py's imports only for metadata; install them first.
  "${PIP[@]}" install -q -c requirements/constraints.txt addict yapf pyyaml pillow packaging \
    "opencv-python==4.10.0.84" "mmengine==0.10.7"
  mkdir -p "$WHEEL_DIR"
  ( cd "$BUILD/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$BUILD/dist" . ) \
    || die "mmcv build failed (needs gcc/g++ and the Python headers)"
  # Move into the cache only when complete, so an interrupted build never leaves a bad wheel.
  mv "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR/"
  rm -rf "$BUILD"
else
  echo "  reusing cached wheel: $(ls "$WHEEL_DIR"/mmcv-*.whl)"
fi
"${PIP[@]}" install -q -c requirements/constraints.txt "$WHEEL_DIR"/mmcv-*.whl

step 4 "mmengine, mmdet, mmyolo, the pinned runtime and deployment requirements"
"${PIP[@]}" install -q -c requirements/constraints.txt -r requirements/runtime.txt
# ONNX export / ONNX Runtime / onnxsim (tools/deployment, benchmark); all wheels, no compiling.
"${PIP[@]}" install -q -c requirements/constraints.txt -r requirements/deploy.txt

step 5 "test requirements"
"${PIP[@]}" install -q -c requirements/constraints.txt -r requirements/tests.txt

step 6 "this project, installed editable (import fasternet_yolo11 from anywhere)"
# --no-build-isolation: the build backend (setuptools, from requirements/build.txt) is in the venv.
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .

step 7 "checking the stack imports and mmcv's compiled ops run"
"$PY" - <<'EOF'
import mmcv, mmdet, mmengine, mmyolo, torch
import fasternet_yolo11
from mmcv.ops import batched_nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
dets, keep = batched_nms(boxes, torch.tensor([0.9, 0.8]), torch.tensor([0, 0]), dict(iou_threshold=0.5))
assert keep.tolist() == [0], keep
print(f"  torch {torch.__version__}, mmcv {mmcv.__version__} (ops ok), mmengine {mmengine.__version__}, "
      f"mmdet {mmdet.__version__}, mmyolo {mmyolo.__version__}")
EOF
echo "$STAMP_SRC" > "$STAMP"
echo "[setup] done: activate with  . $VENV/bin/activate"
