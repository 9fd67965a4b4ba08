"""The training demo end to end at toy size, and the HTML report it writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentgym.exceptions import ConfigError
from agentgym.trainers.config import build_config
from agentgym.trainers.demo import CONFIGS, DemoConfig, load_demo_config, run_demo, train_layer, warm_start
from agentgym.trainers.sft import expert_trajectories

ROOT = Path(__file__).resolve().parents[2]

TOY = {
    "demo": {
        "env": "guess",
        "env_kwargs": {"max_steps": 4},
        "expert_episodes": 4,
        "vocab_size": 300,
        "hidden_size": 32,
        "layers": 1,
        "heads": 2,
        "bc_epochs": 2,
        "bc_batch": 8,
    },
    "algorithm": "gigpo",
    "train": {
        "algo": {"group_size": 3, "groups_per_iteration": 2},
        "optim": {"lr": 0.001},
        "rollout": {"max_new_tokens": 6, "system_prompt": "Task: {task}"},
        "eval": {"every": 1, "episodes": 2},
        "iterations": 2,
        "cpu_threads": 1,
        "progress": False,
    },
}


def test_demo_clones_trains_and_reports(tmp_path) -> None:
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(TOY))
    report = run_demo(tmp_path / "out", config=config)
    html = report.read_text()
    assert report == tmp_path / "out" / "report.html"
    assert (tmp_path / "out" / "bc-model" / "model.safetensors").is_file()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)) == 4
    assert "<th>A^E</th><th>A^S</th>" in html and "behaviour cloning NLL by epoch" in html
    assert "valid success" in html  # the held-out curve's first and last points
    view = (tmp_path / "out" / "view.html").read_text()  # the viewer's export, beside the report
    assert '<script id="embedded"' in view and '"api/metrics?run=0"' in view and '"A_S"' in view


def test_shipped_demo_configs_are_valid() -> None:
    cfg = load_demo_config()
    assert cfg.algorithm == "gigpo" and cfg.demo.expert_episodes > 0
    benchmark_configs = sorted((ROOT / "benchmarks" / "configs").glob("*.yaml"))
    assert benchmark_configs  # the comparison settings of docs/results.md are checked too
    for path in sorted(CONFIGS.glob("demo_*.yaml")) + benchmark_configs:
        cfg = load_demo_config(path)
        build_config(cfg.algorithm, cfg.train, train_layer(cfg, "bc-model"))


def test_demo_from_a_pretrained_model_clones_and_trains_lora_adapters(tmp_path, tiny_model_dir) -> None:
    # demo.model skips the tiny model: the given model is evaluated zero-shot, cloned
    # through LoRA adapters merged into bc-model, then trained with new adapters.
    toy = {**TOY, "demo": {**TOY["demo"], "model": str(tiny_model_dir)}}
    toy["train"] = {**TOY["train"], "model": {"lora_rank": 4}}
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(toy))
    html = run_demo(tmp_path / "out", config=config).read_text()
    assert (tmp_path / "out" / "bc-model" / "model.safetensors").is_file()
    assert not (tmp_path / "out" / "base-model").exists()
    assert "zero-shot valid success" in html and "LoRA adapters of rank 4" in html
    checkpoints = sorted((tmp_path / "out" / "run").glob("checkpoints/*/model"))
    assert checkpoints and (checkpoints[-1] / "adapter_config.json").is_file()


def test_a_used_demo_directory_is_refused_before_any_work(tmp_path) -> None:
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(ConfigError, match="is not empty"):
        run_demo(tmp_path)


def test_the_demo_command_prints_no_warnings(tmp_path) -> None:
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(TOY))
    cmd = [sys.executable, "-m", "agentgym", "demo", "--config", str(config), "--out", str(tmp_path / "out")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr + run.stdout


def test_warm_start_keeps_each_single_tokens_match_one_token(tmp_path) -> None:
    # WebShop's product ids: the tokenizer keeps every id of the demonstrations whole, so
    # the model's click on a product is one copied token (BPE cut them into ~6 pieces)
    from agentgym.policies.hf import load_model

    webshop = {"max_steps": 8, "expert": "instruction", "cache_dir": str(tmp_path / "cache")}
    demo = {**TOY["demo"], "env": "webshop", "env_kwargs": webshop, "expert_episodes": 2, "bc_epochs": 1}
    train = {**TOY["train"], "rollout": {"max_new_tokens": 4, "history": 0}, "eval": {"episodes": 1}}
    cfg = DemoConfig.model_validate({"demo": {**demo, "single_tokens": "b0[0-9a-z]{8}"}, "train": train})
    warm_start(cfg, tmp_path / "out", {})
    tokenizer = load_model(str(tmp_path / "out" / "bc-model"))[1]
    expert = expert_trajectories("webshop", 2, env_kwargs=webshop)
    clicks = [s.action for t in expert for s in t.steps if re.fullmatch(r"click\[b0[0-9a-z]{8}\]", s.action)]
    assert len(clicks) == 2
    for click in clicks:
        assert tokenizer.tokenize(click)[-2:] == [click[6:-1], "]"]


def test_lm_epochs_train_every_token_of_the_text_before_cloning(tmp_path) -> None:
    cfg = DemoConfig.model_validate({**TOY, "demo": {**TOY["demo"], "lm_epochs": 3, "bc_epochs": 1}})
    notes = warm_start(cfg, tmp_path / "out", {})
    text = [float(x) for x in notes["next-token NLL of the whole text by epoch"].split(", ")]
    assert len(text) == 3 and text[2] < text[0]  # the prompts' tokens are learnt too
    assert len(notes["behaviour cloning NLL by epoch"].split(", ")) == 1
    plain = warm_start(DemoConfig.model_validate(TOY), tmp_path / "plain", {})
    assert (
        "next-token NLL of the whole text by epoch" not in plain and "behaviour cloning NLL by epoch" in plain
    )
