"""The training config: layers, presets, YAML, --set, one-line errors, help from descriptions."""

from __future__ import annotations

import pytest

from agentgym.exceptions import ConfigError
from agentgym.policies.base import SamplingParams
from agentgym.prompting import PromptConfig
from agentgym.rollout import WorkerConfig
from agentgym.trainers.config import (
    RolloutSettings,
    build_config,
    config_help,
    dump_config,
    load_yaml,
    parse_sets,
    read_config,
)
from agentgym.trainers.gigpo import GiGPOConfig

BASE = {"env": "guess", "model": {"name_or_path": "some/model"}}


def test_defaults_come_from_the_paper() -> None:
    cfg = build_config("gigpo", BASE)
    a = cfg.algo
    assert (a.group_size, a.gamma, a.omega, a.clip_eps, a.kl_coef) == (8, 0.95, 1.0, 0.2, 0.01)
    assert (a.dual_clip, a.norm, a.baseline, a.invalid_action_penalty) == (3.0, "std", "mean", 0.1)
    assert cfg.rollout.history == 2 and cfg.optim.lr == 1e-6 and cfg.optim.grad_clip == 1.0


def test_presets_only_override_their_keys() -> None:
    grpo, rloo = build_config("grpo", BASE).algo, build_config("rloo", BASE).algo
    assert grpo.omega == 0.0 and grpo.norm == "std"
    assert (rloo.omega, rloo.baseline, rloo.norm) == (0.0, "leave_one_out", "none")
    assert isinstance(grpo, GiGPOConfig) and grpo.gamma == GiGPOConfig().gamma


def test_layers_apply_in_order(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("algo:\n  omega: 0.3\n  gamma: 0.9\noptim:\n  lr: 0.001\n")
    cfg = build_config("grpo", BASE, load_yaml(path), ["algo.omega=0.5", "rollout.history=null"])
    assert cfg.algo.omega == 0.5  # --set beats YAML, YAML beats the grpo preset
    assert cfg.algo.gamma == 0.9 and cfg.optim.lr == 0.001 and cfg.rollout.history is None


def test_saved_config_reads_back_identical(tmp_path) -> None:
    cfg = build_config("rloo", BASE, ["algo.group_size=4", "env_kwargs.high=30"])
    dump_config(cfg, tmp_path / "config.yaml")
    assert read_config(tmp_path / "config.yaml") == cfg


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["algo.omgea=1"], "unknown config key 'algo.omgea'; did you mean 'algo.omega'?"),
        (["optim.lrr=1"], "unknown config key 'optim.lrr'; did you mean 'optim.lr'?"),
        (["nonsense=1"], "unknown config key 'nonsense'"),
        (
            ["algo.omega=-1"],
            "config key 'algo.omega': Input should be greater than or equal to 0 (got -1)",
        ),
        (["algo.norm=max"], "config key 'algo.norm': Input should be 'std' or 'none' (got 'max')"),
        (
            ["rollout.samples=episode"],
            "invalid config: rollout.samples=episode trains on the whole chat",
        ),
        (["omega"], "--set 'omega' is not KEY=VALUE (e.g. --set algo.omega=0.5)"),
        # every float finite, every count and seed in range, devices torch can train on
        (["optim.lr=inf"], "config key 'optim.lr': Input should be a finite number (got 'inf')"),
        (["optim.lr=2"], "config key 'optim.lr': Input should be less than or equal to 1 (got 2)"),
        (["algo.gamma=nan"], "config key 'algo.gamma': Input should be a finite number (got 'nan')"),
        (
            ["rollout.step_timeout_s=.inf"],
            "config key 'rollout.step_timeout_s': Input should be a finite number (got inf)",
        ),
        (["eval.temperature=inf"], "config key 'eval.temperature': Input should be a finite number"),
        (["algo.group_size=1"], "config key 'algo.group_size': Input should be greater than or equal to 2"),
        (["algo.clip_eps=1"], "config key 'algo.clip_eps': Input should be less than 1 (got 1)"),
        (["seed=-5"], "config key 'seed': Input should be greater than or equal to 0 (got -5)"),
        (["seed=4294967296"], "config key 'seed': Input should be less than or equal to 4294967295"),
        (["cpu_threads=100000"], "config key 'cpu_threads': Input should be less than or equal to 1024"),
        (
            ["model.device=tpu"],
            "config key 'model.device': must be one of cpu, cuda, mps, xpu, optionally with :N "
            "(e.g. cuda:1) (got 'tpu')",
        ),
        (["model.device=meta"], "config key 'model.device': must be one of cpu, cuda, mps, xpu"),
        (["model.device=cuda:x"], "config key 'model.device': must be one of cpu, cuda, mps, xpu"),
    ],
)
def test_bad_keys_and_values_fail_in_one_line(sets, message) -> None:
    with pytest.raises(ConfigError) as err:
        build_config("gigpo", BASE, sets)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_required_keys_and_bad_files(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"^config key 'env' is required$"):
        build_config("gigpo", {"model": {"name_or_path": "m"}})
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_yaml(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="unknown algorithm 'ppo'"):
        build_config("ppo", BASE)


