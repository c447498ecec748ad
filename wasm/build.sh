#!/usr/bin/env bash
# Rebuilds wasm/realm.wasm from wasm/realm/ (Rust, wasm-bindgen 0.2.83), offline.
#
# Prerequisites (Debian/Ubuntu packages; no network needed after install):
#   apt-get install -y rustc cargo libstd-rust-dev-wasm32 librust-wasm-bindgen-dev
#
# Usage:
#   wasm/build.sh            build twice from clean, require byte-identical
#                            output, write wasm/realm.wasm, print its sha256
#   wasm/build.sh --once     a single clean build (faster), then write
#   wasm/build.sh --check    rebuild into a temp file and compare with the
#                            committed wasm/realm.wasm; exit 1 if they differ
#
# The Debian toolchain is used explicitly (/usr/bin/rustc 1.63, /usr/bin/cargo),
# whatever rustup or ~/.cargo puts first on PATH. Crates come from Debian's
# /usr/share/cargo/registry through source replacement (realm/.cargo/config.toml).
# Every build starts from an empty temporary target dir and an empty temporary
# CARGO_HOME, so neither stale artifacts nor user cargo config can leak in.
#
# Output hygiene: the release profile (realm/Cargo.toml) sets strip = "symbols",
# which makes wasm-ld drop DWARF (.debug_*), the `name` section and the
# `producers` section. The `__wasm_bindgen_unstable` custom section and all
# `__wbindgen_describe_*` exports are kept (they are exports / non-debug custom
# sections); verify_wasm below fails the build if that ever changes.
# Source paths embedded in panic locations are remapped with
# --remap-path-prefix so the module does not depend on where the repo lives.
set -euo pipefail

RUSTC_BIN=/usr/bin/rustc
CARGO_BIN=/usr/bin/cargo
REGISTRY=/usr/share/cargo/registry
TARGET=wasm32-unknown-unknown
APT_HINT="apt-get install -y rustc cargo libstd-rust-dev-wasm32 librust-wasm-bindgen-dev"

WASM_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
CRATE_DIR="$WASM_DIR/realm"
OUT="$WASM_DIR/realm.wasm"

mode=build
case "${1:-}" in
  "") ;;
  --once) mode=once ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
  *) echo "build.sh: unknown argument: $1 (use --once, --check or --help)" >&2; exit 2 ;;
esac

die() { echo "build.sh: $*" >&2; exit 1; }

# --- prerequisites -----------------------------------------------------------
[ -x "$RUSTC_BIN" ] || die "$RUSTC_BIN not found; install with: $APT_HINT"
[ -x "$CARGO_BIN" ] || die "$CARGO_BIN not found; install with: $APT_HINT"
SYSROOT="$("$RUSTC_BIN" --print sysroot)"
[ -d "$SYSROOT/lib/rustlib/$TARGET/lib" ] \
  || die "no $TARGET std for $RUSTC_BIN (sysroot $SYSROOT); install with: $APT_HINT"
[ -d "$REGISTRY/wasm-bindgen-0.2.83" ] \
  || die "wasm-bindgen 0.2.83 sources missing from $REGISTRY; install with: $APT_HINT"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to verify the output"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/realm-wasm-build.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT

# Remap every absolute source root that could end up in panic-location strings.
# The values do not depend on the temp dir, so RUSTFLAGS are identical between
# the two reproducibility builds.
HOME_CARGO="${HOME:-/root}/.cargo"
RUSTFLAGS_FIXED="--remap-path-prefix=$CRATE_DIR=/realm-wasm"
RUSTFLAGS_FIXED+=" --remap-path-prefix=$REGISTRY=/cargo-registry"
RUSTFLAGS_FIXED+=" --remap-path-prefix=$HOME_CARGO=/cargo-home"

