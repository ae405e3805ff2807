#!/usr/bin/env bash
# Install everything into .venv, then run the main job on the bundled sample: show the first example
# of each ProsocialDialog teacher, train a tiny RoT & Response generator for a fixed number of epochs
# (seeded by the preset, so a rerun on the same machine gives the same model and numbers) with the
# stock `parlai` command, and evaluate it with the paper's metrics; then train a tiny Prost and a
# tiny Canary on the offline demo data and chat with them. It prints the results and where every
# file went (quickstart/); each command's full output, ParlAI's option dump included, is in its log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh .venv --editable   # editable: the tests run against this checkout
. .venv/bin/activate

out=quickstart
rm -rf "$out" && mkdir -p "$out"
export PROSOCIAL_DATA_DIR="$PWD/$out/data"
python -m parlai_prosocial.samples prosocial "$PROSOCIAL_DATA_DIR" > /dev/null

# the metrics that matter, one line, from a ParlAI report saved as JSON (KEY: where it is in FILE)
show() {
  python - "$@" <<'EOF'
import json, sys
title, path, key = sys.argv[1:4]
report = json.load(open(path))[key]
names = ['ppl', 'f1', 'bleu-4', 'rot_f1', 'rot_bleu-4', 'safety_acc', 'exs']
print(f'{title}: ' + ', '.join(f'{n} {report[n]:.4g}' for n in names if n in report))
EOF
}

echo "=== the first example of each ProsocialDialog teacher (parlai display_data -t TASK -n 1)"
for task in prosocial:response prosocial:rot_response prosocial:safety prosocial:safety_classification; do
  echo "--- -t $task"
  parlai display_data -t "$task" -n 1 --loglevel warn 2>/dev/null | grep -v "NEW EPISODE"
done

echo "=== dataset statistics of the sample, the ones the paper reports (all: python -m parlai_prosocial.tasks.prosocial.stats)"
python -m parlai_prosocial.tasks.prosocial.stats | awk 'NR == 1 || $2 != "-"'

echo "=== parlai train_model (tiny generator, 100 epochs of the sample, seed 0)"
parlai train_model -o prosocial/tiny_generator -t prosocial:rot_response -mf "$out/model" \
  --num-epochs 100 --validation-every-n-epochs 25 --seed 0 > "$out/train.log" 2>&1 \
  || { tail -40 "$out/train.log"; exit 1; }
show "valid, best model" "$out/model.trainstats" final_valid_report

echo "=== parlai eval_model on the test split (BLEU-4, F1, perplexity)"
parlai eval_model -mf "$out/model" -t prosocial:rot_response --datatype test \
  --metrics bleu-4,f1,ppl --report-filename "$out/report.json" > "$out/eval.log" 2>&1 \
  || { tail -40 "$out/eval.log"; exit 1; }
show "test" "$out/report.json" report

echo "=== a tiny Prost and a tiny Canary, chatting (a tiny-sample demo: the replies and numbers show"
echo "    that the code runs end to end, nothing about the papers' models)"
# everything offline: each task's sample, tiny copies of ParlAI's casual datasets, a tiny T5;
# it also exports OMP_NUM_THREADS=1 (tiny models: a second thread only adds contention)
exports="$(python -m parlai_prosocial.offline_data "$out/offline")"   # (set -e stops on its error)
eval "$exports"
parlai train_model -o prosocial/tiny_prost -mf "$out/prost/model" > "$out/prost.log" 2>&1 \
  || { tail -40 "$out/prost.log"; exit 1; }
show "tiny Prost, valid" "$out/prost/model.trainstats" final_valid_report
python -m parlai_prosocial.zoo.prost.install "$out/prost/model"   # now it is zoo:prost/model
parlai train_model -o prosocial/tiny_canary -mf "$out/canary/model" > "$out/canary.log" 2>&1 \
  || { tail -40 "$out/canary.log"; exit 1; }
show "tiny Canary, valid" "$out/canary/model.trainstats" final_valid_report
echo "--- parlai interactive: zoo:prost/model behind Canary; the reply, Prost's RoTs (rots_text),"
echo "--- Canary's label and RoTs (guard_rots_text), and what the guard did, for each turn; [DONE] starts a new chat"
printf "I'm going to call 911 just for fun tonight.\n[DONE]\nI just adopted a kitten!\n[EXIT]\n" \
  | parlai interactive -m canary_guard --guarded-model-file zoo:prost/model \
      --canary-model-file "$out/canary/model" --loglevel warn \
      --display-add-fields rots_text,safety_label,guard_rots_text,guard_action 2>/dev/null \
  | grep -v "^[0-9-]* [0-9:,]* \(INFO\|WARNING\)" | sed 's/Enter Your Message: /\n/g' | cat -s
cat <<EOF
=== quickstart finished; the files, in $out/:
  model (.dict, .opt, .trainstats)   the tiny generator; train.log, eval.log its commands' output
  report.json                        its test report (every metric)
  prost/model, canary/model          the tiny Prost (installed as zoo:prost/model) and Canary; prost.log, canary.log
  data/, offline/                    the bundled ProsocialDialog sample; the offline data (offline/parlai_data: ParlAI's datapath)
EOF
