#!/usr/bin/env bash
# Idempotent install of the pinned OpenMMLab stack + PoseCoach into .venv.
# Order and pins follow the verified recipe (see README, "Why these pins").
# A second run with the stack present only re-checks the stamp and the editable install.
#
# Variables:
#   POSECOACH_CUDA=cu126   install a CUDA build of torch from the PyTorch index and compile
#                          mmcv's CUDA ops (FORCE_CUDA=1). Default: CPU.
#   PYTHON=python3.11      interpreter for the venv.
#   MAX_JOBS=2             parallel compile jobs for mmcv.
#   POSECOACH_TEST_TOOLS=1 also install Debian chromium and ffmpeg for the tests (apt, root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
CUDA=${POSECOACH_CUDA:-}
export MAX_JOBS=${MAX_JOBS:-2}

TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
MMDET_VERSION=3.3.0
MMPOSE_VERSION=1.3.2
MMENGINE_VERSION=0.10.7
XTCOCOTOOLS_VERSION=1.14.3
SETUPTOOLS_SPEC="setuptools>=77.0.3,<81"

STAMP_CONTENT="torch=$TORCH_VERSION cuda=${CUDA:-cpu} mmcv=$MMCV_VERSION mmdet=$MMDET_VERSION mmpose=$MMPOSE_VERSION mmengine=$MMENGINE_VERSION xtcocotools=$XTCOCOTOOLS_VERSION"
STAMP="$VENV/.posecoach-stack"

log() { printf '[setup] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$STAMP_CONTENT" ]; then
  log "installing the OpenMMLab stack ($STAMP_CONTENT); the mmcv compile takes several minutes"
  "${PIP[@]}" --upgrade pip wheel
  # 1. torch first and pinned: an unpinned torch pulled in later would bring a CUDA build.
  if [ -n "$CUDA" ]; then
    "${PIP[@]}" "torch==$TORCH_VERSION" --index-url "https://download.pytorch.org/whl/$CUDA"
    export FORCE_CUDA=1
  else
    "${PIP[@]}" "torch==$TORCH_VERSION"
    export FORCE_CUDA=0
  fi
  "${PIP[@]}" "$SETUPTOOLS_SPEC" ninja psutil cython
  # 2. numpy 2, headless OpenCV and mmengine.
  "${PIP[@]}" "numpy>=2,<3" "opencv-python-headless>=4.10" "mmengine==$MMENGINE_VERSION"
  # 3. mmcv with compiled ops; setup.py imports torch, hence no build isolation.
  MMCV_WITH_OPS=1 "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
  # 4. mmdet (asserts mmcv < 2.2).
  "${PIP[@]}" "mmdet==$MMDET_VERSION"
  # 5. mmpose without its declared chumpy/torchvision requirements.
  "${PIP[@]}" --no-deps "mmpose==$MMPOSE_VERSION"
  "${PIP[@]}" munkres json_tricks scipy
  # 6. xtcocotools from source against numpy 2 (the PyPI wheel is built for numpy 1).
  if ! "$PY" -c "import xtcocotools._mask" 2>/dev/null; then
    tmp=$(mktemp -d)
    "$PY" -m pip download --no-deps --no-build-isolation --no-binary :all: "xtcocotools==$XTCOCOTOOLS_VERSION" -d "$tmp" -q
    tar -xzf "$tmp"/xtcocotools-*.tar.gz -C "$tmp"
    src=$(find "$tmp" -maxdepth 1 -type d -name 'xtcocotools-*' | head -n1)
    sed -i 's/np\.NPY_OWNDATA/np.NPY_ARRAY_OWNDATA/g' "$src/xtcocotools/_mask.pyx"
    "${PIP[@]}" --no-build-isolation "$src"
    rm -rf "$tmp"
  fi
  echo "$STAMP_CONTENT" > "$STAMP"
fi

# 7. The project and its own dependencies (torch already satisfied, so nothing heavy).
# Skipped when pyproject.toml is unchanged since the last install: a re-run takes seconds.
PROJECT_STAMP="$VENV/.posecoach-project"
project_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$PROJECT_STAMP" ] || [ "$(cat "$PROJECT_STAMP")" != "$project_hash" ] \
    || ! "$PY" -c "import posecoach" 2>/dev/null; then
  "${PIP[@]}" -q -e ".[dev]"
  echo "$project_hash" > "$PROJECT_STAMP"
fi

# mmengine declares the GUI opencv-python; whichever installed last owns cv2/. Keep only headless.
if "$PY" -m pip show -q opencv-python >/dev/null 2>&1 || ! "$PY" -c "import cv2" 2>/dev/null; then
  log "replacing GUI opencv-python with opencv-python-headless"
  "$PY" -m pip uninstall -y -q opencv-python opencv-python-headless || true
  "${PIP[@]}" -q --no-deps "opencv-python-headless>=4.10"
fi

# Test tools from Debian: chromium drives the report pages in the browser tests, ffmpeg makes
# rotation-tagged phone videos for the decoding tests. CI asks for them; elsewhere those tests skip.
if [ "${POSECOACH_TEST_TOOLS:-0}" = "1" ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]} from Debian for the tests"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; } \
      || log "could not install ${missing[*]}; the tests that need them will skip"
  fi
fi

log "ready: $VENV ($STAMP_CONTENT)"
