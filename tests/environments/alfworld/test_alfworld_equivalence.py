"""The native engine and TextWorld's PDDL engine agree, step by step, on generated tasks.

Sixty tasks, ten of each type, from all three splits, in small and medium
scenes (full scenes pass too but cost seconds per step on the PDDL engine: see
``benchmarks/alfworld_equivalence.py``). Each task is played on both engines at
once: eight steps of a mixed policy (the native expert, random admissible
commands and invalid ones), then the expert of the PDDL env, reading the state
from TextWorld's facts, until the real engine declares the task won.

At every step the two envs must return the same observation, reward, flags and
info (admissible commands, ``won``, ``state_key``; the PDDL engine's
``state_key`` is computed from the planner's facts, so equal keys mean equal
world states). No formatting difference is allowed: the text is byte-identical.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from alfworld_kitchen import INTRO, TRANSCRIPT

from agentgym.environments.alfworld import alfred
from agentgym.environments.alfworld.env import ALFWorldEnv
from agentgym.environments.alfworld.pddl import PddlGame, game
from agentgym.environments.alfworld.world import Layout

MEDIUM = {"max_receptacles": 7, "distractor_types": 3, "max_instances": 2}
SIZES = ["small", MEDIUM] * 5
SPLITS = ["train", "valid", "test"]
INVALID = ["dance", "", "go to the moon", "take apple 1 from", "Look", "put apple 1 in fridge 1"]
MIXED_STEPS = 8


def _same(a: tuple, b: tuple, where: str) -> None:
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), where


@pytest.mark.slow
@pytest.mark.parametrize("task_type", alfred.TASK_TYPES)
def test_native_and_pddl_engines_agree(task_type: str) -> None:
    verbs: Counter = Counter()
    for k, size in enumerate(SIZES):
        kw = {"scene": size, "task_types": [task_type], "max_steps": 60}
        native, pddl = ALFWorldEnv(engine="native", **kw), ALFWorldEnv(engine="pddl", **kw)
        options = {"split": SPLITS[k % 3], "task_id": k}
        where = f"{task_type} {options} {size}"
        rng = np.random.default_rng(k)
        first = native.reset(seed=0, options=options)
        _same(first, pddl.reset(seed=0, options=options), f"{where} reset")
        info, done, step = first[1], False, 0
        while not done:
            u = rng.random()
            if step >= MIXED_STEPS:
                action = pddl.expert_action()  # the expert on the PDDL engine's own state
            elif u < 0.55:
                action = native.expert_action()
            elif u < 0.85:
                action = str(rng.choice(info["admissible_actions"]))
            else:
                action = str(rng.choice(INVALID))
            verbs[action.split(" ")[0] if action in info["admissible_actions"] else "invalid"] += 1
            out = native.step(action)
            _same(out, pddl.step(action), f"{where} step {step} {action!r}")
            info, done, step = out[4], out[2] or out[3], step + 1
        assert info["won"], f"{where}: the expert did not win on the PDDL engine"
        native.close()
        pddl.close()
    key_verb = {"look_at_obj_in_light": "use"}.get(task_type, "move")
    if task_type in alfred.ABILITY:
        key_verb = task_type.split("_")[1]
    assert {"go", "take", key_verb, "invalid"} <= set(verbs), verbs


def test_hand_made_kitchen_transcript_on_the_pddl_engine(scene) -> None:
    """The move table of the native engine's tests, read on the real engine."""
    real = PddlGame(game(scene))
    native_intro = Layout(scene).intro
    feedback, _, _ = real.reset()
    assert feedback == native_intro == INTRO
    for command, expected in TRANSCRIPT:
        assert real.step(command)[0] == expected, command
    real.close()
