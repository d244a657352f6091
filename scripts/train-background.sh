#!/usr/bin/env bash
# Starts (or resumes) the product's background training runs, niced, logging to files.
# Rebuilds what is missing from the repository alone: the corpus (flowmac corpus), the
# shipped model's mel statistics, and each run from its last checkpoint or, when the
# run directory is gone, from the weights shipped in models/default (the codec runs: from its
# 8-stage base, see BASE8 below).
#
#   scripts/train-background.sh            # (default) refiner-decoded3: the vocoder on the decoded mels of the weighted encoder search, 2026-12-03 fourth session
#   RUNS="codec-prior16pb codec-prior16pc" scripts/train-background.sh  # sampling for diverse real speech and its control (2026-12-03 sixth session)
#   RUNS="codec-prior16pe codec-prior16pw1" scripts/train-background.sh  # continued to 12000 steps (finished 2026-12-03 fourth session)
#   RUNS="codec-prior16pw1 codec-prior16pw2" scripts/train-background.sh  # speaker perturbation at 10 % and 20 % (pw2 finished at 4000)
#   RUNS="codec-prior16pe codec-prior16pe-old" scripts/train-background.sh  # issue 19's A/B: the wider corpus against the one before 0ad-data joined (2026-12-03 third session)
#   RUNS=refiner-decoded2 scripts/train-background.sh  # refiner-decoded2 (the vocoder fine-tuned again on decoded mels, now the shipped codec-prior16pd's), 2026-12-03 second stop
#   RUNS=codec-prior16pd2 scripts/train-background.sh  # the band-difference loss at weight 2, from codec-prior16pd (finished at 8000, 2026-12-03)
#   RUNS=codec-prior16pd scripts/train-background.sh   # the band-difference loss at weight 1, from codec-prior16pa2 (finished at 12000, shipped 2026-12-03)
#   RUNS=codec-prior16pa3 scripts/train-background.sh   # the third annealing cycle, from codec-prior16pa2 (finished at 8000, 2026-12-03)
#   RUNS=codec-prior16pa2 scripts/train-background.sh   # the second cycle, from codec-prior16pa (finished at 6000, 2026-12-03)
#   RUNS="codec-prior16pa codec-prior16p refiner-decoded" scripts/train-background.sh   # the 2026-12-02 fifth session's runs (all three finished their schedules)
#   RUNS="codec-prior16 refiner-decoded" scripts/train-background.sh   # the codec without packing (the default until the 2026-12-02 fifth session)
#   RUNS="codec-prior16 codec-prior16p refiner-decoded" scripts/train-background.sh   # with the arm that packs short clips in (2026-12-02 fifth session)
#   RUNS="codec-prior16p codec-prior16pa refiner-decoded" scripts/train-background.sh # the packing arm, constant and annealed (the fifth session's runs)
#   RUNS="codec-prior16 codec-prior16u refiner-decoded" scripts/train-background.sh   # with the uniform-dropout arm (stopped at the 2026-12-02 fourth session: behind at every rate)
#   RUNS="codec-f64" scripts/train-background.sh   # the same recipe with the CFM term (lost the equal-CPU A/B)
#   RUNS="codec-prior refiner" scripts/train-background.sh   # the vocoder on true mels only (refiner-small)
#   RUNS="codec-prior16" scripts/train-background.sh  # the shipped 16-stage codec, trained (issue 21)
#   RUNS="codec-prior16u" scripts/train-background.sh # the same, every stage count trained equally often
#   RUNS="codec" scripts/train-background.sh
#   RUNS="vocos" scripts/train-background.sh # the old Vocos GAN run (not a default: see docs/training.md)
#
# The runs execute a snapshot of dist/ in $DATA/app-<commit>, so rebuilding the work
# tree cannot change code under a running process. Stop them with: pkill -INT -f 'flowmac.js train'
# (SIGINT writes a checkpoint first).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${FLOWMAC_DATA:-$HOME/flowmac-data}"
RUNS="${RUNS:-refiner-decoded3}"
mkdir -p "$DATA/runs"

if [ ! -f "$DATA/corpus/manifest.jsonl" ]; then
  echo "building the corpus in $DATA/corpus (about 12 minutes)"
  (cd "$REPO" && nice -n 5 node bin/flowmac.js corpus --out "$DATA/corpus" --seed 1) > "$DATA/corpus.log" 2>&1
fi

