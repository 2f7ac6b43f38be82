"""What the tests share: paths under ../shared, real test inputs, stand-in models, flow helpers.

One module, so no test module imports another. The sections:

- **../shared**: :func:`shared_path` finds a test video, image or model there, or skips the test
  with the reason when ../shared is absent (the only skip a missing input may cause).
- **Real inputs**: COCO test images (with their annotated boxes), frames of the test videos, IoU.
- **Stand-in models and generated videos**: "people" are bright upright rectangles on a dark
  background. :class:`RectDetector` finds them by thresholding; :class:`RectPose` looks inside
  each given box for the bright rectangle and puts the 17 COCO keypoints at fixed fractions of
  it. So the exact keypoints of every frame are known from the generator, and both models honour
  the ``analysis.pipeline.config`` batched contracts (and count their calls) without any network
  weights. :class:`EngineCounter` hands such an engine to the flows and counts its use.
- **Flows**: inboxes, the real models' options, a store's files, ``posecoach`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from analysis.models.detections import Detections

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSECOACH_SHARED", REPO.parent / "shared"))

#: The trained RTMDet-nano person detector under ../shared.
DET_CKPT = ("models", "rtmdet-nano-person-mmdet", "rtmdet_nano_320_person.pth")


# --- ../shared --------------------------------------------------------------------------------


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared holds the test videos, images and models)")
    return path


# --- real inputs ------------------------------------------------------------------------------


def coco_images() -> list[tuple[str, np.ndarray]]:
    """The COCO test images under ../shared as (file name, BGR image)."""
    root = shared_path("data", "images", "coco")
    meta = json.loads((root / "test_coco.json").read_text())
    return [(im["file_name"], cv2.imread(str(root / im["file_name"]))) for im in meta["images"]]


def coco_images_and_boxes() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The COCO test images and their annotated person boxes (xyxy), plus two awkward boxes."""
    root = shared_path("data", "images", "coco")
    meta = json.loads((root / "test_coco.json").read_text())
    frames, boxes = [], []
    for im in meta["images"]:
        frames.append(cv2.imread(str(root / im["file_name"])))
        b = [a["bbox"] for a in meta["annotations"] if a["image_id"] == im["id"]]
        xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in b], np.float32).reshape(-1, 4)
        boxes.append(xyxy)
    # A box partly outside the frame and a tiny one: the crop pads with black like mmpose.
    h, w = frames[0].shape[:2]
    extra = np.array([[-40, h * 0.5, w * 0.3, h + 30], [5, 5, 12, 20]], np.float32)
    boxes[0] = np.concatenate([boxes[0], extra])
    return frames, boxes


def video_frames(
    name: str = "two_people_1080p.mp4", indices: tuple[int, ...] = (0, 30, 60)
) -> list[np.ndarray]:
    """Frames ``indices`` of a test video under ../shared, decoded by OpenCV."""
    cap = cv2.VideoCapture(str(shared_path("data", "videos", name)))
    frames, i = [], 0
    try:
        while len(frames) < len(indices):
            ok, frame = cap.read()
            if not ok:
                break
            if i in indices:
                frames.append(frame)
            i += 1
    finally:
        cap.release()
    assert len(frames) == len(indices), f"could not read frames {indices} of {name}"
    return frames


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between (N, 4+) and (M, 4+) xyxy boxes."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


# --- stand-in models and generated videos -----------------------------------------------------

#: (x, y) of each COCO-17 keypoint as fractions of the person rectangle. The person faces the
#: camera, so their left side is on the image's right.
KPT_FRACTIONS = np.array(
    [
        (0.50, 0.05),  # nose
        (0.60, 0.03),  # left_eye
        (0.40, 0.03),  # right_eye
        (0.70, 0.05),  # left_ear
        (0.30, 0.05),  # right_ear
        (0.85, 0.20),  # left_shoulder
        (0.15, 0.20),  # right_shoulder
        (0.95, 0.38),  # left_elbow
        (0.05, 0.38),  # right_elbow
        (0.95, 0.52),  # left_wrist
        (0.05, 0.52),  # right_wrist
        (0.70, 0.55),  # left_hip
        (0.30, 0.55),  # right_hip
        (0.72, 0.77),  # left_knee
        (0.28, 0.77),  # right_knee
        (0.75, 0.97),  # left_ankle
        (0.25, 0.97),  # right_ankle
    ]
)
THRESHOLD = 100


