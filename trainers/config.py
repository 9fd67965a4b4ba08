"""The training configuration: one pydantic model per component, one source of defaults.

A run's config is built in layers, each overriding the one before: the field
defaults below, the algorithm's preset (``grpo`` is GiGPO with ω = 0), a YAML
file, the command-line flags, then ``--set section.key=value`` pairs. Field
descriptions are the command line's help (:func:`config_help`). Unknown keys
and bad values fail in one line that names the key (:class:`ConfigError`).

Example:
    >>> cfg = build_config("grpo", {"env": "guess", "model": {"name_or_path": "m"}}, ["algo.group_size=4"])
    >>> cfg.algo.omega, cfg.algo.group_size, cfg.optim.lr
    (0.0, 4, 1e-06)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from agentgym.exceptions import ConfigError, config_error, nested_model
from agentgym.policies.base import SamplingParams
from agentgym.prompting import PromptConfig
from agentgym.rollout import WorkerConfig
from agentgym.trainers.vllm_server import VLLMSettings

Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
"""A seed: 0 to 2^32-1 (numpy, torch and the env seeds derived from it all take it)."""

DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")
"""torch device types a model can be trained on."""


class _Section(BaseModel):
    """A config section: unknown keys refused, every float finite (no inf, no nan)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ModelSettings(_Section):
    """The policy being trained."""

    name_or_path: str = Field(
        description="Local directory saved with save_pretrained, an offline model (`agentgym models`) "
        "or a Hugging Face model id."
    )
    lora_rank: int = Field(0, ge=0, description="LoRA rank (peft); 0 trains every parameter.")
    lora_alpha: int = Field(32, ge=1, description="LoRA scaling alpha.")
    device: str | None = Field(
        None,
        description="torch device (cpu, cuda, cuda:N, mps, xpu); None picks cuda when present, else cpu.",
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="bf16 autocast (fp32 weights) or fp32; auto is bf16 on GPU, fp32 on CPU.",
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | None) -> str | None:
        """A device string torch parses, of a type that can train (not ``tpu``, not ``meta``)."""
        if value is None:
            return None
        import torch

        try:
            kind = torch.device(value).type
        except RuntimeError:
            kind = None
        if kind not in DEVICE_TYPES:
            raise ValueError(f"must be one of {', '.join(DEVICE_TYPES)}, optionally with :N (e.g. cuda:1)")
        return value


class OptimSettings(_Section):
    """AdamW and how an iteration's samples are cut into updates."""

    lr: float = Field(
        1e-6, gt=0, le=1, description="Learning rate of AdamW, at most 1 (GiGPO: 1e-6 for 1.5B/7B models)."
    )
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    warmup_steps: int = Field(0, ge=0, description="Linear warm-up steps, then constant.")
    grad_clip: float = Field(1.0, gt=0, description="Clip the gradient norm to this value.")
    epochs: int = Field(1, ge=1, description="Passes over each iteration's samples.")
    mini_batch_size: int = Field(
        0, ge=0, description="Samples per optimizer step; 0 makes one step per epoch."
    )
    micro_batch_size: int = Field(
        16, ge=1, description="Samples per forward/backward pass (gradient accumulation)."
    )


class RolloutSettings(WorkerConfig, PromptConfig):
    """How training episodes are played.

    Composed from the rollout engine's own models, defaults and descriptions
    included: where envs run (:class:`~agentgym.rollout.WorkerConfig`), how
    prompts read (:class:`~agentgym.prompting.PromptConfig`) and the reply
    length of :class:`~agentgym.policies.base.SamplingParams`. Declared here is
    only what training alone has. (Training samples at temperature 1, the
    recorded log-probs' temperature; evaluation at ``eval.temperature``.)
    """

    model_config = _Section.model_config

    max_new_tokens: int = SamplingParams.model_fields["max_new_tokens"]
    num_envs: int = Field(
        0, ge=0, description="Envs stepped at once; 0 plays all of an iteration's episodes at once."
    )
    samples: Literal["step", "episode"] = Field(
        "step",
        description="Training samples: one per step (prompt + action, GiGPO) or one per "
        "episode (whole chat, env tokens masked; needs history: null).",
    )
    backend: Literal["transformers", "vllm"] = Field(
        "transformers",
        description="What samples the episodes: the model being trained, in-process (transformers), "
        "or a vLLM server that gets the new weights after each update (vllm; --rollout vllm).",
    )
    vllm: VLLMSettings = Field(default_factory=VLLMSettings, description="The vLLM server of backend: vllm.")


class EvalSettings(_Section):
    """Held-out evaluation during training."""

    every: int = Field(5, ge=0, description="Iterations between evaluations; 0 evaluates only at the end.")
    split: Literal["train", "valid", "test"] = Field("valid", description="Split evaluated.")
    episodes: int = Field(
        0, ge=0, description="Episodes per evaluation; 0 runs every task of the split once."
    )
    temperature: float = Field(
        0.4, ge=0, description="Sampling temperature (seeded); 0 is greedy. GiGPO's ALFWorld runs: 0.4."
    )


