#!/usr/bin/env python3
"""The lecture's model in PyTorch, to check this project's weights against it (Debian's python3-torch; no PyPI).

The modules are written the way the lecture's gpt.py writes them (Head, MultiHeadAttention, FeedForward, Block,
GPTLanguageModel; BigramLanguageModel), so their state_dict keys are the names this project gives its parameters,
and the weights a checkpoint exports (`gpt export`, a NumPy .npz) load with load_state_dict.

  pytorch_parity.py logits --config CONFIG.json --npz W.npz --tokens 1,2,3
      the logits [T, V] of one sequence, with the given weights (JSON)
  pytorch_parity.py train --config CONFIG.json --data TEXT --seed S --steps N --npz-out W.npz --tokens ... \
                    [--greedy K] [--init W.npz] [--java-batches SEED --eval-interval I --eval-iters E]
      trains with PyTorch's AdamW (from PyTorch's initialisation with seed S, or from --init), writes the weights,
      prints the logits of --tokens and K greedily generated tokens (JSON). --java-batches draws the batches exactly
      as this project's trainer draws them from that seed (java.util.Random's generator, training and estimate_loss
      batches in the trainer's order; the trainer's batch seed is the run's seed + 1) and prints the evaluations, so
      both sides can see the same batches.

CONFIG.json is a run's config.json (the model's and the training's settings, as `gpt train` writes them).
"""
import argparse
import json
import math
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F


class Head(nn.Module):
    """One head of self-attention."""

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        t = x.shape[1]
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:t, :t] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        return wei @ self.value(x)


class MultiHeadAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.heads = nn.ModuleList([Head(n_embd, n_embd // n_head, block_size, dropout) for _ in range(n_head)])
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.proj(torch.cat([h(x) for h in self.heads], dim=-1)))


class FeedForward(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, block_size, n_embd, n_head, n_layer, dropout):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        t = idx.shape[1]
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(t))
        logits = self.lm_head(self.ln_f(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
        return logits, loss


class BigramLanguageModel(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):
        logits = self.token_embedding_table(idx)
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
        return logits, loss


def build(config):
    m = config["model"]
    if m["stage"] == "BIGRAM":
        return BigramLanguageModel(m["vocab_size"])
    if m["stage"] != "GPT" or not m["bias"]:
        sys.exit(f"error: this script has the lecture's bigram and full GPT (gpt.py), not stage {m['stage']}")
    return GPTLanguageModel(m["vocab_size"], m["block_size"], m["n_embd"], m["n_head"], m["n_layer"], m["dropout"])


def load_npz(model, path):
    weights = {k: torch.from_numpy(v) for k, v in np.load(path).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.endswith(".tril")]
    if missing or unexpected:
        sys.exit(f"error: {path}: missing {missing}, unexpected {unexpected}")


def save_npz(model, path):
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})


class JavaRandom:
    """java.util.Random's generator (a documented 48-bit LCG): the stream this project draws its batches from."""

    def __init__(self, seed):
        self.state = (seed ^ 0x5DEECE66D) & ((1 << 48) - 1)

    def next(self, bits):
        self.state = (self.state * 0x5DEECE66D + 0xB) & ((1 << 48) - 1)
        return self.state >> (48 - bits)

    def next_int(self, bound):
        r = self.next(31)
        m = bound - 1
        if bound & m == 0:
            return (bound * r) >> 31
        u = r
        while True:
            r = u % bound
            if u - r + m < (1 << 31):
                return r
            u = self.next(31)


def tokens_of(text):
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    return torch.tensor([stoi[c] for c in text], dtype=torch.long)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["logits", "train"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--npz")
    ap.add_argument("--tokens", default="0")
    ap.add_argument("--data")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--npz-out")
    ap.add_argument("--init")
    ap.add_argument("--greedy", type=int, default=0)
    ap.add_argument("--java-batches", type=int)
    ap.add_argument("--eval-interval", type=int, default=0)
    ap.add_argument("--eval-iters", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(1)
    config = json.load(open(a.config))
    torch.manual_seed(a.seed)
    model = build(config)
    tokens = torch.tensor([[int(t) for t in a.tokens.split(",")]], dtype=torch.long)
    out = {}
    if a.mode == "logits":
        load_npz(model, a.npz)
    else:
        if a.init:
            load_npz(model, a.init)
        text = open(a.data.removeprefix("file://"), encoding="utf-8").read()
        data = tokens_of(text)
        n = int(0.9 * len(data))
        splits = {"train": data[:n], "val": data[n:]}
        t = config["train"]
        bs, bl = t["batch_size"], config["model"]["block_size"]
        java = JavaRandom(a.java_batches) if a.java_batches is not None else None

        def batch(split):
            d = splits[split]
            if java is not None:   # this project's Batches: one nextInt per sequence, from one stream
                ix = [java.next_int(len(d) - bl) for _ in range(bs)]
            else:
                ix = torch.randint(len(d) - bl, (bs,))
            return torch.stack([d[i:i + bl] for i in ix]), torch.stack([d[i + 1:i + bl + 1] for i in ix])

        @torch.no_grad()
        def estimate(step):
            model.eval()
            losses = {k: sum(model(*batch(k))[1].item() for _ in range(a.eval_iters)) / a.eval_iters
                      for k in ("train", "val")}
            model.train()
            return {"step": step, "train_loss": losses["train"], "val_loss": losses["val"]}

        opt = torch.optim.AdamW(model.parameters(), lr=t["learning_rate"], betas=(t["beta1"], t["beta2"]),
                                weight_decay=t["weight_decay"])
        evaluations = []
        for step in range(a.steps + 1):
            if a.eval_interval and (step % a.eval_interval == 0 or step == a.steps):
                evaluations.append(estimate(step))
            if step == a.steps:
                break
            _, loss = model(*batch("train"))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if a.npz_out:
            save_npz(model, a.npz_out)
        out["evaluations"] = evaluations
    model.eval()
    with torch.no_grad():
        out["logits"] = model(tokens)[0][0].tolist()
        if a.greedy:
            idx = torch.zeros((1, 1), dtype=torch.long)
            bl = config["model"]["block_size"]
            for _ in range(a.greedy):
                logits = model(idx[:, -bl:])[0][:, -1, :]
                idx = torch.cat((idx, logits.argmax(dim=-1, keepdim=True)), dim=1)
            out["greedy"] = idx[0].tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
