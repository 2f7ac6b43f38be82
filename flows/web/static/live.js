// PoseCoach Live page: the camera's frames as JPEGs over /api/live, the replies drawn over the
// video (skeleton and box per person, reps, phase, last cue, latency, frame rate).
// A file, not inline: the pages' CSP allows scripts from this site only.
"use strict";

(function () {
  const root = document.getElementById("live");
  if (!root) {
    return;
  }
  // Frames are scaled to this width at most: enough for the pose models (they look at 192-288
  // px crops), small enough to encode and send in a few ms on a phone.
  const SEND_WIDTH = 640;
  // Frames sent and not answered yet, at most: the server's queue and drops are a backstop.
  const MAX_IN_FLIGHT = 2;
  const JPEG_QUALITY = 0.8;
  const MIN_SCORE = 0.3; // keypoints below this score are not drawn
  // COCO-17 skeleton (keypoint indices), left side, right side, then the head.
  const EDGES = [
    [5, 7], [7, 9], [11, 13], [13, 15], [5, 11],
    [6, 8], [8, 10], [12, 14], [14, 16], [6, 12],
    [5, 6], [11, 12], [0, 1], [0, 2], [1, 3], [2, 4],
  ];
  const COLOURS = ["#ffd400", "#00e5ff", "#ff5cf0", "#7cff4f", "#ff8a3d", "#b39dff"];

  const video = root.querySelector("video");
  const overlay = root.querySelector("canvas.live-overlay");
  const grab = document.createElement("canvas");
  const start = document.getElementById("live-start");
  const stop = document.getElementById("live-stop");
  const flip = document.getElementById("live-flip");
  const stats = document.getElementById("live-stats");
  const result = document.getElementById("live-result");
  const repsEl = document.getElementById("live-reps");
  const phaseEl = document.getElementById("live-phase");
  const cueEl = document.getElementById("live-cue");

  let facing = "user";
  let stream = null;
  let socket = null;
  let running = false;
  let sent = 0;
  let inFlight = 0;
  let replies = 0;
  let dropped = 0;
  let lastError = ""; // the server's last error message, said if it then closes
  const sizes = new Map(); // frame number -> [width, height] it was sent at
  const answeredAt = []; // reply times (ms) of the last 2 s, for the frame rate

  function say(text) {
    stats.textContent = text;
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + root.dataset.socket;
  }

  async function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("this browser gives no camera here (it needs HTTPS, or localhost)");
    }
    closeCamera();
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: facing, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    video.srcObject = stream;
    await video.play();
  }

  function closeCamera() {
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
    }
  }

  function sendFrame() {
    if (!running || !socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    if (inFlight >= MAX_IN_FLIGHT || !video.videoWidth) {
      return;
    }
    const scale = Math.min(1, SEND_WIDTH / video.videoWidth);
    grab.width = Math.round(video.videoWidth * scale);
    grab.height = Math.round(video.videoHeight * scale);
    grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
    const size = [grab.width, grab.height];
    inFlight += 1;
    grab.toBlob(function (blob) {
      if (!blob || !running || socket.readyState !== WebSocket.OPEN) {
        inFlight -= 1;
        return;
      }
      sizes.set(sent, size);
      sent += 1;
      socket.send(blob);
    }, "image/jpeg", JPEG_QUALITY);
  }

  // One loop at a time (a new one after a camera switch); each new camera frame may be sent.
  let loop = 0;
  function startLoop() {
    const id = ++loop;
    const next = function (step) {
      if (video.requestVideoFrameCallback) {
        video.requestVideoFrameCallback(step);
      } else {
        window.requestAnimationFrame(step);
      }
    };
    const step = function () {
      if (running && id === loop) {
        sendFrame();
        next(step);
      }
    };
    next(step);
  }

  function fitOverlay() {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.round(video.clientWidth * ratio);
    const h = Math.round(video.clientHeight * ratio);
    if (overlay.width !== w || overlay.height !== h) {
      overlay.width = w;
      overlay.height = h;
    }
  }

  function drawPeople(people, size) {
    fitOverlay();
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    const sx = overlay.width / size[0];
    const sy = overlay.height / size[1];
    const line = Math.max(2, overlay.width / 240);
    people.forEach(function (person) {
      const colour = COLOURS[Math.abs(person.track_id) % COLOURS.length];
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = line;
      const b = person.bbox;
      if (b && b[0] !== null) {
        ctx.strokeRect(b[0] * sx, b[1] * sy, (b[2] - b[0]) * sx, (b[3] - b[1]) * sy);
        ctx.font = Math.round(line * 7) + "px system-ui, sans-serif";
        const label = "#" + person.track_id + "  " + person.reps + " reps  " + person.phase;
        ctx.fillText(label, b[0] * sx + line, Math.max(line * 8, b[1] * sy - line * 2));
      }
      const kp = person.keypoints;
      const seen = function (k) {
        return kp[k] && kp[k][0] !== null && kp[k][1] !== null && (kp[k][2] || 0) >= MIN_SCORE;
      };
      EDGES.forEach(function (edge) {
        if (seen(edge[0]) && seen(edge[1])) {
          ctx.beginPath();
          ctx.moveTo(kp[edge[0]][0] * sx, kp[edge[0]][1] * sy);
          ctx.lineTo(kp[edge[1]][0] * sx, kp[edge[1]][1] * sy);
          ctx.stroke();
        }
      });
      kp.forEach(function (_, k) {
        if (seen(k)) {
          ctx.beginPath();
          ctx.arc(kp[k][0] * sx, kp[k][1] * sy, line * 1.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      });
    });
    root.dataset.people = String(people.length);
  }

  function showCoaching(people) {
    // The person with the most reps leads the display (usually the only one).
    let lead = null;
    people.forEach(function (p) {
      if (!lead || p.reps > lead.reps) {
        lead = p;
      }
    });
    if (lead) {
      repsEl.textContent = String(lead.reps);
      phaseEl.textContent = lead.phase;
      cueEl.textContent = lead.cue || "";
    }
  }

  function frameRate(now) {
    answeredAt.push(now);
    while (answeredAt.length && answeredAt[0] < now - 2000) {
      answeredAt.shift();
    }
    const span = (answeredAt[answeredAt.length - 1] - answeredAt[0]) / 1000;
    return span > 0 ? (answeredAt.length - 1) / span : 0;
  }

  function onReply(message) {
    if (message.type === "saved") {
      saved(message);
      return;
    }
    if (message.type === "error") {
      if (message.frame !== undefined) {
        inFlight = Math.max(0, inFlight - 1);
        sizes.delete(message.frame);
      }
      say("Server: " + message.error);
      lastError = message.error;
      return;
    }
    const gone = message.dropped || [];
    inFlight = Math.max(0, inFlight - 1 - gone.length);
    gone.forEach(function (n) { sizes.delete(n); });
    dropped += gone.length;
    replies += 1;
    const size = sizes.get(message.frame) || [grab.width, grab.height];
    sizes.delete(message.frame);
    drawPeople(message.people, size);
    showCoaching(message.people);
    const fps = frameRate(performance.now());
    root.dataset.replies = String(replies);
    root.dataset.latency = String(message.latency_ms);
    say(
      "frame " + message.frame + " · " + replies + " answered · " + dropped + " dropped · " +
      Math.round(message.latency_ms) + " ms · " + fps.toFixed(1) + " frames/s"
    );
  }

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function saved(message) {
    if (message.video_id === null) { // nothing was processed: nothing to see
      result.textContent = "Nothing saved: " + message.error + ".";
      root.dataset.saved = "";
      start.disabled = false;
      return;
    }
    result.textContent = "Saved as video " + message.video_id + ": ";
    result.appendChild(link(message.video_url, "its page"));
    if (message.report_url) {
      result.appendChild(document.createTextNode(" · "));
      result.appendChild(link(message.report_url, "its report"));
    }
    root.dataset.saved = message.video_id;
    start.disabled = false;
  }

  async function begin() {
    start.disabled = true;
    result.textContent = "";
    lastError = "";
    delete root.dataset.saved;
    try {
      await openCamera();
    } catch (err) {
      say("No camera: " + (err && err.message ? err.message : err));
      start.disabled = false;
      return;
    }
    sent = 0;
    inFlight = 0;
    replies = 0;
    dropped = 0;
    sizes.clear();
    answeredAt.length = 0;
    socket = new WebSocket(socketUrl());
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", function () {
      running = true;
      stop.disabled = false;
      say("Connected: sending frames.");
      startLoop();
    });
    socket.addEventListener("message", function (event) {
      if (typeof event.data === "string") {
        onReply(JSON.parse(event.data));
      }
    });
    socket.addEventListener("close", function () {
      running = false;
      stop.disabled = true;
      start.disabled = false;
      closeCamera();
      if (root.dataset.saved === undefined) {
        result.textContent = sent
          ? "The connection closed before the session was saved."
          : lastError
            ? "The server refused the session: " + lastError + "."
            : "The server refused the session (logged out? live coaching off?).";
      }
    });
  }

  function end() {
    running = false;
    stop.disabled = true;
    result.textContent = "Saving...";
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "end" }));
    }
    closeCamera();
  }

  async function switchCamera() {
    facing = facing === "user" ? "environment" : "user";
    flip.textContent = facing === "user" ? "Use the back camera" : "Use the front camera";
    if (stream) {
      try {
        await openCamera();
        startLoop();
      } catch (err) {
        say("Cannot switch the camera: " + (err && err.message ? err.message : err));
      }
    }
  }

  start.addEventListener("click", begin);
  stop.addEventListener("click", end);
  flip.addEventListener("click", switchCamera);
  window.addEventListener("resize", fitOverlay);
})();
