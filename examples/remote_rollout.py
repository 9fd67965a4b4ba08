"""Serve an environment over HTTP and a WebSocket, then roll out against it remotely.

Starts the env server (what `agentgym serve` runs) on 127.0.0.1 in this process,
drives one `RemoteEnv` by hand, steps several sessions in one message with
`step_many`, and runs the rollout engine against the server. About 3 s on a CPU.

    python examples/remote_rollout.py [--env guess] [--port 0]
"""

from __future__ import annotations

import argparse

from agentgym.policies import RandomPolicy
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, group_episodes
from agentgym.server import RemoteEnv, create_app, step_many
from agentgym.testing import serve_in_thread


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="guess")
    parser.add_argument("--port", type=int, default=0, help="0: any free port on 127.0.0.1.")
    args = parser.parse_args()
    with serve_in_thread(create_app([args.env]), args.port) as url:
        env = RemoteEnv(url, args.env)  # the WebSocket when the server offers it
        obs, info = env.reset(seed=0, options={"split": "test", "task_id": 0})
        print(f"remote {env.env_id} over {'websocket' if env.ws else 'http'}: {obs[:120]}")
        env.close()

        envs = [RemoteEnv(url, args.env) for _ in range(4)]
        for i, e in enumerate(envs):
            e.reset(seed=i)
        actions = [e.expert_action() for e in envs]
        results = step_many(envs, actions)  # one round trip for all four
        print("step_many rewards:", [r[1] if isinstance(r, tuple) else repr(r) for r in results])
        for e in envs:
            e.close()

        factory = EnvFactory(args.env, server_urls=(url,))
        with RolloutEngine(
            factory, RandomPolicy(seed=0), RolloutConfig(num_envs=4, progress=False)
        ) as engine:
            summary = engine.run(group_episodes(range(4), split="test", group_size=2)).summary
        print(f"remote rollout: {summary.episodes} episodes, success {summary.success_rate:.0%}")


if __name__ == "__main__":
    main()
