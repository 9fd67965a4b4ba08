"""The rollout engine: batching, groups, worker kinds, failures, and writing as it goes."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import helper_envs
import pytest
from fastapi import FastAPI

import agentgym
from agentgym.exceptions import FAILURE_KINDS
from agentgym.policies import ExpertPolicy, OpenAIPolicy, RandomPolicy, ScriptedPolicy, TransformersPolicy
from agentgym.policies.base import Generation, SamplingParams
from agentgym.records import TrajectoryWriter, load_trajectories
from agentgym.rollout import Command, EnvFactory, RolloutConfig, RolloutEngine, group_episodes
from agentgym.testing import LockStep, require_backend, serve_in_thread

QUIET = {"progress": False}
NO_FAILURES = dict.fromkeys(FAILURE_KINDS, 0)


def comparable(trajs) -> list[str]:
    return [json.dumps(t.model_dump(exclude={"wall_time_s"}), sort_keys=True) for t in trajs]


def run(env, policy, specs, **config):
    with RolloutEngine(env, policy, RolloutConfig(**QUIET, **config)) as engine:
        return engine.run(specs)


def test_expert_wins_every_guess_task() -> None:
    result = run("guess", ExpertPolicy(), group_episodes(range(9), split="train"), num_envs=4)
    assert result.summary.success_rate == 1.0 and result.summary.failed == 0
    assert [t.task_id for t in result.trajectories] == list(range(9))
    assert all(t.steps[-1].terminated and t.outcome == "won" for t in result.trajectories)


def test_group_copies_share_task_seed_and_first_state() -> None:
    result = run("count", RandomPolicy(seed=0), group_episodes([1, 2], group_size=3, seed=7), num_envs=4)
    groups: dict[str, set[str]] = {}
    for t in result.trajectories:
        groups.setdefault(t.group_id, set()).add(t.steps[0].observation)
    assert len(groups) == 2 and all(len(first) == 1 for first in groups.values())


def test_steps_record_the_state_before_the_action() -> None:
    traj = run("guess", ExpertPolicy(), group_episodes([0], split="test")).trajectories[0]
    assert traj.steps[0].observation.startswith("I am thinking")
    assert traj.steps[0].admissible_actions[0] == "guess 1"
    assert traj.steps[1].observation == "8 is too high."
    assert traj.steps[1].state_key == traj.steps[0].info["state_key"]


@pytest.mark.parametrize("workers", ["process", "ray"])
def test_worker_kinds_give_identical_trajectories(workers: str) -> None:
    if workers == "ray":
        require_backend(_has("ray"), "ray is not installed (pip install 'agentgym[distributed]')")
    specs = group_episodes(range(6), split="train", group_size=2, seed=3)
    threads = run("guess", RandomPolicy(seed=1), specs, num_envs=5, num_workers=2)
    other = run("guess", RandomPolicy(seed=1), specs, num_envs=5, num_workers=2, workers=workers)
    assert comparable(threads.trajectories) == comparable(other.trajectories)


def test_model_policy_trajectories_carry_tokens(tiny) -> None:
    model, tok = tiny
    policy = TransformersPolicy(model, tok, seed=0)
    config = {"sampling": SamplingParams(max_new_tokens=6), "prompt": {"history": 2}}
    result = run("guess", policy, group_episodes([0, 1], split="test"), num_envs=2, **config)
    steps = [s for t in result.trajectories for s in t.steps]
    assert all(s.prompt_token_ids and s.action_token_ids and s.action_logprobs for s in steps)
    assert result.summary.generated_tokens == sum(len(s.action_token_ids) for s in steps)
    assert all(s.invalid_action for s in steps if "<action>" not in s.response)


@pytest.mark.parametrize("workers", ["thread", "process"])
def test_a_crashing_env_fails_only_its_episode(workers: str) -> None:
    specs = group_episodes(range(4), seed=0)
    factory = EnvFactory("helper_envs:agentgym/Count-v0", {"crash_at": 3})
    result = run(factory, ScriptedPolicy(["next"] * 9), specs, num_envs=2, workers=workers)
    assert result.summary.failed == 4
    assert all("step failed: ValueError: boom" in t.failure for t in result.trajectories)
    assert all(len(t.steps) == 2 for t in result.trajectories)  # steps before the crash are kept
    assert {t.failure_kind for t in result.trajectories} == {"env_crash"}
    assert result.summary.failure_kinds["env_crash"] == 4
    healthy = run(
        EnvFactory(factory.env_id), ScriptedPolicy(["next"] * 9), specs, num_envs=2, workers=workers
    )
    assert healthy.summary.success_rate == 1.0


def test_a_hanging_step_times_out_and_the_run_goes_on() -> None:
    factory = EnvFactory("helper_envs:agentgym/Count-v0", {"hang_at": 2})
    result = run(
        factory,
        ScriptedPolicy(["next"] * 9),
        group_episodes([0]),
        workers="process",
        step_timeout_s=1.0,
    )
    assert result.trajectories[0].failure == "step failed: env step timed out after 1.0 s"
    assert result.trajectories[0].failure_kind == "env_timeout"
    assert result.summary.failure_kinds == {**NO_FAILURES, "env_timeout": 1}


def test_a_thread_workers_overrunning_step_has_its_engine_killed() -> None:
    """The engine asks the env to abort (TextEnv.abort): its native engine dies, no thread keeps spinning."""
    factory = EnvFactory("helper_envs:agentgym/Count-v0", {"spin_at": 2})
    before = set(helper_envs.child_pids())  # engines of other tests' envs
    threads_before = set(threading.enumerate())
    result = run(factory, ScriptedPolicy(["next"] * 9), group_episodes([0, 1]), workers="thread",
                 num_envs=1, step_timeout_s=3.0)  # fmt: skip
    assert [t.failure for t in result.trajectories] == ["step failed: env step timed out after 3.0 s"] * 2
    assert set(helper_envs.child_pids()) <= before
    for thread in set(threading.enumerate()) - threads_before:
        if thread.name.startswith("agentgym-env"):
            thread.join(timeout=5)
            assert not thread.is_alive(), "a worker thread outlived the rollout"


def test_a_dying_worker_process_is_replaced() -> None:
    factory = EnvFactory("helper_envs:agentgym/Count-v0", {"die_at": 2})
    specs = group_episodes(range(3))
    result = run(factory, ScriptedPolicy(["next"] * 9), specs, workers="process", num_envs=1)
    assert [t.failure for t in result.trajectories] == [
        "step failed: env worker process died (exit code 3)"
    ] * 3
    assert [t.failure_kind for t in result.trajectories] == ["env_crash"] * 3


def test_a_policy_that_raises_fails_the_turns_episodes() -> None:
    class Broken:
        name, wants_messages, wants_expert = "broken", False, False

        def generate(self, queries, sampling) -> list[Generation]:
            raise RuntimeError("CUDA out of memory")

    result = run("guess", Broken(), group_episodes(range(3)), num_envs=2)
    assert result.summary.failed == 3
    assert result.summary.failure_reasons == {"policy raised RuntimeError: CUDA out of memory": 3}
    assert result.summary.failure_kinds == {**NO_FAILURES, "policy_error": 3}
    assert {t.failure_kind for t in result.trajectories} == {"policy_error"}


def test_a_reply_that_is_not_a_chat_completion_is_a_parse_error(free_port: int) -> None:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete() -> dict[str, Any]:
        return {"choices": []}  # HTTP 200, but no completion in it

    with serve_in_thread(app, free_port) as url:
        result = run("guess", OpenAIPolicy(f"{url}/v1", model="m"), group_episodes(range(2)), num_envs=2)
    assert {t.failure_kind for t in result.trajectories} == {"parse_error"}
    assert result.trajectories[0].failure.startswith("policy raised ReplyParseError: not a chat completion")
    assert result.summary.failure_kinds == {**NO_FAILURES, "parse_error": 2}


def test_openai_requests_carry_a_new_seed_each_turn_and_the_same_seeds_each_run(free_port: int) -> None:
    seeds: list[int] = []
    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete(body: dict[str, Any]) -> dict[str, Any]:
        seeds.append(body["seed"])
        return {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}

    runs = []
    with serve_in_thread(app, free_port) as url:
        for _ in range(2):
            policy = OpenAIPolicy(f"{url}/v1", model="m", seed=0)
            result = run("same", policy, group_episodes([0], group_size=2), num_envs=2)
            assert [len(t.steps) for t in result.trajectories] == [3, 3]
            runs.append(sorted(seeds))
            seeds.clear()
    assert len(set(runs[0])) == 6  # two copies of one task, three turns each: six seeds
    assert runs[1] == runs[0]


def chat_server(reply) -> FastAPI:
    """An OpenAI-style chat server answering ``reply(body)`` to every request."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete(body: dict[str, Any]) -> dict[str, Any]:
        return {"choices": [{"message": {"content": reply(body)}, "finish_reason": "stop"}]}

    return app


