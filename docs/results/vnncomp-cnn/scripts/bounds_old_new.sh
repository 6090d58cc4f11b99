#!/bin/bash
# alternating old (b87584a, dense) and new (31c98af, sparse) CROWN bounds, same property per network
# as run1_b87584a/bounds.txt. JSONDIR=dir (run 2) also writes bounds --json for compare_bounds_json.py
B=/work/vnncomp/benchmarks
run() { # set net prop
  for bin in nnopt_b87584a nnopt_sparse; do
    echo "== $bin $1 $2 $3"
    ( cd $B/$1 && /usr/bin/time -f 'TIME %e s %M KB' /work/peer/$bin bounds --model $2 --vnnlib $3 --methods crown ${JSONDIR:+--json $JSONDIR/${bin}_$(basename $2 .onnx).json} 2>&1 | grep -v '^  wrote' )
  done
}
run oval21 nets/cifar_base_kw.onnx vnnlib/cifar_base_kw-img4549-eps0.00392156862745098.vnnlib
run oval21 nets/cifar_wide_kw.onnx vnnlib/cifar_wide_kw-img19-eps0.007973856209150327.vnnlib
run oval21 nets/cifar_deep_kw.onnx vnnlib/cifar_deep_kw-img6430-eps0.025098039215686277.vnnlib
run marabou-cifar10 ./nets/cifar10_small.onnx ./specs/networkcifar10_small_index1783_eps0.012_target9_orig8.vnnlib
run marabou-cifar10 ./nets/cifar10_medium.onnx ./specs/networkcifar10_medium_index1783_eps0.012_target9_orig8.vnnlib
run marabou-cifar10 ./nets/cifar10_large.onnx ./specs/networkcifar10_large_index6926_eps0.012_target8_orig7.vnnlib