# build_into DEST: one clean build, copies the cdylib to DEST.
build_into() {
  local dest="$1" n="$2"
  local target_dir="$TMP/target-$n" cargo_home="$TMP/cargo-home-$n"
  mkdir -p "$cargo_home"
  (
    cd "$CRATE_DIR"
    # Scrub anything from the caller's environment that could change codegen.
    unset RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_ENCODED_RUSTFLAGS \
          CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_TARGET_DIR \
          CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_LTO \
          CARGO_PROFILE_RELEASE_DEBUG CARGO_PROFILE_RELEASE_STRIP \
          CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS \
          CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER RUSTDOCFLAGS
    export RUSTC="$RUSTC_BIN" \
           RUSTFLAGS="$RUSTFLAGS_FIXED" \
           CARGO_HOME="$cargo_home" \
           CARGO_TARGET_DIR="$target_dir" \
           CARGO_INCREMENTAL=0 \
           CARGO_TERM_COLOR=never \
           SOURCE_DATE_EPOCH=0
    "$CARGO_BIN" build --offline --locked --release --target "$TARGET" --quiet
  ) || die "cargo build failed (if Cargo.lock does not match the installed Debian crates, the
  pinned toolchain differs: rustc 1.63.0+dfsg1, librust-wasm-bindgen-dev 0.2.83 as in Debian 12)"
  cp -- "$TMP/target-$n/$TARGET/release/realm_wasm.wasm" "$dest"
  verify_wasm "$dest"
}

# verify_wasm FILE: structural checks on the produced module.
verify_wasm() {
  python3 - "$1" <<'PY'
import sys

path = sys.argv[1]
data = open(path, "rb").read()
if data[:8] != b"\0asm\x01\0\0\0":
    sys.exit(f"{path}: not a wasm v1 module")

def leb(b, p):
    r = s = 0
    while True:
        x = b[p]; p += 1
        r |= (x & 0x7F) << s; s += 7
        if x < 0x80:
            return r, p

def name(b, p):
    n, p = leb(b, p)
    return b[p:p + n].decode(), p + n

customs, exports = [], []
p = 8
while p < len(data):
    sid = data[p]; p += 1
    size, p = leb(data, p)
    body = data[p:p + size]
    if sid == 0:
        customs.append(name(body, 0)[0])
    elif sid == 7:
        cnt, q = leb(body, 0)
        for _ in range(cnt):
            nm, q = name(body, q)
            q += 1
            _, q = leb(body, q)
            exports.append(nm)
    p += size

problems = []
bad = [c for c in customs if c.startswith(".debug") or c in ("name", "producers")]
if bad:
    problems.append(f"unexpected custom sections kept: {bad}")
if "__wasm_bindgen_unstable" not in customs:
    problems.append("missing __wasm_bindgen_unstable custom section")
needed = ["realm_new", "realm_withConfig", "wasmgenerationconfig_new", "realm_c_new",
          "__wbg_realm_free", "__wbindgen_malloc", "__realm_truth_cell_value_offset"]
missing = [e for e in needed if e not in exports]
if missing:
    problems.append(f"missing exports: {missing}")
if not any(e.startswith("__wbindgen_describe_") for e in exports):
    problems.append("no __wbindgen_describe_* exports")
if len(data) >= 400 * 1024:
    problems.append(f"module is {len(data)} bytes (limit 400 KiB)")
if problems:
    sys.exit(f"{path}: " + "; ".join(problems))
PY
}

sha() { sha256sum -- "$1" | cut -d' ' -f1; }

case "$mode" in
  check)
    [ -f "$OUT" ] || die "$OUT does not exist; run wasm/build.sh first"
    build_into "$TMP/realm.wasm" 1
    if cmp -s -- "$TMP/realm.wasm" "$OUT"; then
      echo "wasm/realm.wasm is up to date: $(sha "$OUT")"
    else
      echo "build.sh --check: wasm/realm.wasm differs from a fresh build" >&2
      echo "  committed: $(sha "$OUT")  $(stat -c %s -- "$OUT") bytes" >&2
      echo "  rebuilt:   $(sha "$TMP/realm.wasm")  $(stat -c %s -- "$TMP/realm.wasm") bytes" >&2
      exit 1
    fi
    ;;
  once|build)
    build_into "$TMP/a.wasm" 1
    if [ "$mode" = build ]; then
      build_into "$TMP/b.wasm" 2
      cmp -s -- "$TMP/a.wasm" "$TMP/b.wasm" \
        || die "two clean builds differ ($(sha "$TMP/a.wasm") vs $(sha "$TMP/b.wasm")): not reproducible"
      echo "reproducible: two clean builds are byte-identical"
    fi
    cp -- "$TMP/a.wasm" "$OUT.tmp"
    mv -f -- "$OUT.tmp" "$OUT"
    echo "wrote $OUT ($(stat -c %s -- "$OUT") bytes)"
    echo "sha256 $(sha "$OUT")"
    ;;
esac