def keypoints_for_rect(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """The (17, 2) keypoints of a person rectangle whose last pixel column/row is x2/y2."""
    w, h = x2 - x1, y2 - y1
    return np.stack([x1 + KPT_FRACTIONS[:, 0] * w, y1 + KPT_FRACTIONS[:, 1] * h], axis=1)


@dataclass
class Person:
    """A rectangle person moving linearly: top-left at ``start + velocity * frame`` (pixels)."""

    start: tuple[float, float]
    velocity: tuple[float, float] = (0.0, 0.0)
    size: tuple[int, int] = (40, 100)
    visible: set[int] | None = None  # frames where drawn; None = all

    def rect(self, frame: int) -> tuple[int, int, int, int]:
        x = int(round(self.start[0] + self.velocity[0] * frame))
        y = int(round(self.start[1] + self.velocity[1] * frame))
        return x, y, x + self.size[0] - 1, y + self.size[1] - 1

    def shown(self, frame: int) -> bool:
        return self.visible is None or frame in self.visible


def render(people: list[Person], frame: int, width: int = 320, height: int = 240) -> np.ndarray:
    image = np.full((height, width, 3), 20, np.uint8)
    for person in people:
        if person.shown(frame):
            x1, y1, x2, y2 = person.rect(frame)
            image[max(y1, 0) : y2 + 1, max(x1, 0) : x2 + 1] = 230
    return image


def write_video(
    path: Path,
    people: list[Person],
    n_frames: int,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
    codec: str = "mpeg4",
) -> Path:
    """Encode the generated frames (near-lossless MPEG-4 by default) with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "mpeg4":
            stream.codec_context.options = {"qscale": "1"}
            stream.codec_context.qmin = 1
            stream.codec_context.qmax = 2
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(render(people, i, width, height), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_images(folder: Path, people: list[Person], n_frames: int, **kw: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_frames):
        cv2.imwrite(str(folder / f"frame_{i}.png"), render(people, i, **kw))
    return folder


def _bright_extent(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if not len(xs) or not len(ys):
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])


@dataclass
class RectDetector:
    """Finds bright rectangles (connected components) in each frame; batched; counts calls."""

    score: float = 0.9
    calls: list[int] = field(default_factory=list)
    info: dict = field(
        default_factory=lambda: {
            "name": "rect-detector",
            "sha256": "0" * 64,
            "backend": "numpy",
            "random_weights": False,
        }
    )

    def __call__(self, frames: list[np.ndarray]) -> list[Detections]:
        self.calls.append(len(frames))
        out = []
        for image in frames:
            mask = (image[..., 1] > THRESHOLD).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
            boxes = [
                (x, y, x + w - 1, y + h - 1, self.score)
                for x, y, w, h, area in stats[1:n]
                if area >= 50
            ]
            out.append(Detections.from_array(np.array(boxes, np.float32).reshape(-1, 5)))
        return out


@dataclass
class RectPose:
    """Keypoints at fixed fractions of the bright rectangle inside each box (grown by 20%)."""

    score: float = 0.9
    calls: list[tuple[int, int]] = field(default_factory=list)  # (frames, crops) per call
    info: dict = field(
        default_factory=lambda: {
            "name": "rect-pose",
            "sha256": "1" * 64,
            "backend": "numpy",
            "random_weights": False,
        }
    )

    def __call__(
        self, frames: list[np.ndarray], boxes: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        assert len(frames) == len(boxes)
        self.calls.append((len(frames), sum(len(b) for b in boxes)))
        out = []
        for image, frame_boxes in zip(frames, boxes, strict=True):
            h, w = image.shape[:2]
            kpts = np.zeros((len(frame_boxes), 17, 2), np.float32)
            scores = np.zeros((len(frame_boxes), 17), np.float32)
            for i, (x1, y1, x2, y2) in enumerate(np.asarray(frame_boxes)[:, :4]):
                gx, gy = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
                cx1, cy1 = int(max(0, x1 - gx)), int(max(0, y1 - gy))
                cx2, cy2 = int(min(w - 1, x2 + gx)), int(min(h - 1, y2 + gy))
                crop = image[cy1 : cy2 + 1, cx1 : cx2 + 1, 1] > THRESHOLD
                ext = _bright_extent(crop)
                if ext is None:
                    continue
                ex1, ey1, ex2, ey2 = ext
                kpts[i] = keypoints_for_rect(cx1 + ex1, cy1 + ey1, cx1 + ex2, cy1 + ey2)
                scores[i] = self.score
            out.append((kpts, scores))
        return out


class EngineCounter:
    """Counts engine loads and analyses made through ``flows.workers.get_engine``.

    Its :meth:`get_engine` stands in for the real one: one :class:`PoseEngine` on the stand-in
    models, loaded once, every ``analyze`` call recorded by path.
    """

    def __init__(self) -> None:
        self.loads = 0
        self.analyses: list[str] = []
        self._engine: Any = None

    def get_engine(self, options: dict[str, Any]) -> Any:
        from analysis.pipeline.config import EngineConfig
        from analysis.pipeline.engine import PoseEngine

        if self._engine is None:
            self.loads += 1
            engine = PoseEngine(EngineConfig(), detector=RectDetector(), pose=RectPose())
            analyze = engine.analyze

            def counted(path, *a, **kw):
                self.analyses.append(str(path))
                return analyze(path, *a, **kw)

            engine.analyze = counted  # type: ignore[method-assign]  # counting wrapper
            self._engine = engine
        return self._engine


# --- flows: inboxes, real models' options, stores, the command line ---------------------------


def copy_into(inbox: Path, rel: str, source: Path) -> Path:
    """Copy a file into an inbox (a copy, not a link: links out of the inbox are refused)."""
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    return dest


def corrupt_copy(inbox: Path, rel: str, source: Path, keep_bytes: int = 3000) -> Path:
    """A truncated copy: a valid MP4 header (so it is sniffed as a video) and no usable frames."""
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(source.read_bytes()[:keep_bytes])
    return dest


def real_engine_options(models_dir: Path) -> dict[str, Any]:
    """The trained RTMDet-nano person detector from ../shared and RTMPose-t on random weights."""
    detector = shared_path(*DET_CKPT)
    return {
        "preset": "fast",
        "detector": str(detector),
        "allow_random_weights": True,  # no pose checkpoint on these machines: plumbing only
        "models_dir": str(models_dir),
        "device": "cpu",
    }


def store_files(store: Path) -> dict[str, int]:
    """Every file under a store (hidden temporaries included) -> its modification time (ns)."""
    return {
        p.relative_to(store).as_posix(): p.stat().st_mtime_ns
        for p in store.rglob("*")
        if p.is_file()
    }


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``posecoach <args>`` in a fresh interpreter; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli.main", *args],
        cwd=REPO,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def model_args(options: dict[str, Any]) -> list[str]:
    """``posecoach run`` arguments for engine options."""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value not in (None, False):
            out += [flag, str(value)]
    return out


# --- the web app ------------------------------------------------------------------------------

#: The web tests' users (tests/flows/web/conftest.py): ana is an admin, bob a coach.
WEB_PASSWORDS = {"ana": "correct horse", "bob": "battery staple"}
MULTIPART_BOUNDARY = "----posecoach-test-boundary"


def multipart_body(fields: dict[str, str], file: bytes | None, filename: str = "clip.mp4") -> bytes:
    """A multipart/form-data body (boundary `MULTIPART_BOUNDARY`): the fields, then the file."""
    out = b""
    for name, value in fields.items():
        out += (
            f"--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    if file is not None:
        out += (
            f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        out += file + b"\r\n"
    return out + f"--{MULTIPART_BOUNDARY}--\r\n".encode()


def csrf_of(html: str) -> str:
    """The value of a page's hidden ``csrf_token`` field."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def log_in(client: Any, name: str = "ana", password: str | None = None) -> None:
    """Log a test client (FastAPI's or httpx's) in through the login form."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": name, "password": password or WEB_PASSWORDS[name], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
