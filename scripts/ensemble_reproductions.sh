#!/usr/bin/env bash
# The best ensemble of the reproduction runs, for the ledger: `ferlab ensemble --select greedy`
# (Caruana et al. 2004: members and weights chosen on PublicTest only, PrivateTest evaluated
# once) over every finished training run of the experiments under experiments/reproduce/ in
# the reproduction store, then archived into results/reproductions/ beside its members. The
# archive of an earlier ensemble of the same name (fewer candidates) is replaced, so the
# committed ledger shows the current one. Run it after scripts/reproduce.sh has archived new
# runs, then scripts/update_ledger.sh.
#
#   scripts/ensemble_reproductions.sh [OUT]   OUT: the reproduction store's folder
#                                             (../runs/reproduce by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
out="${1:-../runs/reproduce}"
name=reproduction_ensemble
db="$out/ferlab.db"

declared="$(for f in experiments/reproduce/*.toml; do
  sed -n 's/^name = "\(.*\)"/\1/p' "$f" | head -1
done)"
mapfile -t runs < <("$ferlab" ls --json --db "$db" | python3 -c '
import json, sys
declared = set(sys.argv[1].split())
for run in json.load(sys.stdin):
    if run["kind"] == "train" and run["status"] == "finished" and run["experiment"] in declared:
        print(run["id"])
' "$declared")
if [ ${#runs[@]} -lt 2 ]; then
  echo "ensemble_reproductions.sh: ${#runs[@]} finished reproduction run(s) in $db;" \
       "an ensemble needs at least 2" >&2
  exit 1
fi

summary="$("$ferlab" ensemble "${runs[@]}" --select greedy --name "$name" --db "$db")"
echo "$summary"
id="$(sed -n 's/^ensemble \([0-9a-f]*\) .*/\1/p' <<< "$summary")"

# Replace the archived ensemble of this name: an archive is gzip JSON whose "run" object holds
# the run's "kind" and "name".
find results/reproductions -name '*.json.gz' -print0 | while IFS= read -r -d '' archive; do
  if zcat "$archive" | python3 -c '
import json, sys
run = json.load(sys.stdin)["run"]
sys.exit(0 if run["kind"] == "ensemble" and run["name"] == sys.argv[1] else 1)
' "$name"; then
    rm -- "$archive"
  fi
done
"$ferlab" archive "$id" --db "$db" -o results/reproductions
