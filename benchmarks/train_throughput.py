"""Training and generation throughput of the trainer, on CPU or GPU.

A Qwen2-shaped model is built from a config (nothing is downloaded):
``--model-size tiny`` is the demo's model, ``--model-size 0.5b`` has the shape of
Qwen2-0.5B (24 layers, width 896, 151,936-token vocabulary, ~494M parameters);
``--model-size smollm2`` is the real SmolLM2-135M-Instruct (the offline model).
The samples are GiGPO's per-step samples: a prompt of ``--prompt-tokens`` and a
reply of ``--response-tokens`` that is trained on.

- training: :meth:`Learner.update` with GiGPO's objective (clipped surrogate,
  reference-model KL, entropy), one optimizer step over ``--samples`` samples in
  micro-batches of ``--micro-batch``. Baseline, same process: a plain causal-LM
  step on the same tokens (``model(input_ids, labels=...)``, backward, AdamW).
- generation: :meth:`TransformersPolicy.generate_ids` (the rollout sampler)
  for ``--batch`` prompts. Baseline, same process: ``model.generate`` with
  sampling, same prompts and lengths.

Tokens/s counts every token of the sequences (prompt + reply) for training and
generated tokens for generation. On a GPU the forward passes run in bf16
autocast with fp32 weights (the trainer's default there). On a CPU each
measurement is also given in process CPU time: on a shared, loaded machine the
wall time is mostly waiting for a core, and the CPU time is what the step costs.
A breakdown row times the reference model's forward pass (the KL term's
log-probs) on the update's micro-batches: the one pass a plain step has no
counterpart for. With ``--epochs E`` each update passes E times over the samples
(one optimizer step per pass) and the plain baseline takes E steps; the reference
pass is made in the first epoch only.

    python benchmarks/train_throughput.py --device cpu --model-size tiny
    python benchmarks/train_throughput.py --device cuda --model-size 0.5b
    python benchmarks/train_throughput.py --device cpu --model-size smollm2 --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import transformers

from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import TransformersPolicy
from agentgym.policies.tiny import train_tokenizer
from agentgym.trainers.batching import Sample
from agentgym.trainers.config import ModelSettings, OptimSettings, PolicyLossSettings
from agentgym.trainers.learner import ClippedObjective, Learner

SIZES = {
    "tiny": dict(
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=512,
    ),
    "0.5b": dict(
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151936,
        rope_theta=1_000_000.0,
    ),
}
OFFLINE = {"smollm2": "smollm2"}
"""Sizes that are real offline models (``agentgym models``), by name."""
DEFAULTS = {  # (samples, prompt tokens, response tokens, micro-batch, generation batch)
    "tiny": (64, 160, 12, 64, 32),
    "0.5b": (64, 512, 64, 16, 64),
    "smollm2": (8, 128, 16, 8, 8),
}


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux) and its core count."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


def random_qwen2(size: str) -> tuple[transformers.Qwen2ForCausalLM, Any]:
    """A randomly initialised Qwen2-shaped model of ``size`` (seed 0) and a small trained tokenizer."""
    tok = train_tokenizer(["go to the kitchen and take the apple", "guess 12 is too high"], vocab_size=300)
    config = transformers.Qwen2Config(
        **SIZES[size],
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = transformers.Qwen2ForCausalLM(config)
    return model, tok


def build(size: str, path: Path) -> None:
    """Save a randomly initialised model of ``size`` and a tokenizer under ``path``."""
    model, tok = random_qwen2(size)
    model.save_pretrained(path)
    tok.save_pretrained(path)


def samples(n: int, prompt: int, response: int, vocab: int, rng: np.random.Generator) -> list[Sample]:
    out = []
    for _ in range(n):
        ids = rng.integers(10, vocab, prompt + response).tolist()
        adv = float(rng.choice([-1.0, 1.0]))
        out.append(
            Sample(
                ids,
                [0.0] * prompt + [1.0] * response,
                [-5.0] * (prompt + response),
                [adv] * (prompt + response),
            )
        )
    return out


def rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.2f}"


def timed(fn, device: torch.device, repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time of ``fn`` over ``repeats`` calls, after a warm-up."""
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--model-size", choices=sorted(DEFAULTS), default="tiny")
    parser.add_argument("--samples", type=int, help="Samples per optimizer step.")
    parser.add_argument("--prompt-tokens", type=int)
    parser.add_argument("--response-tokens", type=int)
    parser.add_argument("--micro-batch", type=int)
    parser.add_argument("--batch", type=int, help="Prompts per generation batch.")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default).")
    parser.add_argument(
        "--epochs", type=int, default=1, help="Passes over the samples per update (optim.epochs)."
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, prompt, response, micro, batch = DEFAULTS[args.model_size]
    n, prompt, response = args.samples or n, args.prompt_tokens or prompt, args.response_tokens or response
    micro, batch = args.micro_batch or micro, args.batch or batch
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    rng = np.random.default_rng(0)

    optim = OptimSettings(lr=1e-6, micro_batch_size=micro, epochs=args.epochs)
    if args.model_size in OFFLINE:
        learner = Learner(ModelSettings(name_or_path=OFFLINE[args.model_size], device=args.device), optim)
        described = f"'{args.model_size}' (offline model)"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            build(args.model_size, Path(tmp))
            learner = Learner(ModelSettings(name_or_path=tmp, device=args.device), optim, seed=0)
        described = f"Qwen2-shaped '{args.model_size}' from config"
    params = sum(p.numel() for p in learner.model.parameters())
    vocab = learner.model.config.vocab_size
    print(f"device: {args.device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    precision = "bf16 autocast" if learner.bf16 else "fp32"
    print(f"model: {described}, {params / 1e6:.1f}M parameters, {precision}")
    print(
        f"training: {n} samples x ({prompt} prompt + {response} reply tokens), micro-batch {micro}, "
        f"{args.epochs} epoch(s) per update; "
        f"generation: {batch} prompts of {prompt} tokens, {response} new tokens\n"
    )

    data = samples(n, prompt, response, vocab, rng)
    objective = ClippedObjective(PolicyLossSettings())

    def update() -> None:
        for sample in data:  # the learner keeps the reference's log-probs on a sample it has seen
            sample.ref_logprobs = None
        learner.update(data, objective, rng)

    ours = timed(update, device, args.repeats)

    def reference_pass() -> None:
        for batch in learner.batches(data):
            learner.logprobs(batch, reference=True)

    reference = timed(reference_pass, device, args.repeats)

    model = learner.model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def plain_step() -> None:
        model.train()
        for _ in range(args.epochs):
            optimizer.zero_grad(set_to_none=True)
            for start in range(0, n, micro):
                ids = torch.tensor([s.input_ids for s in data[start : start + micro]], device=device)
                with learner.autocast():
                    loss = model(input_ids=ids, labels=ids).loss
                loss.backward()
            optimizer.step()
        model.eval()

    plain = timed(plain_step, device, args.repeats)
    tokens = n * (prompt + response) * args.epochs

    policy = TransformersPolicy(model, learner.tokenizer, seed=0)
    prompts = [rng.integers(10, min(vocab, len(learner.tokenizer)), prompt).tolist() for _ in range(batch)]
    sampling = SamplingParams(max_new_tokens=response, temperature=1.0)
    produced = []

    def ours_generate() -> None:
        with learner.autocast():
            produced.append(sum(len(g.token_ids) for g in policy.generate_ids(prompts, sampling)))

    gen = timed(ours_generate, device, args.repeats)[0]
    ids = torch.tensor(prompts, device=device)
    hf_produced = []

    def hf_generate() -> None:
        with torch.inference_mode(), learner.autocast():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                max_new_tokens=response,
                pad_token_id=learner.pad_id,
            )
        hf_produced.append(int((out[:, prompt:] != learner.pad_id).sum()))

    hf_gen = timed(hf_generate, device, args.repeats)[0]
    gen_tokens, hf_tokens = statistics.median(produced), statistics.median(hf_produced)
    clocks = ["wall"] + (["CPU"] if device.type == "cpu" else [])

    print("| measurement | ours | baseline | ours / baseline |")
    print("| --- | --- | --- | --- |")
    for i, clock in enumerate(clocks):
        print(
            f"| training tokens/s, {clock} time (GiGPO update vs plain LM step) | {rate(tokens / ours[i])} "
            f"| {rate(tokens / plain[i])} | {plain[i] / ours[i]:.2f} |"
        )
    for i, clock in enumerate(clocks):
        print(
            f"| reference forward pass, {clock} time (share of the update; vs plain step) "
            f"| {reference[i]:.3f} s ({reference[i] / ours[i]:.0%}) | {plain[i]:.3f} s "
            f"| {reference[i] / plain[i]:.2f} |"
        )
    print(f"| trained reply tokens/s (wall) | {rate(n * response / ours[0])} | - | - |")
    print(
        f"| generation tokens/s, wall (rollout sampler vs model.generate) | {rate(gen_tokens / gen)} "
        f"| {rate(hf_tokens / hf_gen)} | {(gen_tokens / gen) / (hf_tokens / hf_gen):.2f} |"
    )
    if device.type == "cuda":
        print(f"\npeak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