def test_a_server_policy_gets_an_envs_next_request_as_soon_as_its_step_returns() -> None:
    """Task 0's steps take 0.5 s: task 1 plays all its turns meanwhile, not one per turn of task 0."""
    seen: list[tuple[str, int]] = []  # (first observation, turn) of each request, as it arrives

    def reply(body: dict[str, Any]) -> str:
        messages = body["messages"]
        seen.append((messages[1]["content"][:6], sum(m["role"] == "assistant" for m in messages)))
        return "<action>next</action>"

    factory = EnvFactory("helper_envs:agentgym/Count-v0", {"step_sleep_s": [0.5, 0.0]})
    with serve_in_thread(chat_server(reply)) as url:
        policy = OpenAIPolicy(f"{url}/v1", model="m")
        result = run(
            factory, policy, group_episodes([0, 1]), num_envs=2, num_workers=2, prompt={"history": None}
        )
    assert result.summary.success_rate == 1.0
    assert seen.index(("task 0", 1)) > seen.index(("task 1", 4))


def test_streaming_and_lock_step_turns_give_the_same_trajectories() -> None:
    """The reply is a function of the request's seed alone, as a seeded vLLM sample is."""

    def reply(body: dict[str, Any]) -> str:
        return f"<action>{['next', 'wait', 'next'][body['seed'] % 3]}</action>"

    specs = group_episodes(range(3), group_size=2, seed=5)
    factory = EnvFactory("helper_envs:agentgym/Count-v0")
    with serve_in_thread(chat_server(reply)) as url:
        streamed = run(factory, OpenAIPolicy(f"{url}/v1", model="m", seed=0), specs, num_envs=4)
        lock_step = run(factory, LockStep(OpenAIPolicy(f"{url}/v1", model="m", seed=0)), specs, num_envs=4)
    assert comparable(streamed.trajectories) == comparable(lock_step.trajectories)
    assert len({tuple(s.action for s in t.steps) for t in streamed.trajectories}) > 1


