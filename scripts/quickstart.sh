#!/usr/bin/env bash
# Install everything into .venv, then run the main job on the bundled sample: show examples of each
# ProsocialDialog teacher, train a tiny RoT & Response generator for a fixed number of epochs (seeded
# by the preset, so a rerun on the same machine gives the same model and numbers) with the stock
# `parlai` command, and evaluate it with the paper's metrics; then train a tiny Prost and a tiny
# Canary on the offline demo data and chat with them. Output goes to quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh .venv --editable   # editable: the tests run against this checkout
. .venv/bin/activate

out=quickstart
rm -rf "$out" && mkdir -p "$out"
export PROSOCIAL_DATA_DIR="$PWD/$out/data"
python -m parlai_prosocial.samples prosocial "$PROSOCIAL_DATA_DIR"

for task in prosocial:response prosocial:rot_response prosocial:safety prosocial:safety_classification; do
  echo "=== parlai display_data -t $task"
  parlai display_data -t "$task" -n 3 --loglevel warn 2>/dev/null   # warn: no option dump
done

echo "=== dataset statistics of the sample"
python -m parlai_prosocial.tasks.prosocial.stats

echo "=== parlai train_model (tiny generator, 100 epochs of the sample, seed 0)"
parlai train_model -o prosocial/tiny_generator -t prosocial:rot_response -mf "$out/model" \
  --num-epochs 100 --validation-every-n-epochs 25 --seed 0 > "$out/train.log" 2>&1 \
  || { tail -40 "$out/train.log"; exit 1; }
grep -A8 "REPORT.*valid" "$out/train.log" | tail -9

echo "=== parlai eval_model on the test split (BLEU-4, F1, perplexity)"
parlai eval_model -mf "$out/model" -t prosocial:rot_response --datatype test \
  --metrics bleu-4,f1,ppl --report-filename "$out/report.json" 2>&1 | grep -A6 "Finished evaluating"
echo "=== a tiny Prost and a tiny Canary, chatting (a tiny-sample demo: the replies and numbers show"
echo "    that the code runs end to end, nothing about the papers' models)"
# everything offline: each task's sample, tiny copies of ParlAI's casual datasets, a tiny T5
eval "$(python -m parlai_prosocial.offline_data "$out/offline")"
export OMP_NUM_THREADS=1   # tiny models: a second thread only adds contention
parlai train_model -o prosocial/tiny_prost -mf "$out/prost/model" > "$out/prost.log" 2>&1 \
  || { tail -40 "$out/prost.log"; exit 1; }
python -m parlai_prosocial.zoo.prost.install "$out/prost/model"   # now it is zoo:prost/model
parlai train_model -o prosocial/tiny_canary -mf "$out/canary/model" > "$out/canary.log" 2>&1 \
  || { tail -40 "$out/canary.log"; exit 1; }
echo "--- parlai interactive: zoo:prost/model behind Canary; the reply, Prost's RoTs (rots_text),"
echo "--- Canary's label and RoTs (guard_rots_text), and what the guard did, for each turn; [DONE] starts a new chat"
printf "I'm going to call 911 just for fun tonight.\n[DONE]\nI just adopted a kitten!\n[EXIT]\n" \
  | parlai interactive -m canary_guard --guarded-model-file zoo:prost/model \
      --canary-model-file "$out/canary/model" \
      --display-add-fields rots_text,safety_label,guard_rots_text,guard_action 2>/dev/null \
  | grep -v "^[0-9-]* [0-9:,]* \(INFO\|WARNING\)" | sed 's/Enter Your Message: /\n/g'
echo "quickstart finished: models, logs and report in $out/"
