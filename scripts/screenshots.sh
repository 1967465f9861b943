#!/usr/bin/env bash
# Regenerates the README's pictures: docs/images/report.png (the HTML report of the demo, by
# headless Chromium) and docs/images/live-view.png (the live view in an 80x24 tmux pane, turned
# into HTML by `aha` and photographed by Chromium). Needs: chromium, tmux, aha (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/berth
out=docs/images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; tmux kill-session -t berth-shot 2>/dev/null || true' EXIT
shot() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --screenshot="$1" --window-size="$2" "file://$3" >/dev/null 2>&1; }

"$bin" simulate scenarios/web-and-batch.toml --quiet --html "$tmp/report.html" >/dev/null
shot "$out/report.png" 1000,1500 "$tmp/report.html"

tmux new-session -d -s berth-shot -x 80 -y 24 \
  "$bin simulate scenarios/web-and-batch.toml --watch --speed 3000; sleep 30"
sleep 11.5
tmux send-keys -t berth-shot " "
sleep 0.5
tmux capture-pane -e -p -t berth-shot > "$tmp/live.ansi"
tmux send-keys -t berth-shot q
aha --black --title "berth live view" < "$tmp/live.ansi" \
  | sed 's|<pre>|<pre style="font-family: DejaVu Sans Mono, monospace; font-size: 14px; line-height: 1.2; margin: 8px;">|' \
  > "$tmp/live.html"
shot "$out/live-view.png" 700,430 "$tmp/live.html"
echo "wrote $out/report.png and $out/live-view.png"