class PolicyLossSettings(_Section):
    """The clipped policy-gradient objective; algorithm configs that use it inherit these."""

    clip_eps: float = Field(
        0.2, gt=0, lt=1, description="ε: PPO clip range of the probability ratio, [1-ε, 1+ε]."
    )
    dual_clip: float = Field(3.0, gt=1, description="c: dual-clip bound for negative advantages.")
    kl_coef: float = Field(0.01, ge=0, description="β: weight of the k3 KL to the reference model.")
    entropy_coef: float = Field(0.001, ge=0, description="Weight of the entropy bonus.")
    behaviour_weight_cap: float | None = Field(
        None,
        gt=1,
        description="Asynchronous training: drop tokens whose importance weight π_prox/π_behav "
        "exceeds this (AReaL's behav_imp_weight_cap); null keeps every token (AReaL's default).",
    )


class LeagueSettings(_Section):
    """League self-play on a multi-agent game: the learner's seats and opponents (trainers/league.py)."""

    seats: list[str] = Field(
        default_factory=list,
        description="Seats the learner plays, one drawn per task group; empty: every seat of the game.",
    )
    members: list[str] = Field(
        default_factory=list,
        description="Fixed members: bot names or random (rated anchors); empty: every bot of the game "
        "and random. Snapshots of the learner join as it trains.",
    )
    self_play: bool = Field(
        True, description="Snapshots of the learner join the league; false: the fixed members only."
    )
    snapshot_every: int = Field(
        10, ge=1, description="k: a frozen snapshot of the learner joins the league every k iterations."
    )
    sampling: Literal["uniform", "latest", "pfsp"] = Field(
        "pfsp",
        description="How each task group's opponent is drawn: uniform over members (fictitious "
        "self-play), latest (latest_share on the newest snapshot) or pfsp (by (1-x)^p, x the "
        "learner's win rate against the member).",
    )
    latest_share: float = Field(
        0.5, ge=0, le=1, description="latest: share of task groups against the newest snapshot."
    )
    pfsp_power: float = Field(2.0, ge=0, description="p of PFSP's weighting (1 - x)^p (AlphaStar).")
    elo_k: float = Field(32.0, gt=0, description="K: Elo update step per game.")
    initial_rating: float = Field(
        1000.0, description="Elo of the learner at the start and of every anchor (bots, random) throughout."
    )


class TrainConfig(_Section):
    """Everything a training run needs; saved as ``config.yaml`` in the run directory."""

    algorithm: str = Field(description="gigpo, grpo, rloo, rft, archer, mcts-dpo, traj-dpo or agent-q.")
    env: str = Field(description="Registered env id or alias.")
    env_kwargs: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of the env.")
    seat: dict[str, Any] | None = Field(
        None,
        description="Multi-agent games: the seat trained, as agentgym.seat's learner and others "
        "(bot names), e.g. {learner: player_0, others: <bot>}; with a league, the evaluation's seat.",
    )
    league: LeagueSettings | None = Field(
        None, description="League self-play (multi-agent games): seats, members, snapshots, sampling."
    )
    model: ModelSettings
    algo: SerializeAsAny[BaseModel] = Field(description="The algorithm's own settings.")
    optim: OptimSettings = Field(default_factory=OptimSettings)
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    iterations: int = Field(150, ge=1, description="Training iterations (rollout + update).")
    max_env_steps: int = Field(
        0, ge=0, description="Stop once this many env steps were trained on; 0: no limit."
    )
    seed: Seed = Field(0, description="Seed of task order, sampling and initialisation (0 to 2^32-1).")
    deterministic: bool = Field(False, description="torch deterministic algorithms (exact resume).")
    cpu_threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="torch threads on CPU (up to 1024); 0 keeps torch's default, or with "
        "async_staleness gives the learner and the generator half the CPUs each (tiny models: 1 is fastest).",
    )
    async_staleness: int = Field(
        0,
        ge=0,
        le=16,
        description="K: play the next iterations' episodes while the current one trains, with "
        "weights at most K updates old (decoupled PPO loss); 0 is synchronous. Old samples push "
        "like a larger step: lower optim.lr (docs/results.md, asynchronous GiGPO).",
    )
    checkpoint_every: int = Field(5, ge=1, description="Iterations between checkpoints.")
    keep_checkpoints: int = Field(2, ge=1, description="Checkpoints kept on disk.")
    progress: bool = Field(True, description="Show the live progress display.")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        """The algorithm's preset under ``data``; ``algo`` validated with the algorithm's own class."""
        if isinstance(data, dict) and isinstance(data.get("algorithm"), str):
            from agentgym.trainers.algorithms import get_algorithm

            preset = get_algorithm(data["algorithm"]).preset
            data = merge({key: value for key, value in preset.items() if key != "algo"}, data)
            algo = data.get("algo", {})
            if isinstance(algo, dict):
                data = {**data, "algo": algo_config(data["algorithm"], algo)}
        return data

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        from agentgym.trainers.algorithms import ALGORITHMS, get_algorithm

        if self.league is not None and not get_algorithm(self.algorithm).league:
            able = ", ".join(name for name, spec in ALGORITHMS.items() if spec.league)
            raise ValueError(
                f"{self.algorithm} cannot train in a league (multi-agent self-play); "
                f"train one of {able}, or drop the league section"
            )
        if self.rollout.samples == "episode" and self.rollout.history is not None:
            raise ValueError(
                "rollout.samples=episode trains on the whole chat, so rollout.history must be null "
                f"(got {self.rollout.history})"
            )
        return self


