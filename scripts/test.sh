#!/usr/bin/env bash
# Set everything up (including Debian's chromium for the browser test) and run every test:
# fast unit tests, the real-model integration tests, the eval floors and the browser test.
#   scripts/test.sh                # all of them
#   scripts/test.sh -m "not real and not browser"   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
RAG_SETUP_BROWSER=1 scripts/setup.sh
exec .venv/bin/python -m pytest -ra --durations=15 "$@"
