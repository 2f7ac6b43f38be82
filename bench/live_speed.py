"""Live coaching's speed: a client streaming a video's frames to ``/api/live`` in real time.

``make bench-live`` runs ``.venv/bin/python bench/live_speed.py``. It starts ``posecoach web``
(``fast`` preset on CPU, backend ``auto`` as the server's default: the trained RTMDet-nano
person detector from ../shared as MMDeploy ONNX, RTMPose-t with RANDOM weights, explicitly allowed: no trained RTMPose checkpoint is
reachable from these machines, and speed does not depend on the weights' values) in a child
process, then sends the frames of ``two_people_1080p.mp4`` as JPEG (quality 80, encoded once
beforehand) at the clip's own frame rate (28 frames/s), looping it, for ``--seconds`` (60) or
``--minutes``, without waiting for replies, as a phone does. Printed: the share of frames
answered (the rest dropped by the server's backpressure), the server's latency (arrival to
reply) and the client's round trip, median and 95th percentile, the server's resident memory
(after loading the models, then every 10 s of the session, and at the end), and where the
server's time went per stage (from its log line at the end of the session): on the live path
JPEG decode, detection, tracking, pose, box carry and smoothing, rules and record (the frame's
rows and its JPEG kept as it came: keep); in the save step, after the end, the session video's
transcode to H.264 (per frame), with how long the ``saved`` reply took after the end.

Issue 16's targets (2 CPU cores): a reply for at least 95% of frames, median latency <= 100 ms,
95th percentile <= 250 ms, memory flat over a 10-minute session. Figures depend on what else
runs on the machine: the load average at start is printed with them.

Usage: bench/live_speed.py [--seconds 60 | --minutes 10] [--video PATH] [--fps F]
       [--quality 80] [--cpus 0,1] [--backend auto]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("POSECOACH_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "data" / "videos" / "two_people_1080p.mp4"
DETECTOR = SHARED / "models" / "rtmdet-nano-person"
OUT = REPO / "bench" / "out"
#: Stages of the save step (after the session), not of the live path.
SAVE_STEP = ("transcode",)
TIMING = re.compile(r"posecoach live: stored (\w+): .* ms per call (\{.*\})$")


def jpeg_frames(video: Path, quality: int) -> tuple[list[bytes], float]:
    """The video's frames as JPEG bytes, and its mean frame rate."""
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        images = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        duration = float(container.duration or 0) / 1e6
    fps = len(images) / duration if duration > 0 else float(stream.average_rate or 30)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    return [cv2.imencode(".jpg", im, params)[1].tobytes() for im in images], fps


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``posecoach web`` in a child process over a fresh store, with a bench user's token."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        from flows.web.users import Accounts, db_path

        store = root / "store"
        accounts = Accounts(db_path(store))
        accounts.add_user("bench", "bench password 1", "admin")
        self.token = accounts.create_token("bench")[1]
        self.port = free_port()
        command = [sys.executable, "-m", "flows.cli.main", "web", "--store", str(store)]
        command += ["--inbox", str(root / "inbox"), "--reports", str(root / "reports")]
        command += ["--port", str(self.port), "--preset", "fast", "--detector", str(DETECTOR)]
        command += ["--backend", args.backend, "--allow-random-weights"]
        command += ["--models-dir", str(root / "models"), "--device", "cpu"]
        cpus = {int(c) for c in args.cpus.split(",")} if args.cpus else None
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            },
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if "PoseCoach web on http://" in line:
                self.ready.set()
        self.ready.set()

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        self.ready.wait(timeout_s)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        tail = "\n".join(self.lines[-20:])
        raise SystemExit(f"posecoach web did not start (exit {self.process.poll()}):\n{tail}")

    def timing(self, video_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines:
                m = TIMING.search(line)
                if m and m.group(1) == video_id:
                    return dict(json.loads(m.group(2)))
            time.sleep(0.2)
        return {}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def stream(server: Server, frames: list[bytes], fps: float, seconds: float) -> dict:
    """Send ``frames`` (looped) at ``fps`` for ``seconds``; what came back."""
    import websockets

    url = f"ws://127.0.0.1:{server.port}/api/live?athlete=bench&exercise=squat&view=side"
    headers = {"Authorization": f"Bearer {server.token}"}
    n = int(round(seconds * fps))
    sent: dict[int, float] = {}
    answered: dict[int, tuple[float, float]] = {}  # frame -> (round trip ms, server latency ms)
    dropped: list[int] = []
    rss: list[tuple[float, float]] = []
    saved: dict[str, Any] = {}
    async with websockets.connect(url, additional_headers=headers, max_size=2**24) as ws:

        async def receive() -> None:
            async for message in ws:
                reply = json.loads(message)
                if "people" in reply:
                    frame = int(reply["frame"])
                    trip = (time.perf_counter() - sent[frame]) * 1000.0
                    answered[frame] = (trip, float(reply["latency_ms"]))
                    dropped.extend(reply.get("dropped", []))
                elif reply.get("type") == "saved":
                    dropped.extend(reply.get("dropped", []))
                    saved.update(reply)
                    return

        async def sample() -> None:
            start = time.monotonic()
            while True:
                rss.append((time.monotonic() - start, rss_mb(server.process.pid)))
                await asyncio.sleep(10.0)

        receiver = asyncio.create_task(receive())
        sampler = asyncio.create_task(sample())
        start = time.perf_counter()
        for i in range(n):
            delay = start + i / fps - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[i] = time.perf_counter()
            await ws.send(frames[i % len(frames)])
        await ws.send(json.dumps({"type": "end"}))
        ended = time.perf_counter()
        # The save step transcodes the session's video (about 10 ms a frame): minutes for 10.
        await asyncio.wait_for(receiver, timeout=max(300.0, seconds))
        save_s = time.perf_counter() - ended
        sampler.cancel()
        rss.append((time.monotonic() - start, rss_mb(server.process.pid)))
    return {
        "sent": n,
        "answered": answered,
        "dropped": dropped,
        "rss": rss,
        "saved": saved,
        "save_s": round(save_s, 1),
    }


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def report(result: dict, timing: dict[str, Any], rss_idle: float, meta: dict) -> dict:
    answered = result["answered"]
    trips = [a[0] for a in answered.values()]
    latency = [a[1] for a in answered.values()]
    n_frames = max(len(answered), 1)
    out = {
        **meta,
        "frames_sent": result["sent"],
        "answered": len(answered),
        "answered_pct": round(100.0 * len(answered) / max(result["sent"], 1), 1),
        "dropped": len(set(result["dropped"])),
        "server_latency_ms": {"median": _pct(latency, 50), "p95": _pct(latency, 95)},
        "round_trip_ms": {"median": _pct(trips, 50), "p95": _pct(trips, 95)},
        "rss_mb": {
            "models_loaded": round(rss_idle, 1),
            "during": [[round(t), round(m, 1)] for t, m in result["rss"]],
        },
        "stages_ms": timing,
        "stage_ms_per_answered_frame": {
            k: round(v["total"] / n_frames, 2) for k, v in timing.items() if k not in SAVE_STEP
        },
        "save_step": {
            "saved_after_end_s": result["save_s"],
            **{f"{k}_ms_per_frame": v["mean"] for k, v in timing.items() if k in SAVE_STEP},
        },
        "video_id": result["saved"].get("video_id"),
    }
    print(json.dumps(out, indent=1))
    s = out
    print(
        f"\n{s['answered']} of {s['frames_sent']} frames answered ({s['answered_pct']} %), "
        f"server latency median {s['server_latency_ms']['median']} ms, "
        f"p95 {s['server_latency_ms']['p95']} ms; round trip median "
        f"{s['round_trip_ms']['median']} ms, p95 {s['round_trip_ms']['p95']} ms"
    )
    during = [m for _, m in result["rss"]]
    print(
        f"server RSS: {rss_idle:.0f} MB with the models loaded, {during[0]:.0f} MB at the "
        f"session's start, {during[-1]:.0f} MB at its end (max {max(during):.0f})"
    )
    print(
        "ms per answered frame: "
        + ", ".join(f"{k} {v}" for k, v in s["stage_ms_per_answered_frame"].items())
    )
    print("save step: " + ", ".join(f"{k} {v}" for k, v in s["save_step"].items()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--minutes", type=float, help="instead of --seconds (the memory check)")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--fps", type=float, help="send rate (default: the video's)")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality (80)")
    parser.add_argument("--cpus", help="pin the server to these CPUs, e.g. 0,1")
    parser.add_argument("--backend", default="auto", help="model backend (auto, as posecoach web)")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60 if args.minutes else args.seconds
    frames, clip_fps = jpeg_frames(args.video, args.quality)
    fps = args.fps or clip_fps
    meta = {
        "video": args.video.name,
        "fps": round(fps, 2),
        "seconds": seconds,
        "jpeg_quality": args.quality,
        "jpeg_kb": round(float(np.mean([len(f) for f in frames])) / 1024, 1),
        "backend": args.backend,
        "pose_weights": "RANDOM (untrained; --allow-random-weights)",
        "cpus": args.cpus or f"all {os.cpu_count()}",
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
    }
    print(f"live speed: {meta}", flush=True)
    with tempfile.TemporaryDirectory(prefix="posecoach-live-bench-") as tmp:
        server = Server(Path(tmp), args)
        try:
            server.wait_ready()
            time.sleep(2.0)
            rss_idle = rss_mb(server.process.pid)
            result = asyncio.run(stream(server, frames, fps, seconds))
            timing = server.timing(str(result["saved"].get("video_id")))
        finally:
            server.stop()
    out = report(result, timing, rss_idle, meta)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "live_speed.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
