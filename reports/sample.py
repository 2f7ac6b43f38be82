"""A generated store with known reps and findings: for the report tests, the benchmark, a demo.

Squats seen from the side, drawn from exact geometry: the left knee's internal angle follows a
cosine from `STANDING_DEG` down to each rep's bottom angle and back, the trunk leans forward in
step with it. The ``features``, ``reps`` and ``findings`` rows are written directly, as the rules
would write them for two checks (depth: knee angle at the bottom above `DEPTH_LIMIT_DEG` is a
caution; trunk lean: trunk to vertical above `LEAN_LIMIT_DEG` is a risk), so every count on a
page is known from the parameters; the features hold the two metrics the checks judge, exact
from the geometry (the other metric columns are null). Optionally the motion is also written as
a real video file, so that thumbnails come from decoded frames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from posecoach.failures import ErrorKind
from posecoach.schema import COCO17
from posecoach.store import Store, video_id_for
from posecoach.videos import VideoRow, write_video_row

#: Not a rule id of the shipped library: pages of the sample show what the rows alone give.
SAMPLE_RULE_ID = "sample_squat"
STANDING_DEG = 175.0
DEEP_DEG = 85.0
SHALLOW_DEG = 118.0
UPRIGHT_LEAN_DEG = 25.0
FORWARD_LEAN_DEG = 55.0
DEPTH_LIMIT_DEG = 100.0
LEAN_LIMIT_DEG = 45.0
REP_S = 2.0
PAUSE_S = 0.5
#: What scoring writes for a check the camera view cannot show, and for an unclear value.
VIEW_MESSAGE = "knee_valgus: not assessable from this view (needs front, the camera view is side)"
UNCLEAR_REASON = "subject too small: thigh 12 px"
UNCLEAR_MESSAGE = (
    "depth: not assessable, {v:.1f} +- 9.0 deg could be on either side of {t:.0f} deg "
    f"({UNCLEAR_REASON})"
)
DEPTH_MESSAGE = "Squat depth: knee angle {v:.0f}° at the bottom, above {t:.0f}°. Sit lower, thighs towards parallel."
LEAN_MESSAGE = "Trunk lean {v:.0f}° from vertical, above {t:.0f}°. Keep the chest up and brace."


@dataclass
class SampleTrack:
    """One person: the reps' depth and lean faults, and where in the frame they stand."""

    track_id: int
    n_reps: int
    shallow: set[int] = field(default_factory=set)  # 0-based reps not deep enough
    lean: set[int] = field(default_factory=set)  # 0-based reps leaning too far
    unclear: set[int] = field(default_factory=set)  # 0-based reps whose depth is too uncertain
    x: float = 0.5  # ankle position, fraction of the width
    scored: bool = True  # False: a bystander with keypoints but no reps nor findings


@dataclass
class SampleVideo:
    """A video of the sample store; ``status`` other than ok writes only the videos row."""

    file_name: str
    athlete: str
    exercise: str
    date: str
    recorded_at: str
    tracks: list[SampleTrack] = field(default_factory=list)
    status: str = "ok"
    error: str | None = None
    error_kind: ErrorKind | None = None  # of a failed one, as the flows record it
    write_video: bool = False  # write the motion as a real .avi file
    fps: float = 15.0
    width: int = 320
    height: int = 240
    message_suffix: str = ""  # appended to flagged messages (hostile text for the tests)
    not_assessable: bool = False  # add a whole-track "knee valgus: not assessable" finding
    video_id: str = ""


def _knee_and_lean(track: SampleTrack, fps: float) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Per-frame left knee angle and trunk lean (degrees), and the reps' frame ranges."""
    rep_n = int(round(REP_S * fps))
    pause_n = int(round(PAUSE_S * fps))
    knee = [np.full(pause_n, STANDING_DEG)]
    lean = [np.full(pause_n, UPRIGHT_LEAN_DEG * 0.2)]
    reps = []
    start = pause_n
    for i in range(track.n_reps):
        bottom = SHALLOW_DEG if i in track.shallow else DEEP_DEG
        top_lean = FORWARD_LEAN_DEG if i in track.lean else UPRIGHT_LEAN_DEG
        phase = (1 - np.cos(2 * np.pi * np.arange(rep_n + 1) / rep_n)) / 2  # 0 -> 1 -> 0
        knee.append(STANDING_DEG - (STANDING_DEG - bottom) * phase[:-1])
        lean.append(UPRIGHT_LEAN_DEG * 0.2 + (top_lean - UPRIGHT_LEAN_DEG * 0.2) * phase[:-1])
        reps.append(
            {
                "start": start,
                "turn": start + rep_n // 2,
                "end": start + rep_n,
                "bottom": bottom,
                "lean": top_lean,
            }
        )
        start += rep_n
        knee.append(np.full(pause_n, STANDING_DEG))
        lean.append(np.full(pause_n, UPRIGHT_LEAN_DEG * 0.2))
        start += pause_n
    return np.concatenate(knee), np.concatenate(lean), reps


