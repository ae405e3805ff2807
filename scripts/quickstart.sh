#!/usr/bin/env bash
# Install everything into .venv, then run the main job on the bundled sample: show examples of each
# ProsocialDialog teacher, train a tiny RoT & Response generator for a fixed number of epochs (seeded
# by the preset, so a rerun on the same machine gives the same model and numbers) with the stock
# `parlai` command, and evaluate it with the paper's metrics. Output goes to quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh .venv --editable   # editable: the tests run against this checkout
. .venv/bin/activate

out=quickstart
rm -rf "$out" && mkdir -p "$out"
export PROSOCIAL_DATA_DIR="$PWD/$out/data"
python -m parlai_prosocial.tasks.prosocial.sample "$PROSOCIAL_DATA_DIR"

for task in prosocial:response prosocial:rot_response prosocial:safety prosocial:safety_classification; do
  echo "=== parlai display_data -t $task"
  parlai display_data -t "$task" -n 3 2>/dev/null
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
echo "quickstart finished: model, log and report in $out/"
