#!/usr/bin/env python3
"""Where a training step's time goes: runs `gpt train` on a preset under Java Flight Recorder, sampling every
thread every 10 ms both in Java code and in native code (BLAS), and sorts the samples taken in training steps (on
every thread; the intervals of estimate_loss and waiting threads left out) by what they were doing. Each sample is
10 ms of one thread, so the shares are shares of the threads' time.

  python3 scripts/profile_step.py PRESET STEPS [JAR]      e.g.  python3 scripts/profile_step.py gpt 3

Needs the jar (make build) and the JDK's `jfr` tool; the data from GPT_DATA_URL as `gpt train` reads it.
PROFILE_DEBUG=1 also lists the innermost frames of the samples that fell into an "other" category.
"""
import collections
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0" label="step profile">
  <event name="jdk.ExecutionSample"><setting name="enabled">true</setting><setting name="period">10 ms</setting></event>
  <event name="jdk.NativeMethodSample"><setting name="enabled">true</setting><setting name="period">10 ms</setting></event>
</configuration>
"""

def category(frames, native):
    """What a sample was doing, from its frames (innermost first): a product by its caller, else the project's
    innermost frame."""
    names = [f for f in frames if f.startswith("dev.letsbuildgpt.")]
    inner = names[0] if names else frames[0]
    if native and any(".Sgemm." in f for f in frames[:2]):
        caller = next((f for f in names if ".Sgemm." not in f), "")
        if ".Head$Attention." in caller:
            return "matmuls: attention (q k^T, wei v, and their gradients)"
        if "Pass.backward" in caller:
            return "matmuls: linear layers, backward"
        return "matmuls: linear layers, forward"
    if native:
        return "other native code"
    top = frames[0]
    if ".Sgemm." in inner or "Buffer" in top or "arraycopy" in top:
        return "copies (into BLAS's buffers and out)"
    for key, what in ((".Head$Attention.causalSoftmax", "softmax"), (".Head$Attention.softmaxBackward", "softmax"),
                      (".Dropout.draw", "dropout: drawing the masks"), (".Dropout", "dropout: applying the masks"),
                      (".Head$Attention.dropped", "dropout: applying the masks"), (".LayerNorm", "LayerNorm"), (".Head$Attention", "attention, other Java"),
                      (".CrossEntropy", "cross-entropy"), (".Embedding", "embeddings"),
                      (".FeedForward", "ReLU"), (".Block", "residual additions"), (".Linear", "biases"),
                      (".AdamW", "AdamW"), (".Gradients", "gradients: zeroing, summing the shards")):
        if key in inner:
            return what
    return "other Java"


def when(e):
    """A sample's time in seconds (JFR writes ISO 8601 with up to nanoseconds; one recording, one time zone)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", e["values"]["startTime"])
    whole = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").timestamp()
    return whole + float(m.group(2) or 0)


def evaluation_windows(samples):
    """The times the main thread spent in estimate_loss (their forward passes are not a training step's)."""
    times = sorted(t for t, thread, frames, _ in samples
                   if thread == "main" and any(f.endswith("estimateLoss") for f in frames))
    windows = []
    for t in times:
        if windows and t - windows[-1][1] < 0.2:
            windows[-1][1] = t
        else:
            windows.append([t, t])
    return [(a - 0.05, b + 0.05) for a, b in windows]


WAITING = ("Unsafe.park", "Object.wait", "Thread.sleep", "Thread.onSpinWait")


def main(preset, steps, jar):
    with tempfile.TemporaryDirectory() as tmp:
        jfc = pathlib.Path(tmp, "step.jfc")
        jfc.write_text(SETTINGS)
        rec = pathlib.Path(tmp, "step.jfr")
        cmd = ["java", "-XX:+UseSerialGC", f"-XX:StartFlightRecording=filename={rec},settings={jfc}", "-jar", jar,
               "train", "--preset", preset, "--max-iters", str(steps), "--eval-interval", str(10 * steps),
               "--eval-iters", "1", "--out", str(pathlib.Path(tmp, "run")), "--sample-tokens", "0"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events",
                              "jdk.ExecutionSample,jdk.NativeMethodSample", str(rec)],
                             check=True, capture_output=True, text=True).stdout
    samples = []
    for e in json.loads(out)["recording"]["events"]:
        st = e["values"].get("stackTrace")
        if not st or not st["frames"]:
            continue
        frames = [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in st["frames"]]
        thread = (e["values"].get("sampledThread") or {}).get("javaName", "")
        samples.append((when(e), thread, frames, e["type"] == "jdk.NativeMethodSample"))
    skip = evaluation_windows(samples)
    counts = collections.Counter()
    tops = collections.Counter()
    for t, thread, frames, native in samples:
        if any(a <= t <= b for a, b in skip) or frames[0].endswith(WAITING):
            continue
        if not any(f.startswith("dev.letsbuildgpt.model.") or f.endswith("Trainer.trainStep") for f in frames):
            continue
        what = category(frames, native)
        counts[what] += 1
        if os.environ.get("PROFILE_DEBUG") and what.startswith("other"):
            tops[(what, " < ".join(f.replace("dev.letsbuildgpt.", "") for f in frames[:4]))] += 1
    total = sum(counts.values())
    if total == 0:
        sys.exit("error: no samples of training steps")
    print(f"{preset}, {steps} steps: {total} samples of 10 ms of a thread's time in training steps "
          f"(estimate_loss left out)")
    for what, n in counts.most_common():
        print(f"  {100 * n / total:5.1f} %  {what}")
    for (what, where), n in tops.most_common(25):
        print(f"  {100 * n / total:5.1f} %  {what}: {where}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) == 4 else "target/gpt.jar")