def test_requests_in_flight_are_bounded_by_max_in_flight() -> None:
    lock, now, most = threading.Lock(), [0], [0]

    def reply(body: dict[str, Any]) -> str:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.05)
        with lock:
            now[0] -= 1
        return "<action>next</action>"

    with serve_in_thread(chat_server(reply)) as url:
        policy = OpenAIPolicy(f"{url}/v1", model="m")
        result = run(
            "helper_envs:agentgym/Count-v0", policy, group_episodes(range(4)), num_envs=4, max_in_flight=2
        )
    assert result.summary.success_rate == 1.0 and most[0] == 2


def test_a_model_server_that_does_not_answer_fails_its_episodes_as_unreachable(free_port: int) -> None:
    policy = OpenAIPolicy(f"http://127.0.0.1:{free_port}/v1", model="m")  # nothing listens there
    result = run("guess", policy, group_episodes(range(3)), num_envs=2)
    assert result.summary.failure_kinds == {**NO_FAILURES, "server_unreachable": 3}
    failure = result.trajectories[0].failure
    assert failure.startswith("policy raised ServerUnreachableError: the model server at http://127.0.0.1:")
    assert failure.endswith("start it again, or point the policy at one that runs") and "\n" not in failure


def test_a_worker_restart_fails_the_episodes_whose_envs_it_held() -> None:
    """Two envs on one process worker: the first to reach step 2 kills it; the other's env went with it."""
    factory = EnvFactory("helper_envs:agentgym/Count-v0", {"die_at": 2, "step_sleep_s": [0.0, 0.3]})
    with serve_in_thread(chat_server(lambda body: "<action>next</action>")) as url:
        policy = OpenAIPolicy(f"{url}/v1", model="m")
        result = run(factory, policy, group_episodes(range(2)), num_envs=2, workers="process")
    failures = sorted(t.failure for t in result.trajectories)
    assert failures[0] == "step failed: env worker process died (exit code 3)"
    lost = "step failed: its env was lost when its worker restarted after another env failed: "
    assert failures[1] == lost + failures[0].removeprefix("step failed: ")
    assert {t.failure_kind for t in result.trajectories} == {"env_crash"}


