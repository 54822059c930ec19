# Shared set-up of the benchmark scripts (sourced): paths, a scratch folder,
# and the cached CloudTrail corpus of $events events.
# Expects: build, events. Sets: root, corpus, vigil, work, files.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus="$root/bench/corpus/$events"
vigil="$build/src/cli/vigil"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -f "$corpus/.done" ]; then
  rm -rf "$corpus"
  python3 "$root/bench/make_corpus.py" --out "$corpus" --events "$events" --seed 1 \
    --stratus "$root/../shared/data/cloudtrail/stratus-red-team/docs/detonation-logs" >&2
  touch "$corpus/.done"
fi
# -L: the corpus folder may be a symbolic link to a shared copy.
mapfile -t files < <(find -L "$corpus" -name '*.json.gz' | sort)
