#!/usr/bin/env bash
# Bad-input table for the CLI: makes broken files under /tmp/nnopt_bad/ and runs
# build/apps/nnopt on each (timeout 20 s). Every case should exit 2 with exactly one
# line on stderr. Prints a Markdown table: case, command, exit code, stderr lines,
# peak RSS (MB, from /usr/bin/time -f %M: Debian package `time`; "?" without it),
# first stderr line, crash/hang, ok. Exit 0 when every case is ok, 1 otherwise.
#
#   scripts/bad_inputs.sh [NNOPT_BINARY]      (default: build/apps/nnopt)
#
# Needs: protoc and /usr/include/onnx/onnx.proto (build deps: protobuf-compiler,
# libonnx-dev) for the hand-made ONNX files, python3 (standard library) for random
# bytes, IDX and PNG files. /usr/bin/python3 with the onnx package (Debian's
# python3-onnx) is used for the NaN-patched copy of a real model when present.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NNOPT="${1:-build/apps/nnopt}"
D=/tmp/nnopt_bad
rm -rf "$D"
mkdir -p "$D"
# Snapshot the binary: others may relink build/ while this runs.
cp "$NNOPT" "$D/nnopt"
N="$D/nnopt"
M1=models/mnist_mlp_1x20.onnx
IMG=data/mnist_test_0.pgm
CSV=tests/fixtures/digits.csv
NORM=(--mean 0.1307 --std 0.3081)

# ------------------------------------------------------------------ files
head -c 1000 "$M1" >"$D/truncated_1000.onnx"
head -c $(($(stat -c %s "$M1") / 2)) "$M1" >"$D/truncated_half.onnx"
head -c $(($(stat -c %s "$M1") - 1)) "$M1" >"$D/truncated_minus1.onnx"
python3 -c "import random,sys; random.seed(1); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(4096)))" >"$D/random.onnx"
: >"$D/empty.onnx"

# Tiny ONNX graphs in protobuf text format, encoded with protoc.
encode() {  # encode OUT.onnx  (text on stdin)
  protoc --proto_path=/usr/include/onnx --encode=onnx.ModelProto /usr/include/onnx/onnx.proto >"$1"
}
tiny() {  # tiny OP_TYPE W00 -> text of a 2-input Gemm(W, b) followed by OP_TYPE
  cat <<EOF
ir_version: 7
opset_import { version: 13 }
graph {
  name: "tiny"
  input { name: "input" type { tensor_type { elem_type: 1 shape { dim { dim_value: 1 } dim { dim_value: 2 } } } } }
  initializer { name: "W" data_type: 1 dims: 2 dims: 2 float_data: $2 float_data: 0.5 float_data: -0.5 float_data: 1.0 }
  initializer { name: "B" data_type: 1 dims: 2 float_data: 0.1 float_data: -0.1 }
  node { op_type: "Gemm" name: "gemm" input: "input" input: "W" input: "B" output: "h"
         attribute { name: "transB" type: INT i: 1 } }
  node { op_type: "$1" name: "act" input: "h" output: "logits" }
  output { name: "logits" type { tensor_type { elem_type: 1 } } }
}
EOF
}
HAVE_PROTOC=0
if command -v protoc >/dev/null && [ -f /usr/include/onnx/onnx.proto ]; then
  HAVE_PROTOC=1
  tiny Relu 1.0 | encode "$D/tiny_ok.onnx"
  tiny FrobnicateOp 1.0 | encode "$D/unknown_op.onnx"
  tiny Relu nan | encode "$D/nan_weight_tiny.onnx"
  tiny Relu inf | encode "$D/inf_weight_tiny.onnx"
  # 10^6 x 10^6 = 10^12 floats declared (4 TB as float32), 4 present: must be
  # refused from the declared dims, before anything is allocated.
  tiny Relu 1.0 | sed 's/dims: 2 dims: 2 float_data/dims: 1000000 dims: 1000000 float_data/' |
    encode "$D/huge_initializer_1e12.onnx"
  tiny Relu 1.0 | sed 's/dim { dim_value: 2 }/dim { dim_value: 1000000000000 }/' |
    encode "$D/huge_input_1e12.onnx"
fi
HAVE_PYONNX=0
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  HAVE_PYONNX=1
  /usr/bin/python3 - "$M1" "$D/nan_weight_1x20.onnx" <<'EOF'
import sys, struct, onnx, numpy as np
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
init = m.graph.initializer
gemm = next(n for n in m.graph.node if n.op_type in ('Gemm', 'MatMul'))
t = next(t for t in init if t.name == gemm.input[1])
a = numpy_helper.to_array(t).copy()
a.flat[3] = np.frombuffer(struct.pack('<I', 0x7fc00000), dtype=np.float32)[0]
t.CopyFrom(numpy_helper.from_array(a, t.name))
onnx.save(m, sys.argv[2])
print('nan_weight_1x20.onnx: %s[3] := 0x7fc00000' % t.name, file=sys.stderr)
EOF
fi