# The codec trains on the shipped model's normalisation, so that resumed and shipped weights agree.
node -e '
const fs = require("fs");
const b = fs.readFileSync(process.argv[1]);
const n = Number(b.readBigUInt64LE(0));
fs.writeFileSync(process.argv[2], JSON.parse(b.subarray(8, 8 + n).toString()).__metadata__.mel_stats + "\n");
' "$REPO/models/default/codec.safetensors" "$DATA/shipped-stats.json"

# Each commit's build gets its own snapshot; a running run keeps the one it started from.
SNAP="$DATA/app-$(git -C "$REPO" rev-parse --short HEAD)"
if [ ! -d "$SNAP" ]; then
  mkdir -p "$SNAP.tmp"
  cp -r "$REPO/dist" "$REPO/bin" "$REPO/package.json" "$SNAP.tmp/"
  ln -s "$REPO/node_modules" "$SNAP.tmp/node_modules"
  mv "$SNAP.tmp" "$SNAP"
fi
ln -sfn "$SNAP" "$DATA/app"

start() { # name, nice level, args...
  local name="$1" level="$2"
  shift 2
  local run="$DATA/runs/$name"
  if pgrep -f -- "--out $run( |$)" > /dev/null; then echo "$name: already running"; return; fi
  local from="$RESUME_FROM"
  if [ -f "$run/checkpoint.safetensors" ]; then from="$run/checkpoint.safetensors"; fi
  local resume=()
  if [ -n "$from" ]; then resume=(--resume "$from"); fi
  echo "$name: $([ -n "$from" ] && echo "resuming from $from" || echo "starting afresh") (log: $run.out, $run/log.jsonl)"
  (cd "$SNAP" && nohup nice -n "$level" node "$SNAP/bin/flowmac.js" train "$@" --out "$run" "${resume[@]}" >> "$run.out" 2>&1 &)
}

# The codec runs train 8 stages (small-lin64). The shipped codec is that model extended to 16
# stages by k-means (flowmac extend-stages), so runs that start from shipped weights start from
# its 8-stage base, kept in git history: the commit before the extension shipped.
BASE8_COMMIT=e275f22
BASE8="$DATA/base-small-lin64-$BASE8_COMMIT.safetensors"
if [ ! -f "$BASE8" ]; then
  git -C "$REPO" show "$BASE8_COMMIT:models/default/codec.safetensors" > "$BASE8.tmp" && mv "$BASE8.tmp" "$BASE8"
fi