def test_a_sandbox_that_dies_is_a_sandbox_failure(scratch_registry: None) -> None:
    require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")
    agentgym.register("agentgym/Shell-v0", "helper_envs:ShellEnv", description="commands in a sandbox")
    policy = ScriptedPolicy(["echo hi", "kill -9 -1"])
    result = run(EnvFactory("agentgym/Shell-v0"), policy, group_episodes([0]))
    (traj,) = result.trajectories
    assert traj.failure_kind == "sandbox" and "session shell died" in traj.failure
    assert [s.observation for s in traj.steps] == ["a shell"]  # the step before the crash is kept
    assert result.summary.failure_kinds == {**NO_FAILURES, "sandbox": 1}


def test_not_a_policy_is_refused() -> None:
    with pytest.raises(agentgym.ConfigError, match="is not a policy"):
        RolloutEngine("guess", object(), RolloutConfig(**QUIET))  # type: ignore[arg-type]


def test_trajectories_are_written_as_they_finish(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    seen: list[int] = []

    def on_episode(traj) -> None:
        seen.append(len(load_trajectories(path)))

    with (
        TrajectoryWriter(path) as writer,
        RolloutEngine("guess", ExpertPolicy(), RolloutConfig(**QUIET, num_envs=2)) as engine,
    ):
        engine.run(group_episodes(range(4), split="train"), writer=writer, on_episode=on_episode)
    assert seen == [1, 2, 3, 4] and len(load_trajectories(path)) == 4


def test_unparseable_replies_are_flagged_and_passed_through() -> None:
    class Chatty:
        name, wants_messages, wants_expert = "chatty", True, False

        def generate(self, queries, sampling):
            return [Generation(text="I would guess 8") for _ in queries]

    traj = run("guess", Chatty(), group_episodes([0]), prompt={"action_format": "tags"}).trajectories[0]
    assert traj.steps[0].invalid_action and traj.steps[0].action == "I would guess 8"
    assert traj.outcome == "truncated" and len(traj.steps) == 10


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_tool_format_offers_the_act_tool_and_parses_its_calls() -> None:
    class ToolCaller:
        name, wants_messages, wants_expert = "tool-caller", True, True

        def __init__(self) -> None:
            self.tools: list = []

        def generate(self, queries, sampling) -> list[Generation]:
            self.tools += [q.tools for q in queries]
            return [Generation(text="", tool_calls=[self.call(q.info["expert_action"])]) for q in queries]

        @staticmethod
        def call(action: str) -> dict:
            return {"function": {"name": "act", "arguments": json.dumps({"action": action})}}

    policy = ToolCaller()
    result = run("guess", policy, group_episodes(range(2), split="test"), prompt={"action_format": "tool"})
    assert result.summary.success_rate == 1.0
    assert {tuple(tool["function"]["name"] for tool in t) for t in policy.tools} == {("act",)}
    policy.tools = []
    run("guess", policy, group_episodes(range(1)))  # the default tags format offers no tools
    assert policy.tools and all(t is None for t in policy.tools)


@pytest.mark.parametrize(
    "bad",
    [
        {"num_workers": 100_000},
        {"num_envs": 10**6},
        {"step_timeout_s": float("inf")},
        {"step_timeout_s": float("nan")},
    ],
)
def test_rollout_configs_out_of_range_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        RolloutConfig(**bad)


@pytest.mark.parametrize("workers", ["thread", "process"])
def test_a_slot_snapshot_restores_into_a_fresh_slot_on_another_worker(workers: str) -> None:
    config = RolloutConfig(**QUIET, num_envs=2, num_workers=2, workers=workers)
    with RolloutEngine("guess", ExpertPolicy(), config) as engine:
        engine.execute([Command(0, "reset", (4, {"task_id": 2}))])
        [snap] = engine.execute([Command(0, "snapshot")])
        first = engine.execute([Command(0, "step", "guess 3")])
        assert engine.execute([Command(1, "restore", snap.value)])[0].error is None  # slot 1 never reset
        assert engine.execute([Command(1, "step", "guess 3")])[0].value == first[0].value
