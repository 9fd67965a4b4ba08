"""The command line, run as users run it (``python -m agentgym``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym.records import load_trajectories
from agentgym.testing import wait_for_server

SERVE_FATAL = """
import sys
from agentgym.cli.main import main
from agentgym.registry import register
register("agentgym/Fatal-v0", "helper_envs:CountEnv", kwargs={"die_at": 1}, description="dies")
sys.argv[1:1] = ["serve", "agentgym/Fatal-v0"]
main()
"""
"""``agentgym serve`` of an env whose first step ends the server's process."""


WITH_HELPER_ENVS = """
import helper_envs  # registers the test envs, agentgym/Same-v0 among them
from agentgym.cli.main import main
main()
"""
"""``agentgym`` with the tests' helper envs registered (run with ``tests/`` on ``PYTHONPATH``)."""


def agentgym(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentgym", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_a_rollout_whose_server_died_exits_non_zero_with_the_reason(tmp_path: Path, free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}  # helper_envs
    serve = [sys.executable, "-c", SERVE_FATAL, "--port", str(free_port)]
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(url)
        path = tmp_path / "x.jsonl"
        out = agentgym(
            "rollout",
            "agentgym/Fatal-v0",
            "--server",
            url,
            "--policy",
            "random",
            "--episodes",
            "3",
            "--out",
            str(path),
        )
        assert server.wait(timeout=30) == 3  # the env's first step ended the server
    finally:
        server.kill()
        server.wait()
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    (error,) = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: all 3 episodes failed (3 server_unreachable); the most common reason"), (
        error
    )
    assert "is unreachable" in error
    assert [t.failure_kind for t in load_trajectories(path)] == ["server_unreachable"] * 3


def test_a_model_rollout_samples_each_turn_apart_and_replays_from_its_seed(tiny, tmp_path: Path) -> None:
    model, tok = tiny
    model.save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}  # helper_envs

    def episode(name: str) -> list[tuple[list[int], list[int]]]:
        rollout = ["rollout", "same", "--policy", f"hf:{tmp_path / 'model'}", "--episodes", "1"]
        rollout += ["--history", "0", "--temperature", "1", "--max-new-tokens", "8", "--seed", "0"]
        path = tmp_path / f"{name}.jsonl"
        out = subprocess.run(
            [sys.executable, "-c", WITH_HELPER_ENVS, *rollout, "--out", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        (traj,) = load_trajectories(path)
        return [(s.prompt_token_ids, s.action_token_ids) for s in traj.steps]

    first = episode("first")
    (prompt,) = {tuple(p) for p, _ in first}  # every turn: the same prompt, the same next-token distribution
    replies = [tuple(a) for _, a in first]
    assert len(replies) == 3 and len(set(replies)) == 3, replies
    assert episode("again") == first


def test_envs_lists_ids_and_aliases() -> None:
    out = agentgym("envs")
    assert out.returncode == 0 and "agentgym/GuessNumber-v0" in out.stdout and "nim" in out.stdout


def test_help_lists_the_lazy_commands_with_their_own_help() -> None:
    from agentgym.cli.main import LAZY_COMMANDS, load_command

    out = agentgym("--help")
    assert out.returncode == 0, out.stderr
    for name, (target, summary) in LAZY_COMMANDS.items():
        assert f" {name} " in out.stdout
        assert (load_command(target).help or "").split("\n\n")[0].strip() == summary


def test_a_lazy_group_loads_when_called() -> None:
    out = agentgym("sandbox", "--help")
    assert out.returncode == 0 and "build-image" in out.stdout, out.stderr
    out = agentgym("sandbox", "nonsense")
    assert out.returncode == 2 and "No such command 'nonsense'" in out.stdout + out.stderr


def test_rollout_writes_trajectories_and_prints_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    out = agentgym(
        "rollout", "guess", "--policy", "expert", "--episodes", "5", "--split", "test", "--out", str(path)
    )
    assert out.returncode == 0, out.stderr
    assert "guess / expert" in out.stdout and "100.0%" in out.stdout
    assert len(load_trajectories(path)) == 5


def test_rollout_of_a_seat(tmp_path: Path) -> None:
    out = agentgym(
        "rollout", "nim", "--policy", "random", "--episodes", "4", "--seat", "player_0", "--others", "optimal"
    )
    assert out.returncode == 0, out.stderr
    assert "nim / random" in out.stdout


def test_an_unreachable_ray_address_is_one_line_that_says_what_to_fix() -> None:
    out = agentgym("rollout", "guess", "--ray", "127.0.0.1:1", "--ray-resource", "sandbox=1")
    first = out.stderr.splitlines()[0]
    assert out.returncode == 2
    assert first == "error: no Ray cluster answers at 127.0.0.1:1 (ConnectionRefusedError)"
    assert "ray start --head" in out.stderr
    out = agentgym("eval", "guess", "--ray-resource", "sandbox=1")
    assert out.returncode == 2 and "add --ray ADDRESS" in out.stderr


def test_several_servers_repeated_or_comma_separated_and_none_answering_is_one_line(free_port: int) -> None:
    url, dead = f"http://127.0.0.1:{free_port}", "http://127.0.0.1:1"
    serve = [sys.executable, "-m", "agentgym", "serve", "guess", "--port", str(free_port)]
    server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(url)
        out = agentgym("rollout", "guess", "--server", dead, "--server", url, "--episodes", "4")
        assert out.returncode == 0 and "100.0%" in out.stdout, out.stderr
        out = agentgym("eval", "guess", "--server", f"{dead},{url}", "--episodes", "2")
        assert out.returncode == 0 and "(test)" in out.stdout, out.stderr
    finally:
        server.kill()
        server.wait()
    out = agentgym("rollout", "guess", "--server", f"{dead}, http://127.0.0.1:2")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines()[0] == (
        "error: no env server answers: http://127.0.0.1:1, http://127.0.0.1:2 are all unreachable"
    )


def test_eval_defaults_to_the_test_split() -> None:
    out = agentgym("eval", "guess", "--episodes", "3")
    assert out.returncode == 0 and "(test)" in out.stdout


def test_eval_with_search_at_test_time_beats_the_same_policy_played_directly(tmp_path: Path) -> None:
    # A random policy with three guesses among 16 numbers rarely wins; searching from every state
    # (its lookahead tries the remaining guesses on snapshots) finds the number.
    common = ["eval", "guess", "--policy", "random", "--kw", "max_steps=3", "--episodes", "4"]
    direct = agentgym(*common, "--out", str(tmp_path / "direct.jsonl"))
    searched = agentgym(
        *common, "--search", "mcts", "--simulations", "16", "--out", str(tmp_path / "s.jsonl")
    )
    assert direct.returncode == 0 and searched.returncode == 0, direct.stderr + searched.stderr
    won = {
        name: sum(t.won for t in load_trajectories(tmp_path / f"{name}.jsonl")) for name in ("direct", "s")
    }
    assert won["s"] == 4 and won["direct"] < 4, won


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "guess", "--search", "mcts", "--simulations", "0"], "error: invalid value for simulations"),
        (["eval", "guess", "--simulations", "8"], "error: --simulations sets the tree search"),
        (["eval", "guess", "--search", "beam"], "error: --search is none or mcts, got 'beam'"),
        (["eval", "guess", "--search-option", "k=2"], "error: --search-option sets the tree search"),
        (
            ["eval", "guess", "--search", "mcts", "--search-option", "lookahed=1"],
            "error: unknown search option 'lookahed'; did you mean 'lookahead'?",
        ),
        (
            ["eval", "guess", "--search", "mcts", "--search-option", "k=0"],
            "error: invalid value for k: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            ["rollout", "guesnumber"],
            "error: unknown environment 'guesnumber'; did you mean agentgym/GuessNumber-v0?",
        ),
        (["rollout", "guess", "--policy", "gpt"], "error: unknown policy 'gpt'"),
        (["rollout", "guess", "--kw", "nope"], "error: expected KEY=VALUE, got 'nope'"),
        (["rollout", "guess", "--kw", "hgh=3"], "error: cannot make agentgym/GuessNumber-v0 with {'hgh': 3}"),
        (
            ["rollout", "guess", "--workers", "gpu"],
            "error: invalid value for workers: Input should be 'thread', 'process' or 'ray'",
        ),
        (["rollout", "guess", "--split", "dev"], "error: split 'dev' has no tasks"),
        (["rollout", "guess", "--server", "localhost:8000"], "error: env server URL 'localhost:8000' is not"),
        (["play", "nim", "--seat", "player_7"], "error: learner 'player_7' is not a seat of this game"),
        (["serve-model", "./no/such/model"], "error: model path './no/such/model' does not exist"),
        (
            ["rollout", "guess", "--policy", "hf:smolm2"],
            "error: cannot load model 'smolm2': not a local path, an offline model or a Hugging Face "
            "model in the local cache (HF_HUB_OFFLINE=1); did you mean 'smollm2'? `agentgym models` lists",
        ),
    ],
)
def test_bad_arguments_give_one_line_and_a_hint(args: list[str], message: str) -> None:
    out = agentgym(*args)
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines()[0].startswith(message), out.stderr
    assert "Traceback" not in out.stderr


