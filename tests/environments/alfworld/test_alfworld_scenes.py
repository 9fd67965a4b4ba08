"""Scene generation: deterministic, ALFRED's rules, disjoint splits, unseen test rooms."""

from __future__ import annotations

import pytest

from agentgym.environments.alfworld import alfred
from agentgym.environments.alfworld.scenes import SCENES, SceneConfig, generate, goal_split


def test_generation_is_deterministic_and_tasks_differ() -> None:
    assert generate("train", 11, SCENES["full"]) == generate("train", 11, SCENES["full"])
    assert generate("train", 11, SCENES["full"]) != generate("train", 12, SCENES["full"])


def test_test_split_uses_floor_plans_train_never_uses() -> None:
    assert not set(alfred.split_floor_plans("test")) & set(alfred.split_floor_plans("train"))
    train_plans = {generate("train", i, SCENES["small"]).floor_plan for i in range(200)}
    test_plans = {generate("test", i, SCENES["small"]).floor_plan for i in range(200)}
    assert train_plans <= set(alfred.split_floor_plans("train"))
    assert test_plans <= set(alfred.split_floor_plans("test"))


def test_train_and_valid_never_share_a_goal() -> None:
    for split in ("train", "valid"):
        for task_id in range(100):
            scene = generate(split, task_id, SCENES["small"])
            t = scene.task
            assert goal_split(scene.floor_plan, t.type, t.obj, t.parent, t.toggle) == split


def test_placement_follows_alfred_rules_and_the_goal_starts_unmet() -> None:
    for task_id in range(100):
        scene = generate("train", task_id, SCENES["full"])
        task = scene.task
        for thing, home in zip(scene.objects, scene.placement, strict=True):
            kind = scene.receptacles[home].kind
            if thing.kind in alfred.LAMPS:
                assert kind in alfred.LAMP_STANDS
            else:
                assert alfred.can_contain(kind, thing.kind), (thing, kind)
            assert not (thing.kind == task.obj and kind == task.parent)
        spots = {r.location for r in scene.receptacles}
        assert scene.start not in spots
        if task.type in alfred.APPLIANCES:
            assert alfred.APPLIANCES[task.type] in {r.kind for r in scene.receptacles}
        wanted = 2 if task.type == "pick_two_obj_and_place" else 1
        assert sum(o.kind == task.obj for o in scene.objects) >= wanted


def test_small_scenes_stay_small() -> None:
    for task_id in range(100):
        scene = generate("valid", task_id, SCENES["small"])
        assert len(scene.receptacles) <= 4
        assert len({o.kind for o in scene.objects}) <= 4  # target, lamp, 2 distractors
        assert all(o.id.split("|")[0] == o.kind for o in scene.objects)


def test_every_task_type_is_generated_in_every_split() -> None:
    for split in ("train", "valid", "test"):
        types = {generate(split, i, SCENES["full"]).task.type for i in range(120)}
        assert types == set(alfred.TASK_TYPES), (split, types)


def test_scene_config_rejects_unknown_task_types() -> None:
    with pytest.raises(ValueError, match="unknown task types"):
        SceneConfig(task_types=("juggle",))
    assert SceneConfig(task_types=("pick_two_obj_and_place", "pick_and_place_simple")).task_types == (
        "pick_and_place_simple",
        "pick_two_obj_and_place",
    )
