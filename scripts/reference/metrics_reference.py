#!/usr/bin/python3
"""Reference values for flowmac's objective metrics, computed independently with
Debian's numpy/scipy (run with /usr/bin/python3). Writes
test/fixtures/metrics/signals.safetensors (the test signals) and
test/fixtures/metrics/reference.json (the metric values).

STOI/ESTOI follow pystoi (Taal 2011, Jensen 2016) on 10 kHz signals; SI-SDR
(Le Roux 2019); multi-resolution STFT distance with numpy's rfft on centred,
reflect-padded Hann frames; MCD from the torchaudio Slaney filterbank fixture
and scipy's DCT-II."""
import json, struct, sys
import numpy as np
from scipy.fft import dct

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/metrics"
EPS = np.finfo(float).eps

# ---------------------------------------------------------------- signals
rs = np.random.RandomState(0)
def speechlike(fs, secs, f0=140.0):
    t = np.arange(int(fs * secs)) / fs
    env = np.clip(np.sin(2 * np.pi * 3.1 * t), 0, None) ** 2 + 0.05
    x = sum(np.sin(2 * np.pi * f0 * h * t * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))) / h for h in range(1, 25) if f0 * h < fs / 2)
    return (0.3 * env * x + 0.003 * rs.randn(len(t))).astype(np.float32)

ref10 = speechlike(10000, 3.0)
deg10 = (ref10 + 0.05 * rs.randn(len(ref10))).astype(np.float32)          # white noise
deg10b = np.convolve(ref10, np.ones(9) / 9, mode="same").astype(np.float32)  # low-pass smearing
ref24 = speechlike(24000, 2.0, 120.0)
deg24 = (0.8 * ref24 + 0.02 * rs.randn(len(ref24))).astype(np.float32)

# ---------------------------------------------------------------- STOI / ESTOI (pystoi's algorithm)
FS, N_FRAME, NFFT, NUMBAND, MINFREQ, N, BETA, DYN_RANGE = 10000, 256, 512, 15, 150, 30, -15.0, 40

def thirdoct(fs, nfft, num_bands, min_freq):
    f = np.linspace(0, fs, nfft + 1)[: int(nfft / 2) + 1]
    k = np.arange(num_bands).astype(float)
    freq_low = min_freq * np.power(2.0, (2 * k - 1) / 6)
    freq_high = min_freq * np.power(2.0, (2 * k + 1) / 6)
    obm = np.zeros((num_bands, len(f)))
    for i in range(num_bands):
        lo = np.argmin(np.square(f - freq_low[i]))
        hi = np.argmin(np.square(f - freq_high[i]))
        obm[i, lo:hi] = 1
    return obm

def stft(x, win_size, fft_size, overlap=2):
    hop = int(win_size / overlap)
    w = np.hanning(win_size + 2)[1:-1]
    return np.array([np.fft.rfft(w * x[i:i + win_size], n=fft_size) for i in range(0, len(x) - win_size, hop)])

def ola(frames, hop):
    n, L = frames.shape
    out = np.zeros((n - 1) * hop + L)
    for i in range(n):
        out[i * hop:i * hop + L] += frames[i]
    return out

def remove_silent_frames(x, y, dyn_range, framelen, hop):
    w = np.hanning(framelen + 2)[1:-1]
    xf = np.array([w * x[i:i + framelen] for i in range(0, len(x) - framelen, hop)])
    yf = np.array([w * y[i:i + framelen] for i in range(0, len(x) - framelen, hop)])
    e = 20 * np.log10(np.linalg.norm(xf, axis=1) + EPS)
    mask = (np.max(e) + dyn_range - e) > 0
    return ola(xf[mask], hop), ola(yf[mask], hop)