def test_parse_sets_reads_yaml_scalars() -> None:
    assert parse_sets(
        ["a.b=0.5", "a.c=true", "d=[1, 2]", "e=", "f=x: y: z", "g=Task: {task}", "h={k: 1}"]
    ) == {
        "a": {"b": 0.5, "c": True},
        "d": [1, 2],
        "e": "",
        "f": "x: y: z",
        "g": "Task: {task}",
        "h": {"k": 1},
    }
    # YAML reads 1e-3 as a string; the typed field still gets the float.
    assert build_config("gigpo", BASE, ["optim.lr=1e-3"]).optim.lr == 1e-3


def test_help_lists_every_key_with_its_default_and_description() -> None:
    text = config_help("rloo")
    assert "algo.omega = 0.0: ω: weight of the step advantage A^S (0 is GRPO)." in text
    assert 'algo.baseline = "leave_one_out"' in text
    assert "model.name_or_path (required): " in text
    assert "optim.lr = 1e-06: Learning rate" in text


def test_device_strings_torch_takes() -> None:
    for device in ("cpu", "cuda", "cuda:1", "mps"):
        assert build_config("gigpo", BASE, [f"model.device={device}"]).model.device == device


def test_the_rollout_section_is_composed_from_the_rollout_engines_models() -> None:
    """One source for every default: each shared key has the engine model's default and help."""
    engine = {**PromptConfig.model_fields, **WorkerConfig.model_fields}
    engine["max_new_tokens"] = SamplingParams.model_fields["max_new_tokens"]
    ours = RolloutSettings.model_fields
    for name, field in engine.items():
        shown = (ours[name].get_default(call_default_factory=True), ours[name].description)
        assert shown == (field.get_default(call_default_factory=True), field.description), name
    assert set(ours) - set(engine) == {"num_envs", "samples", "backend", "vllm"}  # training's own
    archer = build_config("archer", BASE).rollout
    assert (archer.history, archer.max_new_tokens) == (None, 512)
    assert archer.model_dump(include=set(engine)) == {
        **PromptConfig().model_dump(),
        **WorkerConfig().model_dump(),
        "max_new_tokens": SamplingParams().max_new_tokens,
    }


def test_gigpos_prompt_window_is_its_preset_under_every_later_layer() -> None:
    assert [build_config(a, BASE).rollout.history for a in ("gigpo", "grpo", "rloo")] == [2, 2, 2]
    assert build_config("grpo", BASE, ["rollout.history=null"]).rollout.history is None
    assert "rollout.history = 2: " in config_help("gigpo") and "rollout.history = null: " in config_help(
        "archer"
    )
