#!/usr/bin/env bash
# Compares speexdsp and webrtc-audio-processing on the simulated room of room.py
# (docs/MEDIA.md, "Processing"). Needs g++, make deps (espeak-ng, sox, the pesq venv),
# libspeexdsp-dev and libwebrtc-audio-processing-dev.
#   scripts/voice-processing/compare.sh [delay-ms] [echo-dB]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../../.build/pesq-venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -O2 -std=c++14 "$here/compare.cpp" -o "$work/compare" $(pkg-config --cflags --libs speexdsp webrtc-audio-processing)
"$python" "$here/room.py" make "$work" --delay-ms "${1:-60}" --echo-db "${2:-10}"
head -c "$(stat -c %s "$work/far.raw")" /dev/zero > "$work/silence.raw"
for method in speex webrtc; do
  for parts in ${PARTS:-aec aec,ns aec,ns,agc}; do
    cost=$("$work/compare" "$method" "$parts" "$work/mic.raw" "$work/far.raw" "$work/out.raw")
    room=$("$python" "$here/room.py" score "$work" "$work/out.raw")
    "$work/compare" "$method" "$parts" "$work/clean.raw" "$work/silence.raw" "$work/clean-out.raw" >/dev/null
    clean=$("$python" "$here/room.py" score "$work" "$work/clean-out.raw" clean)
    echo "$method $parts: $room clean_$clean cost_us_mean_p99=${cost// //}"
  done
done
