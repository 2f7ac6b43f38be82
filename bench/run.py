"""End-to-end speed of the pose engine against MMPose's inferencer and rtmlib, on one video.

``make bench`` runs ``.venv/bin/python bench/run.py``. Every pipeline runs in its own child
process (fresh memory, the same thread limits), on the same video, with the same detector
(the trained RTMDet-nano person checkpoint from ../shared) and the same RTMPose-t weights. No
trained RTMPose checkpoint is reachable from these machines, so the pose weights are RANDOM
(seed 0, explicitly allowed, and printed as such): speed does not depend on the weights' values.

Printed, from one run:
  * ours: end-to-end frames/s (decode -> detect -> pose -> track -> repair -> smooth) for the
    ``fast`` preset on CPU with each backend (pytorch, onnxruntime), detecting every frame and
    with our default interval (about 6 detections a second: every 2nd frame at vtest's 10 fps);
    openvino at the default interval in float32 and, on CPUs with native bfloat16 (AMX), in
    bfloat16, with how far bfloat16 moves boxes and keypoints from float32 on the run's crops;
  * MMPoseInferencer with the same detector and pose configs and weights (end to end: it reads
    the video itself);
  * rtmlib (installed into bench/_peers for the benchmark only) with the same models as ONNX:
    the MMDeploy detector's end2end.onnx and the same RTMPose-t weights exported in MMDeploy's
    layout (normalised float NCHW in); it takes numpy frames, so it gets them already decoded;
  * the floor: the detector's and pose model's forward passes alone on the same frames and
    crops, and each run's total as a multiple of it;
  * the ratios, peak memory (ru_maxrss of each child), distinct track ids vs people in a frame.

Usage: bench/run.py [--frames N] [--video PATH] [--threads 2] [--skip inferencer,rtmlib]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("POSECOACH_SHARED", REPO.parent / "shared"))
OUT = REPO / "bench" / "out"
PEERS = REPO / "bench" / "_peers"
VIDEO = SHARED / "data" / "videos" / "vtest.avi"
DET_PTH = SHARED / "models" / "rtmdet-nano-person-mmdet" / "rtmdet_nano_320_person.pth"
DET_ONNX_DIR = SHARED / "models" / "rtmdet-nano-person"
PRESET = "fast"
DET_MODEL = "rtmdet-nano-person-320"
POSE_MODEL = "rtmpose-t-256x192"
SEED = 0


# -- helpers -------------------------------------------------------------------------------------
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _decode_all(video: str) -> list[Any]:
    from analysis.io.video import open_source

    with open_source(video) as source:
        return [f.image for f in source]


def _write_prefix(video: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``video`` re-encoded (MPEG-4, near-lossless)."""
    from fractions import Fraction

    import av

    from analysis.io.video import open_source

    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"{video.stem}_first{frames}.avi"
    if out.exists():
        return out
    with open_source(video) as source, av.open(str(out), "w") as container:
        stream = container.add_stream(
            "mpeg4", rate=Fraction(source.info.fps or 10).limit_denominator(1001)
        )
        stream.width, stream.height, stream.pix_fmt = (
            source.info.width,
            source.info.height,
            "yuv420p",
        )
        stream.codec_context.options = {"qscale": "2"}
        for frame in source:
            if frame.index >= frames:
                break
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


