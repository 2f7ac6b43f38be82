"""analysis.io.live_source joining a network camera's H.264 stream between two keyframes.

Many IP cameras send a keyframe every few seconds (some every 10 s); a session that starts
between two has nothing the decoder can use until the next one. The source must wait for it on
the connection it has, not reconnect (each new connection starts the wait again, so a long
keyframe interval was never received: 7 reconnections, then "gave up").
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from analysis.io.live_source import LiveFrames, parse_source
from tests.flows.cli.test_live import free_port, read_barcode, write_clip

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

GOP = 90  # a keyframe every 3 s


@pytest.mark.slow
def test_a_stream_joined_between_keyframes_is_received_from_the_next_one(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "gop.mp4", 0, 2 * GOP)
    port = free_port()
    sender = subprocess.Popen(
        ["ffmpeg", "-loglevel", "error", "-re", "-i", str(clip), "-c:v", "libx264"]
        + ["-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", str(GOP)]
        + ["-sc_threshold", "0", "-progress", "pipe:1", "-stats_period", "0.1"]
        + ["-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Join once the first keyframe is well past, whatever ffmpeg's start-up took (a fixed
        # sleep joined before frame 0 on a busy machine): from ffmpeg's own frame count.
        deadline = time.monotonic() + 30
        assert sender.stdout is not None
        for line in sender.stdout:
            if line.startswith("frame=") and int(line.split("=", 1)[1]) >= GOP // 4:
                break
            assert time.monotonic() < deadline, "ffmpeg sent no frames"
        # the rest of its progress read away, so that a full pipe never stops the sender
        threading.Thread(target=sender.stdout.read, daemon=True).start()
        events: list[str] = []
        frames = LiveFrames(
            parse_source(f"udp://127.0.0.1:{port}"),
            read_timeout_s=1.0,
            give_up_s=10.0,
            on_event=lambda kind, message: events.append(kind),
        )
        numbers = []
        for frame in frames:
            numbers.append(read_barcode(frame.image))
            if len(numbers) == 10:
                frames.stop()
        frames.close()
    finally:
        sender.kill()
        sender.wait()
    assert events[0] == "receiving" and "reconnecting" not in events
    # Decoding starts at the keyframe after the join: the second one, frame GOP.
    assert numbers[0] == GOP and numbers == sorted(numbers)