def parse_sets(pairs: Sequence[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` as a nested dict.

    Values are YAML scalars (``0.5``, ``true``, ``null``) or flow collections
    (``[a, b]``, ``{k: v}``); any other text, such as ``Task: {task}``, is kept as is.

    Example:
        >>> parse_sets(["algo.omega=0.5", "rollout.history=null", "env=guess"])
        {'algo': {'omega': 0.5}, 'rollout': {'history': None}, 'env': 'guess'}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r} is not KEY=VALUE (e.g. --set algo.omega=0.5)")
        value = _parse_value(raw)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {pair!r} conflicts with another --set of {part!r}")
        node[parts[-1]] = value
    return out


def _parse_value(raw: str) -> Any:
    """A YAML scalar, or a flow list/mapping written ``[...]``/``{...}``; any other text as is."""
    if not raw.strip():
        return ""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, dict | list) and not raw.lstrip().startswith(("[", "{")):
        return raw  # "Task: {task}" is text, not a mapping
    return value


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else is replaced.

    Example:
        >>> merge({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}})
        {'a': {'x': 1, 'y': 3}}
    """
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``, or a one-line :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {str(err).splitlines()[0]}") from err
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(path)!r} must hold a mapping of sections, got {type(data).__name__}"
        )
    return data


def build_config(algorithm: str, *layers: dict[str, Any] | Sequence[str]) -> TrainConfig:
    """The config of ``algorithm`` with ``layers`` applied in order.

    Each layer is a nested dict (a YAML file, the command-line flags) or a list
    of ``--set`` strings.
    """
    data: dict[str, Any] = {}
    for layer in layers:
        data = merge(data, layer if isinstance(layer, dict) else parse_sets(layer))
    data["algorithm"] = algorithm
    return validate_config(data)


def algo_config(algorithm: str, algo: dict[str, Any]) -> BaseModel:
    """The ``algo`` section of ``algorithm``: its preset, then ``algo`` (merged key by key), validated.

    Example:
        >>> algo_config("agent-q", {"pairs": {"max_pairs": 4}}).pairs.alpha  # the preset's, kept
        0.5
    """
    from agentgym.trainers.algorithms import get_algorithm

    spec = get_algorithm(algorithm)
    return spec.config_class.model_validate(merge(spec.preset.get("algo", {}), algo))


def validate_config(data: dict[str, Any]) -> TrainConfig:
    """``TrainConfig.model_validate`` whose failure is one line naming the key."""
    from agentgym.trainers.algorithms import get_algorithm

    algo = data.get("algo", {})
    if isinstance(data.get("algorithm"), str) and isinstance(algo, dict):
        try:
            data = {**data, "algo": algo_config(data["algorithm"], algo)}
        except ValidationError as err:
            model = get_algorithm(data["algorithm"]).config_class
            raise config_error(err, model, "config key", prefix="algo.") from None
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise config_error(err, TrainConfig, "config key", whole="invalid config: {msg}") from None


def config_help(algorithm: str) -> str:
    """Every config key of ``algorithm`` with its default and description, one per line."""
    from agentgym.trainers.algorithms import get_algorithm

    spec = get_algorithm(algorithm)
    lines = []

    def walk(model: type[BaseModel], prefix: str, preset: dict[str, Any]) -> None:
        for name, field in model.model_fields.items():
            section = nested_model(field.annotation)
            if name == "algo" and model is TrainConfig:
                walk(spec.config_class, "algo.", preset.get("algo", {}))
            elif section is not None:
                walk(section, f"{prefix}{name}.", preset.get(name, {}))
            elif name != "algorithm":
                if field.is_required():
                    shown = "(required)"
                else:
                    shown = "= " + json.dumps(preset.get(name, field.get_default(call_default_factory=True)))
                lines.append(f"{prefix}{name} {shown}: {field.description or ''}")

    walk(TrainConfig, "", spec.preset)
    return "\n".join(lines)


def dump_config(config: TrainConfig, path: str | Path) -> None:
    """Write the fully resolved config as YAML (every value explicit), atomically."""
    from agentgym.trainers.files import write_atomic

    write_atomic(Path(path), yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))


def read_config(path: str | Path) -> TrainConfig:
    """The config a run saved with :func:`dump_config`."""
    return validate_config(load_yaml(path))
