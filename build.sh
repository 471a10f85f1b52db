#!/usr/bin/env bash
# Build the two WebAssembly modules from the same C sources:
#   web/wasm/rope-simd128.wasm  (-msimd128: SIMD128 kernels + scalar ones)
#   web/wasm/rope-scalar.wasm   (scalar kernels only, for engines without SIMD)
# Works with Debian's emscripten package (3.1.x) and with a current emsdk.
# Usage: ./build.sh            (skips the build when the outputs are newer than c/)
#        ./build.sh --force
set -euo pipefail
cd "$(dirname "$0")"

out_dir=web/wasm
force=0
[[ "${1:-}" == "--force" ]] && force=1

if ! command -v emcc >/dev/null 2>&1; then
  echo "build.sh: emcc not found; install Emscripten (apt-get install emscripten, or emsdk)" >&2
  exit 1
fi
# Debian's emcc runs its JS tools with the system node, which needs the
# Debian node_modules on NODE_PATH.
if [[ -d /usr/share/nodejs ]]; then
  export NODE_PATH="${NODE_PATH:+$NODE_PATH:}/usr/share/nodejs"
fi

# Hot paths (kernels, tables, apply) are compiled for speed; the rest,
# mostly validation and messages, for size. Linking at -Oz then shrinks the
# glue without touching the code generated for the hot objects.
hot_sources=(c/table.c c/apply.c c/kernels/*.c)
cold_sources=(c/rope.c c/error.c c/kernel_list.c c/wasm_bridge.c c/rope_types/*.c)

# Exports come from this one list; the JS loader checks for the same names.
exports=(rope_params_init rope_create rope_free rope_head_dim rope_rotary_dim
         rope_get_pairing rope_get_type rope_attention_scaling rope_inv_freq
         rope_table_f32 rope_apply_f32 rope_set_kernel rope_active_kernel
         rope_has_simd128 rope_status_name rope_error_message
         rope_wasm_params_layout rope_wasm_qk_layout rope_wasm_heap_in_use
         malloc free)
exported_functions=$(printf '_%s,' "${exports[@]}")
exported_functions=${exported_functions%,}

# No fused multiply-add anywhere, so every variant rounds the same way.
cflags_common=(-std=c11 -Wall -Wextra -Werror -ffp-contract=off)
link_flags=(-Oz --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1
            -sINITIAL_MEMORY=1MB -sSTACK_SIZE=64KB -sFILESYSTEM=0 -sMALLOC=emmalloc
            "-sEXPORTED_FUNCTIONS=${exported_functions}")

# STACK_SIZE is called TOTAL_STACK before Emscripten 3.1.25.
emcc_version=$(emcc -dumpversion 2>/dev/null || echo 0)
if [[ "$(printf '%s\n3.1.25\n' "$emcc_version" | sort -V | head -n1)" != "3.1.25" ]]; then
  link_flags=("${link_flags[@]/-sSTACK_SIZE=64KB/-sTOTAL_STACK=64KB}")
fi

up_to_date() {
  local target=$1
  [[ $force -eq 0 && -f "$target" ]] || return 1
  [[ -z "$(find c build.sh -newer "$target" -type f 2>/dev/null | head -n1)" ]]
}

build_one() {
  local name=$1; shift
  local target="$out_dir/$name.wasm"
  if up_to_date "$target"; then
    echo "build.sh: $target is up to date"
    return
  fi
  local obj_dir="build/obj/$name"
  rm -rf "$obj_dir" && mkdir -p "$obj_dir"
  local objects=() source object
  for source in "${hot_sources[@]}" "${cold_sources[@]}"; do
    object="$obj_dir/$(echo "${source%.c}" | tr / _).o"
    if [[ " ${hot_sources[*]} " == *" $source "* ]]; then
      emcc "${cflags_common[@]}" -O3 "$@" -c "$source" -o "$object"
    else
      emcc "${cflags_common[@]}" -Oz "$@" -c "$source" -o "$object"
    fi
    objects+=("$object")
  done
  emcc "$@" "${objects[@]}" "${link_flags[@]}" -o "$target"
  echo "build.sh: built $target ($(wc -c <"$target") bytes)"
}

mkdir -p "$out_dir"
build_one rope-simd128 -msimd128
build_one rope-scalar