def skeleton(
    knee_deg: float, lean_deg: float, ankle_xy: tuple[float, float], height: float
) -> np.ndarray:
    """(17, 2) keypoints of a person squatting side-on, facing +x, with the given angles.

    The left knee's internal hip-knee-ankle angle is exactly ``knee_deg`` and the
    mid-shoulder to mid-hip segment is ``lean_deg`` from vertical.
    """
    leg = 0.23 * height
    torso = 0.28 * height
    a = np.radians((180.0 - knee_deg) / 2)
    ankle = np.array(ankle_xy, dtype=np.float64)
    knee = ankle + leg * np.array([np.sin(a), -np.cos(a)])
    hip = knee + leg * np.array([-np.sin(a), -np.cos(a)])
    b = np.radians(lean_deg)
    shoulder = hip + torso * np.array([np.sin(b), -np.cos(b)])
    nose = shoulder + np.array([0.05 * height, -0.10 * height])
    elbow = shoulder + np.array([0.08 * height, 0.10 * height])
    wrist = elbow + np.array([0.10 * height, 0.0])
    eye = nose + np.array([-0.01 * height, -0.015 * height])
    ear = nose + np.array([-0.045 * height, -0.005 * height])
    far = np.array([-2.0, 0.0])  # the far side, nearly hidden behind the near one
    pts = {
        "nose": nose, "left_eye": eye, "right_eye": eye + far, "left_ear": ear, "right_ear": ear + far,
        "left_shoulder": shoulder, "right_shoulder": shoulder + far,
        "left_elbow": elbow, "right_elbow": elbow + far, "left_wrist": wrist, "right_wrist": wrist + far,
        "left_hip": hip, "right_hip": hip + far, "left_knee": knee, "right_knee": knee + far,
        "left_ankle": ankle, "right_ankle": ankle + far,
    }  # fmt: skip
    return np.array([pts[n] for n in COCO17])


def _keypoint_rows(
    video: SampleVideo,
) -> tuple[pd.DataFrame, dict[int, list[dict]], dict[int, tuple[np.ndarray, np.ndarray]]]:
    rows = []
    rep_ranges: dict[int, list[dict]] = {}
    angles: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    n_frames = 0
    for track in video.tracks:
        knee, lean, reps = _knee_and_lean(track, video.fps)
        rep_ranges[track.track_id] = reps
        angles[track.track_id] = (knee, lean)
        n_frames = max(n_frames, len(knee))
    for track in video.tracks:
        knee, lean = angles[track.track_id]
        frames = range(len(knee)) if track.scored else range(min(len(knee), int(video.fps)))
        for f in frames:
            kp = skeleton(
                knee[f], lean[f], (track.x * video.width, 0.92 * video.height), video.height
            )
            row = {"frame": f, "t_s": f / video.fps, "track_id": track.track_id}
            x1, y1 = kp.min(axis=0)
            x2, y2 = kp.max(axis=0)
            row.update(
                bbox_x1=x1 - 6, bbox_y1=y1 - 10, bbox_x2=x2 + 6, bbox_y2=y2 + 4, bbox_score=0.95
            )
            for i, name in enumerate(COCO17):
                score = 0.92 if not name.startswith("right_") else 0.55
                row[f"{name}_x"], row[f"{name}_y"], row[f"{name}_score"] = kp[i, 0], kp[i, 1], score
                row[f"{name}_x_raw"], row[f"{name}_y_raw"] = kp[i, 0], kp[i, 1]
            rows.append(row)
    df = pd.DataFrame(rows).sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)
    return df, rep_ranges, angles


def _write_avi(path: Path, video: SampleVideo, keypoints: pd.DataFrame) -> None:
    import cv2

    from analysis.io.drawing import draw_skeleton

    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter.fourcc(*"MJPG"), video.fps, (video.width, video.height)
    )
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write an MJPG .avi here")
    n = int(keypoints["frame"].max()) + 1
    frames = keypoints["frame"].to_numpy()
    xy = np.stack(
        [
            keypoints[[f"{c}_x" for c in COCO17]].to_numpy(),
            keypoints[[f"{c}_y" for c in COCO17]].to_numpy(),
        ],
        axis=-1,
    )
    for f in range(n):
        img = np.full((video.height, video.width, 3), (70, 90, 60), dtype=np.uint8)
        cv2.rectangle(
            img, (0, int(0.92 * video.height)), (video.width, video.height), (60, 60, 60), -1
        )
        for kp in xy[frames == f]:
            draw_skeleton(img, kp, None, color=(200, 200, 200), thickness=4, label="", copy=False)
        writer.write(img)
    writer.release()