def stoi(x, y, extended=False):
    x, y = x.astype(np.float64), y.astype(np.float64)
    x, y = remove_silent_frames(x, y, DYN_RANGE, N_FRAME, int(N_FRAME / 2))
    obm = thirdoct(FS, NFFT, NUMBAND, MINFREQ)
    x_tob = np.sqrt(np.matmul(obm, np.square(np.abs(stft(x, N_FRAME, NFFT).T))))
    y_tob = np.sqrt(np.matmul(obm, np.square(np.abs(stft(y, N_FRAME, NFFT).T))))
    xs = np.array([x_tob[:, m - N:m] for m in range(N, x_tob.shape[1] + 1)])
    ys = np.array([y_tob[:, m - N:m] for m in range(N, x_tob.shape[1] + 1)])
    if extended:
        def rc(s):
            s = s - s.mean(axis=-1, keepdims=True)
            s = s / (np.sqrt((s ** 2).sum(axis=-1, keepdims=True)) + EPS)
            s = s - s.mean(axis=1, keepdims=True)
            s = s / (np.sqrt((s ** 2).sum(axis=1, keepdims=True)) + EPS)
            return s
        return float(np.sum(rc(xs) * rc(ys) / N) / xs.shape[0])
    k = np.linalg.norm(xs, axis=2, keepdims=True) / (np.linalg.norm(ys, axis=2, keepdims=True) + EPS)
    yp = np.minimum(ys * k, xs * (1 + 10 ** (-BETA / 20)))
    yp = yp - yp.mean(axis=2, keepdims=True)
    xc = xs - xs.mean(axis=2, keepdims=True)
    yp /= np.linalg.norm(yp, axis=2, keepdims=True) + EPS
    xc /= np.linalg.norm(xc, axis=2, keepdims=True) + EPS
    return float(np.sum(yp * xc) / (NUMBAND * xs.shape[0]))

# ---------------------------------------------------------------- SI-SDR, MR-STFT, MCD
def si_sdr(r, d):
    r = r.astype(np.float64) - r.mean(); d = d.astype(np.float64) - d.mean()
    a = np.dot(d, r) / np.dot(r, r)
    s = a * r
    return float(10 * np.log10(np.sum(s ** 2) / np.sum((s - d) ** 2)))

def mag_frames(x, n, hop):
    xp = np.pad(x.astype(np.float64), (n // 2, n // 2), mode="reflect")
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    T = len(x) // hop + 1
    return np.abs(np.array([np.fft.rfft(w * xp[t * hop:t * hop + n]) for t in range(T)]))

def mrstft(r, d):
    sc = lm = 0.0
    for n in (512, 1024, 2048):
        a, b = mag_frames(r, n, n // 4), mag_frames(d, n, n // 4)
        sc += np.linalg.norm(a - b) / np.linalg.norm(a)
        lm += np.mean(np.abs(np.log(np.maximum(a, 1e-7)) - np.log(np.maximum(b, 1e-7))))
    return sc / 3, lm / 3

def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); body = b[8 + n:]
    return {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32).reshape(v["shape"]) for k, v in h.items() if k != "__metadata__"}

FB = read_safetensors("test/fixtures/torch/mel_filterbank.safetensors")["mel_fb"].astype(np.float64)

def logmel(x):
    return np.log(np.maximum(mag_frames(x, 2048, 512) @ FB, 1e-5))

def mcd(r, d, K=24):
    M = FB.shape[1]  # cepstrum c_k = (1/M) sum_m log S(m) cos(pi k (m+1/2) / M) = unnormalised DCT-II / (2M)
    a = dct(logmel(r), type=2, axis=1)[:, 1:K + 1] / (2 * M)
    b = dct(logmel(d), type=2, axis=1)[:, 1:K + 1] / (2 * M)
    return float(np.mean(10 / np.log(10) * np.sqrt(2 * np.sum((a - b) ** 2, axis=1))))

sc, lm = mrstft(ref24, deg24)
values = {
    "stoi_noise": stoi(ref10, deg10), "estoi_noise": stoi(ref10, deg10, True),
    "stoi_smear": stoi(ref10, deg10b), "estoi_smear": stoi(ref10, deg10b, True),
    "stoi_identity": stoi(ref10, ref10), "si_sdr": si_sdr(ref24, deg24),
    "mrstft_sc": float(sc), "mrstft_logmag": float(lm), "mcd": mcd(ref24, deg24),
    "mel_l1": float(np.mean(np.abs(logmel(ref24) - logmel(deg24)))),
    "produced_by": "scripts/reference/metrics_reference.py with Debian python3 %s, numpy %s" % (sys.version.split()[0], np.__version__),
}

def write_safetensors(path, tensors):
    header, body, off = {}, b"", 0
    for k, v in tensors.items():
        raw = np.ascontiguousarray(v, dtype=np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(raw)]}
        body += raw; off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + body)

write_safetensors(OUT + "/signals.safetensors", {"ref10": ref10, "deg10": deg10, "deg10b": deg10b, "ref24": ref24, "deg24": deg24})
json.dump(values, open(OUT + "/reference.json", "w"), indent=1)
print(json.dumps(values, indent=1))
