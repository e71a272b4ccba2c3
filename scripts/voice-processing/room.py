"""A simulated room for comparing echo cancellers, and the scores.

  room.py make DIR [--delay-ms 60] [--echo-db -10]
      far.raw   what the loudspeaker plays (espeak-ng, one voice)
      near.raw  the near-end talker alone (another voice), silent for the first 8 s
      mic.raw   far through the echo path (delay, a decaying random impulse
                response, a little loudspeaker nonlinearity) + near + a fan's hiss
      clean.raw the near-end talker with nothing else (for the PESQ cost)
  room.py score DIR out.raw [clean]
      ERLE [dB] in single talk after 1 s (mic energy / output energy where
      only the far end talks), the near end's correlation in double talk,
      and PESQ-WB of the output against the clean near end.
  room.py clicks DIR            (after make) keyboard.raw: keystrokes (17 ms broadband
                                bursts) while nobody talks, then the near-end talker
  room.py clicks DIR out.raw    click energy removed [dB] while not talking, and PESQ-WB
                                of the talker
All 48 kHz mono S16. Nothing recorded: the voices are espeak-ng's.
"""
import subprocess, sys, os, tempfile
import numpy as np

RATE = 48000
FAR_TEXT = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
            "It is easy to tell the depth of a well. These days a chicken leg is a rare dish. "
            "Rice is often served in round bowls. The juice of lemons makes fine punch.")
NEAR_TEXT = ("The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage. "
             "Four hours of steady work faced us.")
NEAR_START = 8.0


def speak(text, voice, path):
    with tempfile.TemporaryDirectory() as tmp:
        spoken = os.path.join(tmp, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", spoken, text], check=True)
        subprocess.run(["sox", spoken, "-r", "48000", "-b", "16", "-c", "1", "-e", "signed", "-t", "raw", path],
                       check=True)
    return np.fromfile(path, dtype=np.int16).astype(np.float64)


def save(path, x):
    np.clip(np.round(x), -32768, 32767).astype(np.int16).tofile(path)


def make(directory, delay_ms=60.0, echo_db=-10.0, seed=7):
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    far = speak(FAR_TEXT, "en-us", os.path.join(directory, "far.raw"))
    near_voice = speak(NEAR_TEXT, "en-us+f3", os.path.join(directory, "near-voice.raw"))
    far = far / np.max(np.abs(far)) * 16000
    length = max(len(far), int(NEAR_START * RATE) + len(near_voice)) + RATE
    far = np.pad(far, (0, length - len(far)))
    near = np.zeros(length)
    near[int(NEAR_START * RATE):int(NEAR_START * RATE) + len(near_voice)] = near_voice / np.max(np.abs(near_voice)) * 12000
    # The echo path: the loudspeaker's soft saturation, then a room impulse
    # response (RT60 about 250 ms) after the acoustic + device delay.
    driven = 32767 * np.tanh(far / 32767 * 1.2) / 1.2
    taps = int(0.25 * RATE)
    t = np.arange(taps) / RATE
    rir = rng.standard_normal(taps) * np.exp(-6.9 * t / 0.25)
    rir[0] = 4.0  # the direct path
    rir /= np.sqrt(np.sum(rir ** 2))
    size = 1 << int(np.ceil(np.log2(length + taps)))
    echo = np.fft.irfft(np.fft.rfft(driven, size) * np.fft.rfft(rir, size), size)[:length]
    delay = int(delay_ms * RATE / 1000)
    echo = np.concatenate([np.zeros(delay), echo[:length - delay]])
    echo *= 10 ** (echo_db / 20) * np.sqrt(np.mean(far ** 2) / max(np.mean(echo ** 2), 1e-9))
    hiss = rng.standard_normal(length) * 32767 * 10 ** (-60 / 20)
    save(os.path.join(directory, "far.raw"), far)
    save(os.path.join(directory, "near.raw"), near)
    save(os.path.join(directory, "mic.raw"), echo + near + hiss)
    save(os.path.join(directory, "clean.raw"), near)


def load(path):
    return np.fromfile(path, dtype=np.int16).astype(np.float64)


def pesq_wb(reference, degraded):
    from pesq import pesq
    def to16k(x):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "a.raw"), os.path.join(tmp, "b.raw")
            save(a, x)
            subprocess.run(["sox", "-r", "48000", "-b", "16", "-c", "1", "-e", "signed", "-t", "raw", a,
                            "-r", "16000", "-t", "raw", b], check=True)
            return load(b) / 32768
    return pesq(16000, to16k(reference), to16k(degraded), "wb")