for r in $RUNS; do
  case "$r" in
    codec-lin64)
      if [ -f "$DATA/runs/codec-lin64/checkpoint.safetensors" ] || [ ! -f "$BASE8" ]; then
        # Afresh, the codec is warm-started from the linear codec (docs/training.md): fitted first when missing (~12 min).
        [ -f "$DATA/runs/codec-lin64/checkpoint.safetensors" ] || [ -f "$DATA/linear-d64.safetensors" ] || (cd "$REPO" && nice -n 5 node bin/flowmac.js fit-linear --data "$DATA/corpus" -o "$DATA/linear-d64.safetensors" --stats "$DATA/shipped-stats.json" --dim 64 --max-frames 100000 --iterations 15)
        RESUME_FROM="" start codec-lin64 10 codec --data "$DATA/corpus" --config small-lin64 --steps 12000 --prior-weight 1 --engine onnx \
          $([ -f "$DATA/runs/codec-lin64/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init-linear "$DATA/linear-d64.safetensors" --init-cfm "$REPO/models/default")
      else
        RESUME_FROM="$BASE8" start codec-lin64 10 codec --data "$DATA/corpus" --config small-lin64 --steps 12000 --prior-weight 1 --engine onnx --stats "$DATA/shipped-stats.json"
      fi ;;
    codec-f64)
      # The codec on 64-frame crops (1.4 s): a 128-frame crop leaves 3028 of the corpus's 5364
      # training clips (the short voice lines, most of the real English) unused. From the shipped
      # codec, fresh optimiser, a quarter of its learning rate (docs/training.md).
      RESUME_FROM="" start codec-f64 10 codec --data "$DATA/corpus" --steps 20000 --frames 64 --batch 16 --lr 1e-4 --prior-weight 1 --engine onnx \
        $([ -f "$DATA/runs/codec-f64/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$BASE8") ;;
    codec-prior)
      # codec-f64's recipe, prior-first: no flow-matching term (--cfm-weight 0), so a step skips the
      # CFM (~60 % of its work) and the autoencoder, which the default decoder is, gets the CPU.
      RESUME_FROM="" start codec-prior 10 codec --data "$DATA/corpus" --steps 40000 --frames 64 --batch 16 --lr 1e-4 --prior-weight 1 --cfm-weight 0 --engine onnx \
        $([ -f "$DATA/runs/codec-prior/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$BASE8") ;;
    codec-prior16)
      # The shipped 16-stage codec (6 kbit/s; its stages 9-16 came from k-means, extend-stages)
      # trained prior-first as a whole, so the decoder learns to read all 16 stages (issue 21).
      RESUME_FROM="" start codec-prior16 10 codec --data "$DATA/corpus" --steps 40000 --frames 64 --batch 16 --lr 1e-4 --prior-weight 1 --cfm-weight 0 --engine onnx \
        $([ -f "$DATA/runs/codec-prior16/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$REPO/models/default") ;;
    codec-prior16p)
      # codec-prior16 with the clips shorter than a crop packed in (--pack-short, src/train/pack.ts): 2370
      # of the 6538 training clips, most of the corpus's speakers, which codec-prior16 never draws.
      RESUME_FROM="" start codec-prior16p 10 codec --data "$DATA/corpus" --steps 40000 --frames 64 --batch 16 --lr 1e-4 --prior-weight 1 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/codec-prior16p/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$REPO/models/default") ;;
    codec-prior16pa)
      # codec-prior16p annealed: the same from the shipped codec, but its cosine schedule ends at step 6000
      # (lr 1e-4 down to 5e-6). At a constant 1e-4 the validation prior loss stays level from the shipped
      # weights (0.0733 at step 0, 0.072-0.076 to step 2900, 2026-12-02 fifth session).
      RESUME_FROM="" start codec-prior16pa 10 codec --data "$DATA/corpus" --steps 6000 --frames 64 --batch 16 --lr 1e-4 --prior-weight 1 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/codec-prior16pa/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$REPO/models/default") ;;
    codec-prior16pa2)
      # A second annealing cycle from codec-prior16pa's final weights (step 6000): lr 5e-5 down to 2.5e-6
      # over 6000 steps (2026-12-03). codec-prior16pa's first cycle gained at 3 and 6 kbit/s and in pitch.
      # Without that run (a rebuilt machine) it starts from the shipped codec.
      PA="$DATA/runs/codec-prior16pa/weights.safetensors"; [ -f "$PA" ] || PA="$REPO/models/default"
      RESUME_FROM="" start codec-prior16pa2 10 codec --data "$DATA/corpus" --steps 6000 --frames 64 --batch 16 --lr 5e-5 --prior-weight 1 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/codec-prior16pa2/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$PA") ;;
    codec-prior16pa3)
      # A third cycle, from codec-prior16pa2's final weights: lr 3e-5 down to 1.5e-6 over 8000 steps (2026-12-03;
      # codec-prior16pa2's second cycle lowered the validation prior loss 0.0712 -> 0.0706). Without that run,
      # from the shipped codec.
      PA="$DATA/runs/codec-prior16pa2/weights.safetensors"; [ -f "$PA" ] || PA="$REPO/models/default"
      RESUME_FROM="" start codec-prior16pa3 10 codec --data "$DATA/corpus" --steps 8000 --frames 64 --batch 16 --lr 3e-5 --prior-weight 1 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/codec-prior16pa3/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$PA") ;;
    codec-prior16pd)
      # Pitch: the prior loss plus an L1 term on the error of adjacent-band differences (--band-delta-weight 1),
      # from codec-prior16pa2's final weights (2026-12-03): the annealed codecs gained STOI but lost ~5 cents of
      # median F0 error, and harmonics are peaks across bands. lr 5e-5, cosine over 12000 steps.
      PA="$DATA/runs/codec-prior16pa2/weights.safetensors"; [ -f "$PA" ] || PA="$REPO/models/default"
      RESUME_FROM="" start codec-prior16pd 10 codec --data "$DATA/corpus" --steps 12000 --frames 64 --batch 16 --lr 5e-5 --prior-weight 1 --band-delta-weight 1 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/codec-prior16pd/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$PA") ;;
    codec-prior16pd2)
      # codec-prior16pd's band-difference loss at twice the weight (--band-delta-weight 2), from its final
      # weights (shipped 2026-12-03, second session: it gained pitch and STOI at 3 and 6 kbit/s over
      # codec-prior16pa2's start); lr 3e-5, cosine over 8000 steps. Without that run, from the shipped codec.
      PD="$DATA/runs/codec-prior16pd/weights.safetensors"; [ -f "$PD" ] || PD="$REPO/models/default"
      RESUME_FROM="" start codec-prior16pd2 10 codec --data "$DATA/corpus" --steps 8000 --frames 64 --batch 16 --lr 3e-5 --prior-weight 1 --band-delta-weight 2 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/codec-prior16pd2/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$PD") ;;
    codec-prior16pe|codec-prior16pe-old)
      # Issue 19's A/B at equal steps: the same recipe on the wider corpus (0ad-data's music joined it,
      # 2026-12-03 third session) and on the corpus before it (corpus-old: the same manifest without the
      # sources added that day). From codec-prior16pd's final weights (the shipped codec), band-difference
      # weight 1, lr 3e-5 cosine over 4000 steps.
      CORPUS="$DATA/corpus"
      if [ "$r" = codec-prior16pe-old ]; then
        CORPUS="$DATA/corpus-old"
        if [ ! -f "$CORPUS/manifest.jsonl" ]; then
          mkdir -p "$CORPUS" && ln -sfn "$DATA/corpus/clips" "$CORPUS/clips"
          grep -v -E '"source":"(openarena-voices|0ad-voices|0ad-music)"' "$DATA/corpus/manifest.jsonl" > "$CORPUS/manifest.jsonl.tmp" && mv "$CORPUS/manifest.jsonl.tmp" "$CORPUS/manifest.jsonl"
        fi
      fi
      PD="$DATA/runs/codec-prior16pd/weights.safetensors"; [ -f "$PD" ] || PD="$REPO/models/default"
      STEPS=4000; [ "$r" = codec-prior16pe ] && STEPS=12000 # pe continues past the A/B (same cosine, a longer schedule)
      RESUME_FROM="" start "$r" 10 codec --data "$CORPUS" --steps "$STEPS" --frames 64 --batch 16 --lr 3e-5 --prior-weight 1 --band-delta-weight 1 --cfm-weight 0 --engine onnx --pack-short \
        $([ -f "$DATA/runs/$r/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$PD") ;;
    codec-prior16pw1|codec-prior16pw2)
      # Speaker perturbation (--warp, VTLP on the mel): codec-prior16pe's recipe (wider corpus, from
      # codec-prior16pd's weights, 4000 steps) with each crop's spectrum scaled in frequency by up to
      # 10 % (pw1) or 20 % (pw2). On the unseen speakers the shipped codec loses to Codec 2 at
      # 1.5 kbit/s (2026-12-03, third session); codec-prior16pe is the arm without it.
      # Since the third 2026-12-03 session pw1 continues to 12000 steps beside codec-prior16pe (pw2 stopped at 4000).
      W=0.1; STEPS=12000; [ "$r" = codec-prior16pw2 ] && W=0.2 && STEPS=4000
      PD="$DATA/runs/codec-prior16pd/weights.safetensors"; [ -f "$PD" ] || PD="$REPO/models/default"
      RESUME_FROM="" start "$r" 10 codec --data "$DATA/corpus" --steps "$STEPS" --frames 64 --batch 16 --lr 3e-5 --prior-weight 1 --band-delta-weight 1 --cfm-weight 0 --engine onnx --pack-short --warp "$W" \
        $([ -f "$DATA/runs/$r/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$PD") ;;
    codec-prior16pb|codec-prior16pc)
      # Issue 17's unseen speakers (2026-12-03 sixth session): the draws shared for diverse real speech. pb draws
      # real speech 0.6, music 0.2 + 0.1, synthetic speech 0.1, and within a kind each source as the square root
      # of its hours (--source-balance 0.5: the Russian reader 32 % -> 20 % of the real speech); pc is the
      # control, today's sampling. Both from the shipped codec, codec-prior16pe's recipe, 4000 steps.
      SAMPLING=""; [ "$r" = codec-prior16pb ] && SAMPLING="--kind-weights speech-real=0.6,music-real=0.2,speech-synthetic=0.1,music-synthetic=0.1 --source-balance 0.5"
      RESUME_FROM="" start "$r" 10 codec --data "$DATA/corpus" --steps 4000 --frames 64 --batch 16 --lr 3e-5 --prior-weight 1 --band-delta-weight 1 --cfm-weight 0 --engine onnx --pack-short $SAMPLING \
        $([ -f "$DATA/runs/$r/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$REPO/models/default") ;;
    codec-prior16u)
      # codec-prior16 with every stage count trained equally often (--stage-dropout 1): the default
      # quantizer dropout trains all 16 stages on half the examples and 4 stages on 1 in 32, and the
      # rate-allocated streams give frames 2 to 12 stages (docs/training.md, 2026-12-02 third session).
      RESUME_FROM="" start codec-prior16u 10 codec --data "$DATA/corpus" --steps 40000 --frames 64 --batch 16 --lr 1e-4 --prior-weight 1 --cfm-weight 0 --engine onnx --stage-dropout 1 \
        $([ -f "$DATA/runs/codec-prior16u/checkpoint.safetensors" ] && echo --stats "$DATA/shipped-stats.json" || echo --init "$REPO/models/default") ;;
    codec) RESUME_FROM="$REPO/models/default/codec.safetensors" start codec-small 10 codec --data "$DATA/corpus" --config small --steps 12000 --lr 4e-4 --stats "$DATA/shipped-stats.json" --engine onnx ;;
    refiner)
      # From the shipped refiner when that is what ships, else afresh (step 0 is NNLS + PGHI-FGLA).
      RESUME_FROM=""
      if grep -q refiner-small <(head -c 4096 "$REPO/models/default/vocoder.safetensors"); then RESUME_FROM="$REPO/models/default/vocoder.safetensors"; fi
      start refiner-small 12 vocoder --data "$DATA/corpus" --config refiner-small --steps 20000 --engine onnx ;;
    refiner-decoded)
      # The refiner fine-tuned for the codec's output: half its crops are the shipped codec's decoded
      # mels (1.5, 3 and 6 kbit/s, 1:2:1), half the true mels, so it stays a vocoder of both.
      # From its checkpoint, else from the shipped vocoder (docs/training.md); a gentle fine-tune (lr 1e-4).
      if [ -f "$DATA/runs/refiner-decoded/checkpoint.safetensors" ]; then
        RESUME_FROM="" start refiner-decoded 12 vocoder --data "$DATA/corpus" --steps 4000 --lr 1e-4 --engine onnx --decoded-by "$REPO/models/default" --decoded-share 0.5
      else
        RESUME_FROM="" start refiner-decoded 12 vocoder --data "$DATA/corpus" --steps 4000 --lr 1e-4 --engine onnx --decoded-by "$REPO/models/default" --decoded-share 0.5 --init "$REPO/models/default/vocoder.safetensors"
      fi ;;
    refiner-decoded3)
      # The vocoder fine-tuned on the mels the codec decodes since the encoder's search weighs the bands above 4 kHz
      # less at low rates (2026-12-03 fourth session): from the shipped vocoder, refiner-decoded2's recipe.
      RESUME_FROM="" start refiner-decoded3 10 vocoder --data "$DATA/corpus" --steps 4000 --lr 5e-5 --engine onnx --decoded-by "$REPO/models/default" --decoded-share 0.5 \
        $([ -f "$DATA/runs/refiner-decoded3/checkpoint.safetensors" ] || echo --init "$REPO/models/default/vocoder.safetensors") ;;
    refiner-decoded2)
      # A second fine-tune on decoded mels, from refiner-decoded's final weights (shipped 2026-12-03), at half its lr.
      # Without that run, from the shipped vocoder.
      if [ -f "$DATA/runs/refiner-decoded2/checkpoint.safetensors" ]; then
        RESUME_FROM="" start refiner-decoded2 10 vocoder --data "$DATA/corpus" --steps 4000 --lr 5e-5 --engine onnx --decoded-by "$REPO/models/default" --decoded-share 0.5
      else
        RD="$DATA/runs/refiner-decoded/weights.safetensors"; [ -f "$RD" ] || RD="$REPO/models/default/vocoder.safetensors"
        RESUME_FROM="" start refiner-decoded2 10 vocoder --data "$DATA/corpus" --steps 4000 --lr 5e-5 --engine onnx --decoded-by "$REPO/models/default" --decoded-share 0.5 --init "$RD"
      fi ;;
    vocos) RESUME_FROM="$REPO/models/default/vocoder.safetensors" start vocos-small 15 vocoder --data "$DATA/corpus" --config vocos-small --steps 12000 ;;
    *) echo "unknown run '$r'" >&2; exit 2 ;;
  esac
done
