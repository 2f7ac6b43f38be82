"""Person identities across frames, and left/right swap repair within a track.

Identities come from a maintained multi-object tracker, the ``trackers`` package (Roboflow's
ByteTrack over ``supervision.Detections``); we do not write our own association. ByteTrack keeps
a lost track alive (Kalman-predicted) for ``lost_track_s`` seconds, so a person who is occluded
for a few frames or crosses another person gets their id back.

Pose models sometimes swap a person's left and right limbs for a frame or a few (a known
complaint with Sports2D, see ``../shared/docs/anchors.md``). :func:`repair_left_right` finds
frames where the swapped assignment of a limb group is much closer to the neighbouring frames
than the model's own one, and swaps it back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posecoach.schema import COCO17, FLIP_PAIRS, KEYPOINT_INDEX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerParams:
    """ByteTrack settings (``trackers.ByteTrackTracker``), with the buffer in seconds.

    Attributes:
        lost_track_s: how long a track that matched nothing stays alive (seconds).
        low_score: detections from this score up are given to the tracker; those below the
            high score (the engine's detection threshold) only continue existing tracks
            (ByteTrack's second association), they never start one.
        match_iou: minimum IoU for matching a detection to a predicted track box.
    """

    lost_track_s: float = 2.0
    low_score: float = 0.2
    match_iou: float = 0.1


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of ``x1, y1, x2, y2`` boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


class BoxTracker:
    """Assigns a track id to each box of each frame, frame after frame (in order).

    A thin adapter over ``trackers.ByteTrackTracker``: it feeds ``supervision.Detections`` and
    maps the result back to the input order. ByteTrack confirms a new track on its second
    frame and reports its first box as untracked; the adapter gives that first box the track's
    id once it is confirmed. So a frame's ids are final only one frame later: :meth:`update`
    returns those known so far, :meth:`finish` the final ids of every frame.

    With ``fps`` None the frames are unrelated stills: every box at or above the high score
    that no track holds is a person of its own at once.
    """

    def __init__(
        self, fps: float | None, params: TrackerParams | None = None, high_score: float = 0.5
    ):
        import trackers

        self.params = params or TrackerParams()
        self.high_score = high_score
        rate = float(fps) if fps and np.isfinite(fps) and fps > 0 else 10.0
        self._tracker = trackers.ByteTrackTracker(
            # The library counts its buffer in frames at 30 fps and rescales to `frame_rate`.
            lost_track_buffer=max(1, int(round(self.params.lost_track_s * 30))),
            frame_rate=rate,
            track_activation_threshold=high_score,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=self.params.match_iou,
            high_conf_det_threshold=high_score,
        )
        self.stills = fps is None
        self._next_local = 1
        self._remap: dict[int, int] = {}
        self._prev_boxes = np.zeros((0, 5), np.float32)
        self._prev_ids = np.zeros(0, dtype=np.int32)
        # frame -> its ids; the latest is completed by the next update and by finish.
        self._frames: dict[int, np.ndarray] = {}

    def update(
        self, boxes: np.ndarray, t_s: float | None = None, frame: int | None = None
    ) -> np.ndarray:
        """Track one frame.

        Args:
            boxes: (N, 5) float array ``x1, y1, x2, y2, score`` in pixels.
            t_s: the frame's time in seconds, when known: the motion model then predicts over
                the real time elapsed (frames skipped, variable frame rate); None counts one
                frame per call.
            frame: the key of this frame in :meth:`finish`'s result (default: 0, 1, 2... in
                the order of the calls).

        Returns:
            (N,) int32 track ids known now (1, 2, 3... in order of confirmation), aligned with
            ``boxes``; -1 for a box that no track holds. A new track's first box reads -1 here
            and has its id in :meth:`finish`'s result.

        Raises:
            ValueError: ``frame`` was tracked already.
        """
        import supervision as sv

        key = len(self._frames) if frame is None else int(frame)
        if key in self._frames:
            raise ValueError(f"BoxTracker.update: frame {key} was tracked already")
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
        n = len(boxes)
        detections = sv.Detections(
            xyxy=boxes[:, :4].astype(np.float32),
            confidence=boxes[:, 4].astype(np.float32),
            class_id=np.zeros(n, dtype=int),
            data={"input_index": np.arange(n)},
        )
        tracked = self._tracker.update(detections, timestamp=t_s)
        ids = np.full(n, -1, dtype=np.int32)
        new_ids: list[int] = []
        if len(tracked) and tracked.tracker_id is not None:
            for idx, tid in zip(tracked.data["input_index"], tracked.tracker_id, strict=True):
                if tid is None or int(tid) < 0:
                    continue
                local, is_new = self._local_id(int(tid))
                ids[int(idx)] = local
                if is_new:
                    new_ids.append(int(idx))
        self._backfill(boxes[:, :4], ids, new_ids)
        if self.stills:
            self._label_untracked(ids, boxes[:, 4])
        self._prev_boxes, self._prev_ids = boxes, ids
        self._frames[key] = ids
        return ids.copy()

    def finish(self) -> dict[int, np.ndarray]:
        """End of the sequence: the final track ids of every frame given to :meth:`update`.

        Returns:
            frame -> (N,) int32 ids aligned with that frame's boxes, -1 for a box no track
            holds. Boxes of the last frame that started a track get ids of their own.
        """
        self._label_untracked(self._prev_ids, self._prev_boxes[:, 4])
        return dict(self._frames)

    def _label_untracked(self, ids: np.ndarray, scores: np.ndarray) -> None:
        # A new id for each untracked box at or above the high score: a one-frame track. For
        # the last frame and for stills, where a person seen once is still a person; in the
        # middle of a video an unconfirmed one-frame box is left out.
        pending = (ids < 0) & (np.asarray(scores) >= self.high_score)
        for i in np.flatnonzero(pending):
            ids[i] = self._next_local
            self._next_local += 1

    def _backfill(self, boxes: np.ndarray, ids: np.ndarray, new_idx: list[int]) -> None:
        # A track confirmed now was spawned by an untracked high-score box of the previous
        # frame: the one it overlaps most.
        pending = np.flatnonzero((self._prev_ids < 0) & (self._prev_boxes[:, 4] >= self.high_score))
        if not new_idx or not len(pending):
            return
        iou = box_iou(boxes[new_idx], self._prev_boxes[pending, :4])
        for row in np.argsort(-iou.max(axis=1)):
            col = int(np.argmax(iou[row]))
            if iou[row, col] < self.params.match_iou:
                continue
            self._prev_ids[pending[col]] = ids[new_idx[row]]
            iou[:, col] = -1.0

    def _local_id(self, tracker_id: int) -> tuple[int, bool]:
        # Our ids start at 1 for every video, whatever counter the library keeps.
        if tracker_id in self._remap:
            return self._remap[tracker_id], False
        self._remap[tracker_id] = self._next_local
        self._next_local += 1
        return self._remap[tracker_id], True


#: Limb groups swapped as a whole: a model that confuses a person's orientation swaps a group.
LR_GROUPS: dict[str, tuple[tuple[int, int], ...]] = {
    "head": ((1, 2), (3, 4)),
    "arms": ((5, 6), (7, 8), (9, 10)),
    "legs": ((11, 12), (13, 14), (15, 16)),
}
assert {p for g in LR_GROUPS.values() for p in g} == set(FLIP_PAIRS)
assert COCO17[KEYPOINT_INDEX["left_knee"]] == "left_knee"


def _swap_group(kpts: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    out = kpts.copy()
    for a, b in pairs:
        out[..., [a, b], :] = kpts[..., [b, a], :]
    return out


def _fill_missing(cur: list[list[float]], ref: list[list[float]]) -> list[list[float]]:
    return [
        [r if math.isnan(c) else c for c, r in zip(cp, rp, strict=True)]
        for cp, rp in zip(cur, ref, strict=True)
    ]


def _group_flips(
    masked: np.ndarray, pairs: Sequence[tuple[int, int]], ratio: float, min_separation_px: float
) -> np.ndarray:
    """Frames (relative to frame 0) whose ``pairs`` group is swapped; see repair_left_right.

    Plain floats, not numpy: the pass is sequential (each frame is compared with the repaired
    one before it) over a handful of points, where numpy's per-call cost dominated.
    """
    left = masked[:, [a for a, _ in pairs]].tolist()
    right = masked[:, [b for _, b in pairs]].tolist()
    flips = np.zeros(len(left), dtype=bool)
    ref_l, ref_r = left[0], right[0]
    hypot, isnan = math.hypot, math.isnan
    for t in range(1, len(left)):
        cur_l, cur_r = left[t], right[t]
        keep = swap = sep = 0.0
        used = seen = 0
        for (ax, ay), (bx, by), (rax, ray), (rbx, rby) in zip(
            cur_l, cur_r, ref_l, ref_r, strict=True
        ):
            if isnan(ax) or isnan(ay) or isnan(bx) or isnan(by):
                continue
            sep += hypot(ax - bx, ay - by)
            seen += 1
            if isnan(rax) or isnan(ray) or isnan(rbx) or isnan(rby):
                continue
            keep += hypot(ax - rax, ay - ray) + hypot(bx - rbx, by - rby)
            swap += hypot(ax - rbx, ay - rby) + hypot(bx - rax, by - ray)
            used += 1
        if used and sep / seen >= min_separation_px and swap < ratio * keep:
            flips[t] = True
            cur_l, cur_r = cur_r, cur_l
        # The reference for the next frame is this frame in its repaired orientation; points
        # missing here fall back to the previous reference so short dropouts keep the
        # comparison going.
        ref_l, ref_r = _fill_missing(cur_l, ref_l), _fill_missing(cur_r, ref_r)
    return flips


def repair_left_right(
    keypoints: np.ndarray,
    scores: np.ndarray,
    min_score: float = 0.3,
    ratio: float = 0.5,
    min_separation_px: float = 4.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undo left/right swaps in one track's consecutive rows.

    A forward pass compares each frame with the previous (already repaired) frame, limb group
    by limb group: when the swapped assignment is closer than ``ratio`` times the kept one,
    the group is swapped. A run of swapped frames is thereby swapped back as a whole. Since the
    first frame could itself be the swapped one, the orientation that the majority of the
    model's frames had is taken as the truth: if most frames of a group were flipped, all
    flips of that group are inverted.

    Args:
        keypoints: (T, K, 2) pixel coordinates of one track, rows in frame order.
        scores: (T, K) scores; points below ``min_score`` (or NaN) are not compared.
        min_score: score below which a point does not vote.
        ratio: swap when ``swapped_cost < ratio * kept_cost``.
        min_separation_px: a group whose left and right points are closer than this (mean,
            pixels) cannot be told apart (side view) and is not compared.

    Returns:
        ``(keypoints, scores, flipped)``: repaired copies (scores follow their points) and a
        (T, n_groups) bool array of the swaps applied, groups in ``LR_GROUPS`` order.
    """
    kpts = np.asarray(keypoints, dtype=np.float64)
    scs = np.asarray(scores, dtype=np.float64)
    n = len(kpts)
    groups = list(LR_GROUPS.values())
    flipped = np.zeros((n, len(groups)), dtype=bool)
    if n < 2:
        return kpts.copy(), scs.copy(), flipped
    masked = kpts.copy()
    masked[~(scs >= min_score)] = np.nan

    for g, pairs in enumerate(groups):
        flipped[:, g] = _group_flips(masked, pairs, ratio, min_separation_px)
        # flipped[t] is relative to frame 0's orientation; the model's majority orientation
        # wins, so if most frames were flipped, frame 0 (and its like) was the odd one out.
        if flipped[:, g].sum() * 2 > n:
            flipped[:, g] = ~flipped[:, g]

    out_k = kpts.copy()
    out_s = scs.copy()
    for g, pairs in enumerate(groups):
        rows = flipped[:, g]
        if rows.any():
            out_k[rows] = _swap_group(out_k[rows], pairs)
            idx = np.array([i for pair in pairs for i in pair])
            swapped_idx = np.array([j for a, b in pairs for j in (b, a)])
            out_s[np.ix_(rows, idx)] = scs[np.ix_(rows, swapped_idx)]
    return out_k, out_s, flipped