# Images.
printf 'P5\n10 10\n255\n' >"$D/small_10x10.pgm"
head -c 100 /dev/zero >>"$D/small_10x10.pgm"
head -c 400 "$IMG" >"$D/truncated.pgm"
printf 'P5\n28 28\n0\n' >"$D/maxval0.pgm"
head -c 784 /dev/zero >>"$D/maxval0.pgm"
printf 'P5\n100000 100000\n255\n' >"$D/huge_header.pgm"
head -c 784 /dev/zero >>"$D/huge_header.pgm"
printf 'P5\n28 28\n' >"$D/no_maxval.pgm"
: >"$D/empty.pgm"
python3 - "$D" <<'EOF'
import struct, sys, zlib
d = sys.argv[1]
def png(w, h, rows):
    def chunk(t, b):
        return struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
    raw = b''.join(b'\x00' + r for r in rows)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
rows = [bytes((x * 9 + y * 3) % 256 for x in range(28)) for y in range(28)]
good = png(28, 28, rows)
open(d + '/ok.png', 'wb').write(good)
open(d + '/truncated.png', 'wb').write(good[:len(good) // 2])
open(d + '/signature_only.png', 'wb').write(good[:8])
open(d + '/corrupt_idat.png', 'wb').write(good[:60] + bytes(20) + good[80:])
EOF

# Datasets: CSV variants.
printf '7,%s\n' "$(python3 -c "print(','.join(['0']*783))")" >"$D/csv_short_row.csv"
printf '7,%s,abc\n' "$(python3 -c "print(','.join(['0']*783))")" >"$D/csv_non_numeric.csv"
printf '7,%s,300\n' "$(python3 -c "print(','.join(['0']*783))")" >"$D/csv_pixel_300.csv"
printf 'x,%s\n' "$(python3 -c "print(','.join(['0']*784))")" >"$D/csv_bad_label.csv"
printf '7,%s\n' "$(python3 -c "print(','.join(['0']*785))")" >"$D/csv_long_row.csv"
printf 'hello world\n' >"$D/csv_text.csv"
printf 'label,%s\n' "$(python3 -c "print(','.join('p%d' % i for i in range(784)))")" >"$D/csv_header_only.csv"
{ printf 'x,%s\n' "$(python3 -c "print(','.join(['0']*784))")"; sed -n 1,3p "$CSV"; } >"$D/csv_bad_first_row.csv"
: >"$D/csv_empty.csv"
# IDX (gzipped) from the first 10 digits of tests/fixtures/digits.csv.
python3 - "$D" "$CSV" <<'EOF'
import gzip, struct, sys
d, csv = sys.argv[1], sys.argv[2]
rows = [list(map(int, l.split(','))) for l in open(csv).read().splitlines()[:10]]
imgs = struct.pack('>IIII', 0x803, len(rows), 28, 28) + bytes(v for r in rows for v in r[1:])
labs = struct.pack('>II', 0x801, len(rows)) + bytes(r[0] for r in rows)
for sub in ('ok', 'trunc_gz', 'short_idx', 'bad_magic', 'no_labels'):
    import os
    os.makedirs(d + '/idx_' + sub, exist_ok=True)
def w(path, b):
    open(path, 'wb').write(b)
w(d + '/idx_ok/t10k-images-idx3-ubyte.gz', gzip.compress(imgs))
w(d + '/idx_ok/t10k-labels-idx1-ubyte.gz', gzip.compress(labs))
g = gzip.compress(imgs)
w(d + '/idx_trunc_gz/t10k-images-idx3-ubyte.gz', g[:len(g) // 2])         # cut gzip stream
w(d + '/idx_trunc_gz/t10k-labels-idx1-ubyte.gz', gzip.compress(labs))
w(d + '/idx_short_idx/t10k-images-idx3-ubyte.gz', gzip.compress(imgs[:16 + 784 * 5 + 100]))  # valid gzip, short IDX
w(d + '/idx_short_idx/t10k-labels-idx1-ubyte.gz', gzip.compress(labs))
w(d + '/idx_bad_magic/t10k-images-idx3-ubyte.gz', gzip.compress(b'\x00\x00\x09\x99' + imgs[4:]))
w(d + '/idx_bad_magic/t10k-labels-idx1-ubyte.gz', gzip.compress(labs))
w(d + '/idx_no_labels/t10k-images-idx3-ubyte.gz', gzip.compress(imgs))
EOF

# ------------------------------------------------------------------ cases
FAILS=0
printf '| # | case | command (nnopt = build/apps/nnopt) | exit | stderr lines | peak RSS MB | stderr (first line) | crash/hang | ok |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
K=0
MAXRSS=0
TIMECMD=()
[ -x /usr/bin/time ] && TIMECMD=(/usr/bin/time -f %M -o)
run() {  # run "CASE" args...
  local name="$1"
  shift
  K=$((K + 1))
  local rss='?'
  if ((${#TIMECMD[@]})); then
    timeout 20 "${TIMECMD[@]}" "$D/rss_$K.txt" "$N" "$@" >"$D/out_$K.txt" 2>"$D/err_$K.txt" </dev/null
  else
    timeout 20 "$N" "$@" >"$D/out_$K.txt" 2>"$D/err_$K.txt" </dev/null
  fi
  local rc=$?
  if [ -s "$D/rss_$K.txt" ]; then  # last line: peak RSS in KiB
    rss=$(( $(tail -1 "$D/rss_$K.txt") / 1024 ))
    [ -z "${EXPECT:-}" ] && ((rss > MAXRSS)) && MAXRSS=$rss
  fi
  local nerr
  nerr=$(grep -c '' "$D/err_$K.txt")
  local first
  first=$(head -1 "$D/err_$K.txt" | cut -c1-220 | sed 's/|/\\|/g')
  [ -z "$first" ] && first="(stdout) $(head -1 "$D/out_$K.txt" | cut -c1-160 | sed 's/|/\\|/g')"
  local crash=no
  ((rc == 124)) && crash="HANG (timeout 20 s)"
  ((rc >= 128 && rc != 124)) && crash="CRASH (signal $((rc - 128)))"
  local ok=yes
  if [ -n "${EXPECT:-}" ]; then  # a valid input: documented behaviour, not an error
    if ((rc != EXPECT)); then ok=NO; FAILS=$((FAILS + 1)); else ok="yes (valid input, exit $EXPECT expected)"; fi
  elif ((rc != 2 || nerr != 1)); then ok=NO; FAILS=$((FAILS + 1)); fi
  local cmd="nnopt $*"
  cmd=${cmd//$D/\/tmp\/nnopt_bad}
  printf '| %d | %s | `%s` | %d | %d | %s | %s | %s | %s |\n' "$K" "$name" "${cmd//|/\\|}" "$rc" "$nerr" "$rss" "$first" "$crash" "$ok"
}
A=(attack --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --method mip -q)

run "truncated ONNX (first 1000 bytes)" attack --model "$D/truncated_1000.onnx" --image "$IMG" --eps 0.1
run "truncated ONNX (first half)" attack --model "$D/truncated_half.onnx" --image "$IMG" --eps 0.1
run "truncated ONNX (last byte cut)" attack --model "$D/truncated_minus1.onnx" --image "$IMG" --eps 0.1
run "random bytes ONNX (4 KiB)" attack --model "$D/random.onnx" --image "$IMG" --eps 0.1
run "empty ONNX file" attack --model "$D/empty.onnx" --image "$IMG" --eps 0.1
run "directory as ONNX" info --model "$D"
if ((HAVE_PROTOC)); then
  run "unknown op (FrobnicateOp)" info --model "$D/unknown_op.onnx"
  run "NaN weight (tiny Gemm, float_data nan)" info --model "$D/nan_weight_tiny.onnx"
  run "Inf weight (tiny Gemm, float_data inf)" info --model "$D/inf_weight_tiny.onnx"
  run "initializer declaring 10^6 x 10^6 = 10^12 floats (4 present)" info --model "$D/huge_initializer_1e12.onnx"
  run "input declaring [1, 10^12]" info --model "$D/huge_input_1e12.onnx"
  run "wrong input size (2-input net, 28x28 image)" attack --model "$D/tiny_ok.onnx" --image "$IMG" --eps 0.1
fi
if ((HAVE_PYONNX)); then
  run "NaN weight (1x20 model, W[3] = 0x7fc00000)" attack --model "$D/nan_weight_1x20.onnx" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1
fi
run "wrong input size (10x10 PGM)" attack --model "$M1" --image "$D/small_10x10.pgm" --label 7 "${NORM[@]}" --eps 0.1
run "eps < 0" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps -0.1
run "eps = -1" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps -1
run "eps = nan" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps nan
run "eps = inf" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps inf
run "eps = abc" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps abc
run "missing model file" attack --model "$D/no_such.onnx" --image "$IMG" --eps 0.1
run "missing image file" attack --model "$M1" --image "$D/no_such.pgm" --eps 0.1
run "missing dataset file" classify --model "$M1" --dataset "$D/no_such.csv"
run "--index out of range (100 of 100 rows)" attack --model "$M1" --dataset "$CSV" --index 100000 "${NORM[@]}" --eps 0.1
run "--index -1" attack --model "$M1" --dataset "$CSV" --index -1 "${NORM[@]}" --eps 0.1
run "--index huge (2^62)" attack --model "$M1" --dataset "$CSV" --index 4611686018427387904 "${NORM[@]}" --eps 0.1
run "--label out of range (10)" attack --model "$M1" --image "$IMG" --label 10 "${NORM[@]}" --eps 0.1
run "--label -1" attack --model "$M1" --image "$IMG" --label -1 "${NORM[@]}" --eps 0.1
run "bad --target (foo)" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --target foo
run "bad --target (= label 7)" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --target 7
run "bad --target (10)" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --target 10
run "bad --target (3x)" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --target 3x
run "bad --method" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --method foo
run "bad --nlp-form" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --method nlp --nlp-form foo
run "bad --mpec-form" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --method mpec --mpec-form foo
run "--time-limit 0" attack --model "$M1" --image "$IMG" --label 7 "${NORM[@]}" --eps 0.1 --time-limit 0
run "malformed CSV: short row (783 px)" classify --model "$M1" --dataset "$D/csv_short_row.csv"
run "malformed CSV: long row (785 px)" classify --model "$M1" --dataset "$D/csv_long_row.csv"
run "malformed CSV: non-numeric pixel" classify --model "$M1" --dataset "$D/csv_non_numeric.csv"
run "malformed CSV: pixel 300" classify --model "$M1" --dataset "$D/csv_pixel_300.csv"
run "malformed CSV: label 'x'" classify --model "$M1" --dataset "$D/csv_bad_label.csv"
run "malformed CSV: text line" classify --model "$M1" --dataset "$D/csv_text.csv"
run "malformed CSV: header line only" classify --model "$M1" --dataset "$D/csv_header_only.csv"
run "malformed CSV: first row label 'x', then 3 good rows" classify --model "$M1" --dataset "$D/csv_bad_first_row.csv"
run "malformed CSV: empty file" classify --model "$M1" --dataset "$D/csv_empty.csv"
run "malformed CSV via attack --index 0" attack --model "$M1" --dataset "$D/csv_non_numeric.csv" --index 0 --eps 0.1
run "truncated PGM (400 bytes)" attack --model "$M1" --image "$D/truncated.pgm" --label 7 --eps 0.1
run "PGM maxval 0" attack --model "$M1" --image "$D/maxval0.pgm" --label 7 --eps 0.1
run "PGM header 100000x100000" attack --model "$M1" --image "$D/huge_header.pgm" --label 7 --eps 0.1
run "PGM without maxval" attack --model "$M1" --image "$D/no_maxval.pgm" --label 7 --eps 0.1
run "empty PGM" attack --model "$M1" --image "$D/empty.pgm" --label 7 --eps 0.1
run "truncated PNG (half)" attack --model "$M1" --image "$D/truncated.png" --label 7 --eps 0.1
run "PNG signature only" attack --model "$M1" --image "$D/signature_only.png" --label 7 --eps 0.1
run "PNG corrupt IDAT" attack --model "$M1" --image "$D/corrupt_idat.png" --label 7 --eps 0.1
run "gz IDX truncated gzip stream" attack --model "$M1" --dataset "$D/idx_trunc_gz/t10k-images-idx3-ubyte.gz" --index 0 --eps 0.1
run "gz IDX truncated gzip stream (classify)" classify --model "$M1" --dataset "$D/idx_trunc_gz/t10k-images-idx3-ubyte.gz"
run "gz IDX: valid gzip, IDX shorter than header" classify --model "$M1" --dataset "$D/idx_short_idx/t10k-images-idx3-ubyte.gz"
run "gz IDX: bad magic" classify --model "$M1" --dataset "$D/idx_bad_magic/t10k-images-idx3-ubyte.gz"
EXPECT=0 run "gz IDX without labels file, --index 0 (label = clean prediction, documented)" attack --model "$M1" --dataset "$D/idx_no_labels/t10k-images-idx3-ubyte.gz" --index 0 --eps 0.1
run "--mean without --std" attack --model "$M1" --image "$IMG" --label 7 --mean 0.1307 --eps 0.1
run "--std without --mean" attack --model "$M1" --image "$IMG" --label 7 --std 0.3081 --eps 0.1
run "--std 0" attack --model "$M1" --image "$IMG" --label 7 --mean 0.1307 --std 0 --eps 0.1
run "--image and --dataset" attack --model "$M1" --image "$IMG" --dataset "$CSV" --index 0 --eps 0.1
run "no input" attack --model "$M1" --eps 0.1
run "unknown option" attack --model "$M1" --image "$IMG" --eps 0.1 --frobnicate
run "no subcommand" 
echo
echo "cases: $K, not (exit 2 + one stderr line): $FAILS; max peak RSS of the bad-input runs: ${MAXRSS} MB; files in $D; stdout/stderr of case K in $D/out_K.txt / err_K.txt"
((FAILS == 0))