def test_usage_errors_are_short() -> None:
    out = agentgym("rollout", "guess", "--episodes", "zero")
    assert (
        out.returncode == 2
        and "Invalid value for '--episodes'" in out.stderr
        and "Traceback" not in out.stderr
    )


def test_a_person_can_play(tmp_path: Path) -> None:
    out = agentgym(
        "play",
        "guess",
        "--split",
        "test",
        "--task-id",
        "1",
        stdin="guess 8\n1\nhello\n:expert\n:expert\n:expert\n",
    )
    assert out.returncode == 0, out.stderr
    assert (
        "8 is too low." in out.stdout and "9 is too low." in out.stdout
    )  # '1' picks the first admissible action
    assert "(invalid action)" in out.stdout and "Episode over: won" in out.stdout


def test_play_ends_quietly_at_end_of_input() -> None:
    out = agentgym("play", "nim", "--seat", "player_0", stdin="take 1\n")
    assert out.returncode == 0 and "Traceback" not in out.stderr


@pytest.mark.slow
@pytest.mark.bwrap
@pytest.mark.browser
def test_tour_plays_every_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    import agentgym
    from agentgym.testing import require_backend
    from agentgym.tour import run_tour

    require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")
    require_backend(Path("/usr/bin/chromium").exists(), "no chromium (apt-get install chromium)")
    rows = run_tour(tmp_path, episodes=1)
    for info in agentgym.list_envs():
        assert rows[f"{info.id} / tiny-untrained"].failed == 0
    experts = {name: s for name, s in rows.items() if name.endswith(" / expert")}
    assert len(experts) >= 7 and all(s.success_rate == 1.0 for s in experts.values())
    assert len(list(tmp_path.glob("*.jsonl"))) == len(rows)
    success = capsys.readouterr().out.split("success rate (test split)")[1]  # env rows, policy columns
    header = success.splitlines()[2]
    assert "expert" in header and "tiny-untrained" in header
    assert all(f" {info.id} " in success for info in agentgym.list_envs())
