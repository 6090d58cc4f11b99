# mkprop.py CSV INDEX EPS MEAN STD OUT: the L-inf ball (clipped to [0,1]) of
# image INDEX in normalised coordinates, unsafe = some class >= the label.
import sys
csv, idx, eps, mean, std, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
row = open(csv).read().splitlines()[idx].split(',')
label = int(row[0]); px = [int(v) / 255.0 for v in row[1:]]
with open(out, 'w') as f:
    for i in range(len(px)): f.write(f"(declare-const X_{i} Real)\n")
    for j in range(10): f.write(f"(declare-const Y_{j} Real)\n")
    for i, p in enumerate(px):
        lo = (max(0.0, p - eps) - mean) / std; hi = (min(1.0, p + eps) - mean) / std
        f.write(f"(assert (<= X_{i} {hi!r}))\n(assert (>= X_{i} {lo!r}))\n")
    f.write("(assert (or\n" + "".join(f"    (and (>= Y_{j} Y_{label}))\n" for j in range(10) if j != label) + "))\n")
