# margin of each counterexample under onnxruntime float32: the output constraint of the vnnlib, evaluated on ort(X)
import sys, re, numpy as np, onnxruntime as ort, glob, os
netdir, specdir = sys.argv[1], sys.argv[2]
for ce in sys.argv[3:]:
    stem = os.path.basename(ce)[:-len('.counterexample')]
    net = next(n for n in os.listdir(netdir) if n.endswith('.onnx') and stem.startswith(n[:-5] + '_'))
    prop = stem[len(net) - 5 + 1:] + '.vnnlib'
    vals = dict(re.findall(r'\((X_\d+|Y_\d+)\s+([-+0-9.eE]+)\)', open(ce).read()))
    x = np.array([float(vals[f'X_{i}']) for i in range(sum(k.startswith('X_') for k in vals))])
    s = ort.InferenceSession(os.path.join(netdir, net), providers=['CPUExecutionProvider'])
    i = s.get_inputs()[0]; shape = [d if isinstance(d, int) else 1 for d in i.shape]
    y = np.asarray(s.run(None, {i.name: x.reshape(shape).astype(np.float32)})[0], dtype=np.float64).ravel()
    txt = open(os.path.join(specdir, prop)).read()
    outc = re.findall(r'\((<=|>=)\s+(Y_\d+)\s+(Y_\d+|[-+0-9.eE]+)\)', txt)
    # margins of the Y-constraints (positive = satisfied); disjunctions: report all
    def v(t): return y[int(t[2:])] if t.startswith('Y_') else float(t)
    m = [(v(b) - v(a)) if op == '<=' else (v(a) - v(b)) for op, a, b in outc]
    print(f'{stem[:60]:60s} ort Y-constraint margins: min {min(m):+.4g} max {max(m):+.4g}  (n={len(m)})')