def latency(out, near):
    """The processing's delay [samples]: the lag that best lines the output up with the near end."""
    a, b = out[int(NEAR_START * RATE):], near[int(NEAR_START * RATE):len(out)]
    return max(range(0, 1500, 10), key=lambda lag: np.dot(a[lag:], b[:len(b) - lag]))


def score(directory, output, clean=False):
    out = load(output)
    near = load(os.path.join(directory, "near.raw"))
    lag = latency(out, near)
    out = out[lag:]
    n = min(len(out), len(near))
    out, near = out[:n], near[:n]
    if clean:
        start = int(NEAR_START * RATE)
        return {"pesq": pesq_wb(near[start:], out[start:])}
    mic = load(os.path.join(directory, "mic.raw"))[lag:lag + n]
    single = slice(RATE, int(NEAR_START * RATE))
    erle = 10 * np.log10(np.sum(mic[single] ** 2) / max(np.sum(out[single] ** 2), 1))
    # ERLE after convergence, in 0.5 s steps: the worst half second from 3 s on.
    steps = [10 * np.log10(np.sum(mic[s:s + RATE // 2] ** 2) / max(np.sum(out[s:s + RATE // 2] ** 2), 1))
             for s in range(3 * RATE, int(NEAR_START * RATE) - RATE // 2, RATE // 2)
             if np.sum(mic[s:s + RATE // 2] ** 2) > 1e6 * RATE // 2 / 1000]
    double = slice(int(NEAR_START * RATE), n)
    corr = np.corrcoef(out[double], near[double])[0, 1]
    return {"latency_ms": lag / 48, "erle": erle, "erle_worst_after_3s": min(steps) if steps else float("nan"), "doubletalk_corr": corr,
            "doubletalk_pesq": pesq_wb(near[double], out[double])}


if __name__ == "__main__":
    if sys.argv[1] == "make":
        args = sys.argv[3:]
        opts = dict(zip(args[::2], args[1::2]))
        make(sys.argv[2], float(opts.get("--delay-ms", 60)), float(opts.get("--echo-db", -10)))
    elif sys.argv[1] == "score":
        result = score(sys.argv[2], sys.argv[3], clean=len(sys.argv) > 4)
        print(" ".join(f"{k}={v:.2f}" for k, v in result.items()))


def make_clicks(directory, seed=3):
    """Typing while not talking, then talking: keyboard.raw (clicks only in the
    first 8 s, then the near-end talker with clicks on top) and clicks-at.txt."""
    rng = np.random.default_rng(seed)
    near = load(os.path.join(directory, "near.raw"))
    clicks = np.zeros(len(near))
    starts = []
    t = int(0.5 * RATE)
    while t < len(near) - RATE:
        # A keystroke: 2 ms attack, 15 ms decaying broadband burst, peaks near −12 dBFS.
        n = int(0.017 * RATE)
        burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.004 * RATE)) * 8000
        clicks[t:t + n] += burst
        starts.append(t)
        t += int(rng.uniform(0.12, 0.3) * RATE)
    save(os.path.join(directory, "keyboard.raw"), near + clicks)
    np.savetxt(os.path.join(directory, "clicks-at.txt"), np.array(starts), fmt="%d")


def score_clicks(directory, output):
    """Click energy removed [dB] while not talking (before 8 s), and PESQ-WB of the talker after."""
    out = load(output)
    mic = load(os.path.join(directory, "keyboard.raw"))
    near = load(os.path.join(directory, "near.raw"))
    starts = np.loadtxt(os.path.join(directory, "clicks-at.txt")).astype(int)
    lag = latency(out, near)
    out = out[lag:]
    n = min(len(out), len(mic))
    quiet = [s for s in starts if s + RATE // 20 < NEAR_START * RATE]
    before = sum(np.sum(mic[s:s + RATE // 20] ** 2) for s in quiet)
    after = sum(np.sum(out[s:s + RATE // 20] ** 2) for s in quiet)
    start = int(NEAR_START * RATE)
    return {"click_db_removed": 10 * np.log10(before / max(after, 1)),
            "speech_pesq_with_clicks": pesq_wb(near[start:n], out[start:n]),
            "speech_pesq_unprocessed": pesq_wb(near[start:n], mic[start:n])}


if __name__ == "__main__" and sys.argv[1] == "clicks":
    if len(sys.argv) == 3:
        make_clicks(sys.argv[2])
    else:
        print(" ".join(f"{k}={v:.2f}" for k, v in score_clicks(sys.argv[2], sys.argv[3]).items()))