# -- workers (each runs in its own process) ----------------------------------------------------
def worker_prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Same weights for everyone: the random RTMPose-t as a checkpoint (for the inferencer),
    as an MMDeploy-layout ONNX (for rtmlib), and both configs as files."""
    import torch

    from analysis.models.catalog import detector_config, pose_config
    from analysis.models.loading import load_pose
    from analysis.models.onnx_export import export_onnx, state_dict_sha256

    _set_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    pose = load_pose(
        None, preset=PRESET, backend="pytorch", allow_random_weights=True, seed=SEED, progress=False
    )
    model = pose.model
    ckpt = OUT / f"{POSE_MODEL}-random-seed{SEED}.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {"note": "random init, seed 0"}}, ckpt)
    det_cfg, pose_cfg = OUT / "det_config.py", OUT / "pose_config.py"
    detector_config(DET_MODEL).dump(str(det_cfg))
    pose_config(POSE_MODEL, flip_test=False).dump(str(pose_cfg))

    class MMDeployLayout(torch.nn.Module):
        """Normalised float NCHW in (mean/std given to rtmlib in BGR order), SimCC out."""

        def __init__(self, pose_model: Any) -> None:
            super().__init__()
            self.pose = pose_model

        def forward(self, x: Any) -> Any:
            x = x[:, [2, 1, 0]]  # rtmlib feeds BGR; the model was built for RGB
            return self.pose.head.forward(self.pose.extract_feat(x))

    w, h = pose.input_size
    onnx_path = OUT / f"{POSE_MODEL}-random-seed{SEED}-nchw.onnx"
    export_onnx(
        MMDeployLayout(model).eval(),
        torch.zeros(1, 3, h, w),
        onnx_path,
        input_name="input",
        output_names=["simcc_x", "simcc_y"],
    )
    pre = model.data_preprocessor
    mean = [float(v) for v in pre.mean.flatten()]
    std = [float(v) for v in pre.std.flatten()]
    return {
        "pose_checkpoint": str(ckpt),
        "pose_sha256": state_dict_sha256(model),
        "engine_pose_sha256": pose.info.get("sha256"),
        "det_config": str(det_cfg),
        "pose_config": str(pose_cfg),
        "pose_onnx_nchw": str(onnx_path),
        # data_preprocessor order is RGB; rtmlib applies them to its BGR input -> reverse.
        "rtmlib_mean_bgr": mean[::-1],
        "rtmlib_std_bgr": std[::-1],
    }


def _engine(backend: str, interval: int, precision: str = "fp32"):
    from analysis.pipeline.config import EngineConfig
    from analysis.pipeline.engine import PoseEngine

    config = EngineConfig(
        preset=PRESET,
        detector=str(DET_PTH),
        backend=backend,
        precision=precision,
        device="cpu",
        det_interval=interval,
        allow_random_weights=True,
    )
    return PoseEngine(config)


def worker_ours(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    _set_threads(args.threads)
    engine = _engine(args.backend, args.interval, args.precision)
    # Warm-up on one blank frame (every pipeline gets one): first-call allocations aside.
    blank = np.zeros((64, 64, 3), np.uint8)
    engine.detector([blank])
    engine.pose([blank], [np.array([[0, 0, 63, 63]], np.float32)])
    start = time.perf_counter()
    result = engine.analyze(args.video)
    seconds = time.perf_counter() - start
    maxrss = _maxrss_mb()  # before the floor measurement below holds every frame
    df = result.keypoints.to_frame()  # the table the floor and precision checks read
    frames = _decode_all(args.video)
    floor = _floor(engine, frames, df, result.metadata["engine"]["det_interval_used"])
    if args.precision != "fp32":
        floor.update(_precision_error(engine, frames, df))
    per_frame = df.groupby("frame").size() if len(df) else None
    lengths = df.groupby("track_id").t_s.agg(lambda t: t.max() - t.min()) if len(df) else None
    return {
        "seconds": seconds,
        "frames": result.info.frames,
        "timings": result.metadata["timings_s"],
        "n_tracks": result.n_tracks,
        "tracks_2s": int((lengths >= 2.0).sum()) if lengths is not None else 0,
        "max_people": int(per_frame.max()) if per_frame is not None else 0,
        "mean_people": float(per_frame.sum() / result.info.frames) if per_frame is not None else 0,
        "random_weights": result.metadata["random_weights"],
        "pose_sha256": result.metadata["pose"].get("sha256"),
        "detector": result.metadata["detector"].get("name"),
        "detector_sha256": result.metadata["detector"].get("sha256"),
        "backend": result.metadata["pose"].get("backend"),
        "lr_swaps": result.metadata.get("lr_swaps"),
        "maxrss_mb": maxrss,
        **floor,
    }


def _session_variants(model: Any) -> list[Any]:
    """The onnxruntime sessions to time a model's forward with: the engine's own (no idle
    spinning) and one that lets idle threads spin, which can run one model alone a little
    faster; the floor takes the faster of them. Other backends: ``[None]`` (as loaded)."""
    session = getattr(model.backend, "session", None)
    if session is None or model.info.get("backend") != "onnxruntime":
        return [None]
    from analysis.models.onnx_export import make_session

    spinning = make_session(
        Path(model.info["onnx"]), "cpu", model.info["ort_threads"], allow_spinning=True
    )
    return [session, spinning]


def _timed(model: Any, sessions: list[Any], totals: list[float], run: Any) -> None:
    """Add the time of ``run()`` with each session of ``model`` to ``totals``, in turn."""
    for j, session in enumerate(sessions):
        if session is not None:
            model.backend.session = session
        t0 = time.perf_counter()
        run()
        totals[j] += time.perf_counter() - t0
    if sessions[0] is not None:
        model.backend.session = sessions[0]


def _floor(engine: Any, frames: list[Any], df: Any, interval: int) -> dict[str, Any]:
    """The networks' forward passes alone, in this process right after the run (same load on
    the machine), on the same frames the run detected and the same boxes it ran pose on, in the
    run's batch sizes; decoding, letterboxing and cropping are not timed. With onnxruntime each
    batch is timed with the engine's sessions and with spinning ones (see
    :func:`_session_variants`), and the smaller total counts."""
    import numpy as np

    det, pose = engine.detector, engine.pose
    from analysis.pipeline.boxes import window_chains

    heads_per_window = window_chains(engine.config.batch_frames, interval)
    det_frames = frames[::interval]
    det_sessions = _session_variants(det)
    det_totals = [0.0] * len(det_sessions)
    for start in range(0, len(det_frames), heads_per_window):
        batch = det.preprocess(det_frames[start : start + heads_per_window])
        _timed(det, det_sessions, det_totals, lambda b=batch: det.forward_batch(b.images))
    cols = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"]
    boxes = {int(f): g[cols].to_numpy(np.float32) for f, g in df.groupby("frame")}
    pose_sessions = _session_variants(pose)
    pose_totals = [0.0] * len(pose_sessions)
    crops = 0
    # The run's pose calls: one per step, over the frames at that step of each chain.
    window = interval * heads_per_window
    for w0 in range(0, len(frames), window):
        for step in range(interval):
            idx = [
                i for i in range(w0 + step, min(w0 + window, len(frames)), interval) if i in boxes
            ]
            if not idx:
                continue
            crop_batch = pose.crop([frames[i] for i in idx], [boxes[i] for i in idx])
            _timed(
                pose, pose_sessions, pose_totals, lambda c=crop_batch: pose.forward_batch(c.images)
            )
            crops += len(crop_batch.images)
    return {
        "floor_det_s": min(det_totals),
        "floor_pose_s": min(pose_totals),
        "floor_crops": crops,
        "floor_det_by_session_s": det_totals,
        "floor_pose_by_session_s": pose_totals,
    }


def _precision_error(engine: Any, frames: list[Any], df: Any) -> dict[str, Any]:
    """How far reduced precision moves the outputs: the run's crops through the float32 and the
    reduced-precision pose network (keypoint distance in frame pixels), and every 10th frame
    through both detectors (corner distance of boxes matched by IoU >= 0.5, score >= 0.5)."""
    import numpy as np

    from analysis.models.loading import load_detector, load_pose
    from analysis.tracking.tracker import box_iou

    common = dict(backend=engine.config.backend, allow_download=False, progress=False)
    ref_pose = load_pose(None, preset=PRESET, allow_random_weights=True, seed=SEED, **common)
    ref_det = load_detector(str(DET_PTH), score_thr=0.5, **common)
    cols = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"]
    kp_dist = []
    for f, g in list(df.groupby("frame"))[::5]:
        boxes = [g[cols].to_numpy(np.float32)]
        (ka, _), (kb, _) = (
            ref_pose([frames[int(f)]], boxes)[0],
            engine.pose([frames[int(f)]], boxes)[0],
        )
        kp_dist.append(np.linalg.norm(ka - kb, axis=-1).ravel())
    kp = np.concatenate(kp_dist)
    box_dist = []
    sample = frames[::10]
    for found_a, found_b in zip(ref_det(sample), engine.detector(sample), strict=True):
        a, b = found_a.as_array(), found_b.as_array()
        a, b = a[a[:, 4] >= 0.5], b[b[:, 4] >= 0.5]
        if len(a) and len(b):
            iou = box_iou(a[:, :4], b[:, :4])
            for i, j in enumerate(iou.argmax(1)):
                if iou[i, j] >= 0.5:
                    box_dist.append(float(np.abs(a[i, :4] - b[j, :4]).max()))
    boxes_d = np.asarray(box_dist)
    return {
        "precision_kp_n": int(kp.size),
        "precision_kp_median_px": float(np.median(kp)),
        "precision_kp_p95_px": float(np.percentile(kp, 95)),
        "precision_kp_within_0_5px": float(np.mean(kp <= 0.5)),
        "precision_kp_within_2px": float(np.mean(kp <= 2.0)),
        "precision_box_n": int(boxes_d.size),
        "precision_box_median_px": float(np.median(boxes_d)) if boxes_d.size else None,
        "precision_box_max_px": float(boxes_d.max()) if boxes_d.size else None,
    }


def worker_inferencer(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from analysis.models.compat import ensure_openmmlab_compat

    _set_threads(args.threads)
    ensure_openmmlab_compat()
    from mmpose.apis import MMPoseInferencer

    prep = json.loads(Path(args.prep).read_text())
    inferencer = MMPoseInferencer(
        pose2d=prep["pose_config"],
        pose2d_weights=prep["pose_checkpoint"],
        det_model=prep["det_config"],
        det_weights=str(DET_PTH),
        det_cat_ids=[0],
        device="cpu",
    )
    call = {"bbox_thr": 0.5, "show": False, "return_vis": False}
    for _ in inferencer(np.zeros((64, 64, 3), np.uint8), **call):
        pass
    start = time.perf_counter()
    frames = people = 0
    for result in inferencer(args.video, **call):
        frames += 1
        people += len(result["predictions"][0])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "frames": frames, "crops": people}


def _ensure_rtmlib() -> None:
    if not (PEERS / "rtmlib").is_dir():
        # Benchmark-only peer, not a project dependency; --no-deps keeps the venv's headless
        # OpenCV (rtmlib declares the GUI build).
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(PEERS),
                "rtmlib",
            ],
            check=True,
        )
    sys.path.insert(0, str(PEERS))


def worker_rtmlib(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    _ensure_rtmlib()
    from rtmlib import RTMDet, RTMPose

    prep = json.loads(Path(args.prep).read_text())
    det = RTMDet(str(DET_ONNX_DIR / "end2end.onnx"), model_input_size=(320, 320), score_thr=0.5)
    pose = RTMPose(
        prep["pose_onnx_nchw"],
        model_input_size=(192, 256),
        mean=tuple(prep["rtmlib_mean_bgr"]),
        std=tuple(prep["rtmlib_std_bgr"]),
    )
    frames = _decode_all(args.video)
    pose(np.zeros((64, 64, 3), np.uint8), bboxes=[[0, 0, 63, 63]])
    det(frames[0])
    crops = 0
    start = time.perf_counter()
    for image in frames:
        boxes = det(image)[:10]
        if len(boxes):
            pose(image, bboxes=list(boxes))
            crops += len(boxes)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "frames": len(frames), "crops": crops, "decoded_beforehand": True}


WORKERS = {
    "prepare": worker_prepare,
    "ours": worker_ours,
    "inferencer": worker_inferencer,
    "rtmlib": worker_rtmlib,
}


def _child(
    name: str, args: argparse.Namespace, video: Path, prep: Path, **extra: Any
) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    label = "-".join([name, *(str(v) for v in extra.values())])
    out = OUT / f"{label}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable, __file__, "--worker", name, "--video", str(video), "--prep", str(prep),
        "--threads", str(args.threads), "--json", str(out),
    ]  # fmt: skip
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"  running {label} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join((proc.stderr or "").splitlines()[-15:])
        print(f"  {label} FAILED (exit {proc.returncode}):\n{tail}", file=sys.stderr)
        return {"error": f"exit {proc.returncode}"}
    result = json.loads(out.read_text())
    print(f"  {label} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return result


def _label(backend: str, precision: str = "fp32") -> str:
    return f"{backend} {precision}" if backend == "openvino" else backend


def _by_session(r: dict[str, Any]) -> str:
    det, pose = r.get("floor_det_by_session_s", []), r.get("floor_pose_by_session_s", [])
    if len(det) < 2 or len(pose) < 2:
        return ""
    return (
        f" (engine's sessions {det[0]:.1f} + {pose[0]:.1f} s, "
        f"spinning sessions {det[1]:.1f} + {pose[1]:.1f} s; the faster counts)"
    )


def _fps(r: dict[str, Any]) -> float | None:
    return r["frames"] / r["seconds"] if r.get("seconds") else None


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", default=str(VIDEO))
    parser.add_argument("--frames", type=int, help="only the first N frames (quick run)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--skip", default="", help="comma list: inferencer, rtmlib, pytorch, onnxruntime, openvino"
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--prep", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = WORKERS[args.worker](args)
        result.setdefault("maxrss_mb", _maxrss_mb())
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
        return 0

    from analysis.io.video import open_source
    from analysis.pipeline.config import default_det_interval

    for need in (Path(args.video), DET_PTH, DET_ONNX_DIR / "end2end.onnx"):
        if not need.exists():
            print(
                f"bench: {need} is missing (../shared holds the video and models)", file=sys.stderr
            )
            return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    video = Path(args.video)
    if args.frames:
        video = _write_prefix(video, args.frames)
    print(f"bench: {video} ({args.threads} threads)", file=sys.stderr)
    prep_path = OUT / "prepare.json"
    prep = _child("prepare", args, video, prep_path)
    if "error" in prep:
        return 1
    prep_path.write_text(json.dumps(prep))
    with open_source(video) as source:
        default_k = default_det_interval(source.info.fps)

    from analysis.models.catalog import choose_backend

    rows: dict[str, dict[str, Any]] = {}
    default_backend = choose_backend("auto", "cpu")
    default_row = f"ours {_label(default_backend)} k={default_k}"
    for backend in ("pytorch", "onnxruntime", "openvino"):
        if backend in skip:
            continue
        for k in (1, default_k):
            rows[f"ours {_label(backend)} k={k}"] = _child(
                "ours", args, video, prep_path, backend=backend, interval=k
            )
    if "openvino" not in skip:
        from analysis.models.openvino_session import cpu_supports_bf16

        if cpu_supports_bf16():
            rows[f"ours {_label('openvino', 'bf16')} k={default_k}"] = _child(
                "ours", args, video, prep_path, backend="openvino", interval=default_k,
                precision="bf16",
            )  # fmt: skip
    if "inferencer" not in skip:
        rows["MMPoseInferencer k=1"] = _child("inferencer", args, video, prep_path)
    if "rtmlib" not in skip:
        rows["rtmlib (onnxruntime) k=1"] = _child("rtmlib", args, video, prep_path)

    # -- report ------------------------------------------------------------------------------
    first = next((r for r in rows.values() if "frames" in r), {})
    print()
    print(f"video: {video}  frames: {first.get('frames')}  CPU threads: {args.threads}")
    print(f"detector: {DET_PTH.name} (trained; rtmlib gets {DET_ONNX_DIR.name}/end2end.onnx)")
    print(
        f"pose: {POSE_MODEL} with RANDOM weights (seed {SEED}, explicitly allowed: no trained "
        f"checkpoint is reachable here); sha256 {str(prep.get('pose_sha256'))[:16]} "
        f"(engine's {str(prep.get('engine_pose_sha256'))[:16]}); the inferencer loads the same "
        "weights from a checkpoint, rtmlib from an ONNX export of them"
    )
    print()
    header = f"{'pipeline':<34} {'frames/s':>9} {'total s':>8} {'crops':>6} {'floor s':>8} {'tot/floor':>9} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:<32} FAILED ({r['error']})")
            continue
        floor_s = None
        if name.startswith("ours"):
            floor_s = r["floor_det_s"] + r["floor_pose_s"]
            crops = r["timings"]["crops"]
        else:
            crops = r.get("crops")
        ratio = r["seconds"] / floor_s if floor_s else None
        mark = " *" if name == default_row else ""
        print(
            f"{name + mark:<34} {_fmt(_fps(r)):>9} {_fmt(r['seconds']):>8} {crops!s:>6} "
            f"{_fmt(floor_s):>8} {_fmt(ratio, '.2f'):>9} {r['maxrss_mb']:>8.0f}"
        )
    print()
    inf = rows.get("MMPoseInferencer k=1", {})
    rtm = rows.get("rtmlib (onnxruntime) k=1", {})
    for name, r in rows.items():
        if not name.startswith("ours") or "error" in r:
            continue
        parts = []
        if _fps(inf):
            parts.append(f"{_fps(r) / _fps(inf):.2f}x MMPoseInferencer")
        if _fps(rtm):
            parts.append(f"{_fps(r) / _fps(rtm):.2f}x rtmlib")
        if parts:
            print(f"{name:<32} " + ", ".join(parts))
    print()
    for name, r in rows.items():
        if name.startswith("ours") and "error" not in r:
            t = r["timings"]
            print(
                f"{name:<32} tracks: {r['n_tracks']} distinct ids ({r['tracks_2s']} lasting >= 2 s); "
                f"people per frame: max {r['max_people']}, mean {r['mean_people']:.1f}; "
                f"time: decode-wait {t['decode_wait']:.1f} s, detect {t['detect']:.1f} s, "
                f"pose {t['pose']:.1f} s, track {t['track']:.1f} s, post {t['post']:.1f} s"
            )
    for name, r in rows.items():
        if name.startswith("ours") and "error" not in r:
            print(
                f"{name:<32} floor: detector forward {r['floor_det_s']:.1f} s on "
                f"{r['timings']['detected_frames']} frames, pose forward {r['floor_pose_s']:.1f} s "
                f"on {r['floor_crops']} crops" + _by_session(r)
            )
    for name, r in rows.items():
        if "precision_kp_n" in r:
            print(
                f"{name:<32} vs float32: keypoints median {r['precision_kp_median_px']:.2f} px, "
                f"p95 {r['precision_kp_p95_px']:.2f} px, "
                f"{100 * r['precision_kp_within_0_5px']:.1f}% within 0.5 px, "
                f"{100 * r['precision_kp_within_2px']:.1f}% within 2 px "
                f"({r['precision_kp_n']} keypoints, random pose weights); boxes: median "
                f"{_fmt(r['precision_box_median_px'], '.2f')} px, max "
                f"{_fmt(r['precision_box_max_px'], '.2f')} px ({r['precision_box_n']} boxes, "
                "trained detector)"
            )
    print()
    print(f"* our default settings here: backend auto = {_label(default_backend)}, k={default_k}")
    print(
        "targets (2 cores): >= 2x inferencer at k=1, >= 3x at the default k, total <= 1.3x floor; "
        "the default settings: >= 5x inferencer, >= 1.5x rtmlib, total <= 1.2x floor"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