def _finding(
    video_id: str,
    track_id: int,
    rep: int,
    r: dict,
    fps: float,
    check: str,
    metric: str,
    severity: str,
    value: float,
    threshold: float,
    message: str,
) -> dict:
    return {
        "video_id": video_id, "track_id": track_id, "rep_index": rep, "rule_id": SAMPLE_RULE_ID,
        "rule_version": "1", "check_id": check, "metric": metric, "phase": "bottom",
        "severity": severity, "value": value, "threshold": threshold, "comparison": ">",
        "unit": "deg", "start_s": r["start"] / fps, "end_s": r["end"] / fps,
        "worst_frame": r["turn"], "worst_s": r["turn"] / fps, "message": message, "source": "heuristic",
    }  # fmt: skip


def _feature_rows(
    video: SampleVideo, angles: dict[int, tuple[np.ndarray, np.ndarray]], video_id: str
) -> pd.DataFrame:
    """The features of the scored tracks: their exact knee angle and trunk lean per frame."""
    parts = []
    for track in video.tracks:
        if not track.scored:
            continue
        knee, lean = angles[track.track_id]
        frames = np.arange(len(knee))
        parts.append(
            pd.DataFrame({
                "video_id": video_id, "frame": frames, "t_s": frames / video.fps,
                "track_id": track.track_id, "knee_angle_left_deg": knee,
                "trunk_to_vertical_deg": lean,
            })
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["video_id"])


def write_sample_video(
    store: Store, video: SampleVideo, folder: str | os.PathLike[str] | None = None
) -> str:
    """Write one sample video's rows (keypoints, features, reps, findings, then videos); returns
    its id."""
    seed = f"{video.file_name}|{video.athlete}|{video.date}|{video.recorded_at}"
    sha = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    path = video.file_name
    kp = None
    if video.status == "ok":
        kp, rep_ranges, angles = _keypoint_rows(video)
        if video.write_video and folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            target = Path(folder) / (hashlib.sha1(seed.encode()).hexdigest()[:10] + ".avi")
            _write_avi(target, video, kp)
            path = str(target)
    video_id = video.video_id or video_id_for(sha)
    video.video_id = video_id
    n_frames = int(kp["frame"].max()) + 1 if kp is not None else 0
    if kp is not None:
        store.write("keypoints", kp.assign(video_id=video_id), video_id=video_id, date=video.date)
        store.write(
            "features",
            _feature_rows(video, angles, video_id),
            video_id=video_id,
            date=video.date,
            metadata={"rule_id": SAMPLE_RULE_ID},
        )
        reps, findings = [], []
        for track in video.tracks:
            if not track.scored:
                continue
            knee, lean = angles[track.track_id]
            for i, r in enumerate(rep_ranges[track.track_id]):
                shallow, leaning = i in track.shallow, i in track.lean
                worst = "risk" if leaning else ("caution" if shallow else "ok")
                fps = video.fps
                reps.append({
                    "video_id": video_id, "track_id": track.track_id, "exercise": video.exercise,
                    "rule_id": SAMPLE_RULE_ID, "rule_version": "1", "rep_index": i, "kind": "rep",
                    "start_frame": r["start"], "turn_frame": r["turn"], "end_frame": r["end"],
                    "start_s": r["start"] / fps, "turn_s": r["turn"] / fps, "end_s": r["end"] / fps,
                    "duration_s": (r["end"] - r["start"]) / fps, "in_target_s": np.nan,
                    "signal_min": float(knee[r["start"]:r["end"]].min()),
                    "signal_max": float(knee[r["start"]:r["end"]].max()), "worst_severity": worst,
                    "partial": False, "view": "side",
                })  # fmt: skip
                depth_msg = (
                    DEPTH_MESSAGE.format(v=r["bottom"], t=DEPTH_LIMIT_DEG) if shallow else ""
                )
                lean_msg = LEAN_MESSAGE.format(v=r["lean"], t=LEAN_LIMIT_DEG) if leaning else ""
                if i in track.unclear:
                    findings.append(_finding(
                        video_id, track.track_id, i, r, fps, "depth", "knee_angle_left_deg",
                        "not_assessable", r["bottom"], DEPTH_LIMIT_DEG,
                        UNCLEAR_MESSAGE.format(v=r["bottom"], t=DEPTH_LIMIT_DEG),
                    ))  # fmt: skip
                else:
                    findings.append(_finding(
                        video_id, track.track_id, i, r, fps, "depth", "knee_angle_left_deg",
                        "caution" if shallow else "ok", r["bottom"], DEPTH_LIMIT_DEG,
                        depth_msg + (video.message_suffix if shallow else ""),
                    ))  # fmt: skip
                findings.append(_finding(
                    video_id, track.track_id, i, r, fps, "trunk_lean", "trunk_to_vertical_deg",
                    "risk" if leaning else "ok", r["lean"], LEAN_LIMIT_DEG,
                    lean_msg + (video.message_suffix if leaning else ""),
                ))  # fmt: skip
            if video.not_assessable:
                findings.append({
                    "video_id": video_id, "track_id": track.track_id, "rep_index": -1,
                    "rule_id": SAMPLE_RULE_ID, "rule_version": "1", "check_id": "knee_valgus",
                    "metric": "knee_fppa_max_deg", "phase": "throughout", "severity": "not_assessable",
                    "value": np.nan, "threshold": 15.0, "comparison": ">", "unit": "deg",
                    "message": VIEW_MESSAGE, "source": "heuristic",
                })  # fmt: skip
        store.write(
            "reps",
            pd.DataFrame(reps),
            video_id=video_id,
            date=video.date,
            metadata={"signal": "knee_angle_left_deg", "rule_id": SAMPLE_RULE_ID},
        )
        store.write("findings", pd.DataFrame(findings), video_id=video_id, date=video.date)
    row = VideoRow(
        video_id=video_id, date=video.date, path=path, file_name=video.file_name, sha256=sha,
        size_bytes=1000, athlete=video.athlete, exercise=video.exercise, view="side", view_source="declared",
        recorded_at=_utc(video.recorded_at), source="video", codec="mjpg", fps=video.fps,
        frames=n_frames, duration_s=n_frames / video.fps if n_frames else None,
        width=video.width, height=video.height, rotation=0, n_tracks=len(video.tracks),
        status=video.status, error=video.error, error_kind=video.error_kind, preset="fast",
        backend="onnxruntime", detector="rtmdet-nano-person", detector_sha256="ab" * 32,
        pose_model="rtmpose-t", pose_sha256="cd" * 32, random_weights=False,
        pipeline_version="1", processed_at=_utc(f"{video.date}T02:10:00"),
    )  # fmt: skip
    write_video_row(store, row)
    return video_id


