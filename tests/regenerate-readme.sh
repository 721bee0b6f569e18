#!/bin/sh
# Rewrites every ```console transcript in README.md with what the binary
# prints today (a release build, as a user would run it). The test
# readme::every_transcript_prints_what_the_binary_prints_today then checks
# that they stay true, every number aside.
set -eu
cd "$(dirname "$0")/.."
BANKRACE_README_UPDATE=1 cargo test --release --test it -- --exact readme::every_transcript_prints_what_the_binary_prints_today
git --no-pager diff --stat README.md 2>/dev/null || true
