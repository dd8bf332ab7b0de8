#!/usr/bin/env bash
# Set everything up (including Debian's chromium for the browser test) and run every test:
# fast unit tests, the real-model integration tests, the eval floors and the browser test.
#   scripts/test.sh                # all of them
#   scripts/test.sh -m "not real and not browser"   # extra arguments go to pytest
#
# The tests start servers (the page, an embedded Milvus, a local Ray). Milvus 2.3 and Ray listen on every
# interface with no setting to change that, so where the system allows it (root, util-linux's unshare) the tests
# run in a network namespace of their own that holds only the loopback interface: nothing they start can be
# reached from outside the machine. Elsewhere they run as they are (RAG_TEST_NETNS=0 asks for that too).
set -euo pipefail
cd "$(dirname "$0")/.."
RAG_SETUP_BROWSER=1 scripts/setup.sh
run=(.venv/bin/python -m pytest -ra --durations=15 "$@")
if [ "${RAG_TEST_NETNS:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null \
   && unshare --net true 2>/dev/null; then
  exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh "${run[@]}"
fi
exec "${run[@]}"