def _utc(text: str) -> dt.datetime:
    """An ISO date-time in UTC (one without a zone is read as UTC)."""
    when = dt.datetime.fromisoformat(text)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


HOSTILE_NAME = "<script>alert(1)</script>.mp4"
HOSTILE_MESSAGE = " </script><script>alert(3)</script><!--"


def sample_videos() -> list[SampleVideo]:
    """The default sample: two nights, three athletes, one failed and one hostile-named video."""
    return [
        SampleVideo(
            "ana_squat_monday.mp4",
            "Ana",
            "squat",
            "2024-05-06",
            "2024-05-05T18:30:00",
            tracks=[SampleTrack(1, 8, shallow={2, 5}, lean={5})],
            write_video=True,
            not_assessable=True,
        ),
        SampleVideo(
            "group_squat.mp4",
            "Ben",
            "squat",
            "2024-05-06",
            "2024-05-05T19:00:00",
            tracks=[
                SampleTrack(1, 5, x=0.3),
                SampleTrack(2, 4, shallow={1}, x=0.7),
                SampleTrack(3, 0, x=0.95, scored=False),
            ],
            width=480,
        ),
        SampleVideo(
            "broken.mp4",
            "Ben",
            "squat",
            "2024-05-06",
            "2024-05-05T19:30:00",
            status="failed",
            error="cannot open as a video: Invalid data found when processing input",
            error_kind=ErrorKind.BAD_FILE,
        ),
        SampleVideo(
            HOSTILE_NAME,
            "Ana",
            "squat",
            "2024-05-06",
            "2024-05-05T20:00:00",
            tracks=[SampleTrack(1, 3, shallow={0})],
            message_suffix=HOSTILE_MESSAGE,
        ),
        SampleVideo(
            "ana_squat_tuesday.mp4",
            "Ana",
            "squat",
            "2024-05-07",
            "2024-05-06T18:30:00",
            tracks=[SampleTrack(1, 6, shallow={4}, unclear={1})],
            write_video=True,
        ),
    ]


def build_sample_store(
    root: str | os.PathLike[str], videos: list[SampleVideo] | None = None
) -> tuple[Store, list[SampleVideo]]:
    """Write the sample videos into a store at ``root`` (video files under ``root/videos_src``)."""
    store = Store(root)
    videos = sample_videos() if videos is None else videos
    for v in videos:
        write_sample_video(store, v, Path(root) / "videos_src")
    return store, videos
