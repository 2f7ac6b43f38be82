"""``posecoach web``: the coaches' web app over the store, the inbox and the reports.

A front over the flows, like ``flows/cli``: it lives in ``flows`` so that the command line can
start it without a package cycle (``flows.cli`` -> ``web`` -> ``flows.nightly``), and it is
held to the same architecture checks. Nothing outside ``flows.cli`` imports it.

- `flows.web.users`: users, API tokens, sessions and upload records in a small SQLite file
  (``<store>/_web/web.sqlite``).
- `flows.web.security`: CSRF tokens, the failed-login throttle, security headers, safe paths
  under the reports folder.
- `flows.web.uploads`: a multipart upload streamed to disk, checked by content, placed in the
  inbox.
- `flows.web.runner`: the background thread that runs the nightly flow over new uploads.
- `flows.web.app`: the FastAPI application (pages, the JSON API, the reports).
"""
