#!/usr/bin/env bash
# Exactly-once under kill -9: a few trials of tools/batch-kill-trials.ts (the full run is 20+ trials, see README
# "Batch scoring"). Fails when a reader ever saw a partial shard or a rerun's merged output differed.
set -euo pipefail
npx ts-node --transpile-only tools/batch-kill-trials.ts --trials 3 --images 12 --seed 7 > /tmp/abe-clip-kill-trials.json
node -e "const r=require('/tmp/abe-clip-kill-trials.json'); console.log('kill -9 trials:', r.trials, 'trials,', r.kills, 'kills,', r.failures, 'failures'); process.exit(r.failures ? 1 : 0)"
