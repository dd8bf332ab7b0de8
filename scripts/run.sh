#!/usr/bin/env bash
# The main job, from a fresh clone: set everything up, index seeds/, start the web page.
#   scripts/run.sh                 # http://127.0.0.1:7860
#   scripts/run.sh --model fast    # extra arguments go to `rag serve`
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if grep -qs '"format_version": 1,' indexes/seeds/manifest.json; then  # an index of the old format: keep its vectors
  .venv/bin/rag upgrade --index indexes/seeds
fi
.venv/bin/rag ingest seeds/ --index indexes/seeds
exec .venv/bin/rag serve --index indexes/seeds "$@"
