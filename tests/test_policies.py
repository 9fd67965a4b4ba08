"""Policies: the transformers backend's tokens and log-probs, and the model-free policies."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import agentgym
from agentgym.policies import (
    ExpertPolicy,
    Query,
    RandomPolicy,
    SamplingParams,
    ScriptedPolicy,
    TransformersPolicy,
    make_policy,
)
from agentgym.policies.hf import load_model
from agentgym.records import Message
from agentgym.testing import fresh_logprobs


def queries(n: int) -> list[Query]:
    texts = ["I am thinking", "guess 8 is too high. " * 3, "Correct!", "4 is too low. " * 7]
    return [Query(t, {}, [Message(role="user", content=t)]) for t in texts[:n]]


@pytest.mark.parametrize(
    "sampling",
    [
        SamplingParams(max_new_tokens=12),
        SamplingParams(max_new_tokens=12, temperature=0.7, top_p=0.9, top_k=50),
    ],
)
def test_recorded_logprobs_match_a_fresh_forward_pass(tiny, sampling: SamplingParams) -> None:
    model, tok = tiny
    policy = TransformersPolicy(model, tok, seed=0)
    gens = policy.generate(queries(4), sampling)  # four prompts of different lengths, left-padded
    for gen in gens:
        assert gen.prompt_token_ids and gen.token_ids and len(gen.token_ids) == len(gen.logprobs)
        expected = fresh_logprobs(model, gen.prompt_token_ids, gen.token_ids)
        assert torch.allclose(torch.tensor(gen.logprobs), expected, atol=1e-4)


def test_sampling_is_reproducible_from_the_seed_and_each_call_samples_anew(tiny) -> None:
    model, tok = tiny

    def two_calls(seed: int) -> list[list[list[int]]]:
        policy = TransformersPolicy(model, tok, seed=seed)
        sampling = SamplingParams(max_new_tokens=8)
        return [[g.token_ids for g in policy.generate(queries(3), sampling)] for _ in "ab"]

    a, b, c = two_calls(5), two_calls(5), two_calls(6)
    assert a[0] == b[0] != c[0]
    assert a == b  # the whole run replays from the policy's seed
    assert a[0] != a[1]  # the same prompts asked again (the next turn) draw new samples


def test_sampling_leaves_torch_global_rng_alone(tiny) -> None:
    model, tok = tiny
    torch.manual_seed(0)
    before = torch.get_rng_state()
    TransformersPolicy(model, tok).generate(queries(2), SamplingParams(max_new_tokens=4))
    assert torch.equal(before, torch.get_rng_state())


def test_greedy_equals_argmax(tiny) -> None:
    model, tok = tiny
    gen = TransformersPolicy(model, tok).generate(
        queries(1), SamplingParams(max_new_tokens=5, temperature=0)
    )[0]
    ids = list(gen.prompt_token_ids)
    for token in gen.token_ids:
        with torch.no_grad():
            assert int(model(torch.tensor([ids])).logits[0, -1].argmax()) == token
        ids.append(token)


def test_eos_ends_a_reply_and_stop_strings_are_kept(tiny) -> None:
    model, tok = tiny
    policy = TransformersPolicy(model, tok)
    eos = tok.eos_token_id
    always_eos = model.lm_head.register_forward_hook(
        lambda module, args, out: out.index_fill(-1, torch.tensor([eos]), 1e4)
    )
    try:
        gen = policy.generate(queries(1), SamplingParams(max_new_tokens=5))[0]
    finally:
        always_eos.remove()
    assert gen.token_ids == [eos] and gen.finish_reason == "stop" and gen.text == ""
    gen = policy.generate(queries(1), SamplingParams(max_new_tokens=30, stop=["e"]))[0]
    assert gen.finish_reason == "length" or "e" in gen.text


def test_load_model_errors_are_one_line() -> None:
    with pytest.raises(agentgym.ConfigError, match=r"model path './nowhere/model' does not exist"):
        load_model("./nowhere/model")
    with pytest.raises(agentgym.ConfigError, match="cannot load model 'no-such-org/no-such-model'"):
        load_model("no-such-org/no-such-model")


def test_a_saved_model_loads_by_path(tiny, tmp_path: Path) -> None:
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    policy = make_policy(f"hf:{tmp_path}")
    assert policy.generate(queries(1), SamplingParams(max_new_tokens=2))[0].token_ids


def test_model_free_policies() -> None:
    info = {"admissible_actions": ["a", "b", "c"], "expert_action": "b"}
    q = [Query("o", info, episode_step=1)]
    assert ExpertPolicy().generate(q, SamplingParams())[0].action == "b"
    picks = {RandomPolicy(seed=s).generate(q, SamplingParams())[0].action for s in range(20)}
    assert picks == {"a", "b", "c"}
    assert ScriptedPolicy(["x", "y"]).generate(q, SamplingParams())[0].action == "y"
    assert ScriptedPolicy(lambda query: query.observation).generate(q, SamplingParams())[0].action == "o"


def test_model_free_policy_misuse_is_explained() -> None:
    with pytest.raises(agentgym.ConfigError, match="needs an env with an expert"):
        ExpertPolicy().generate([Query("o", {})], SamplingParams())
    with pytest.raises(agentgym.ConfigError, match="action space is open"):
        RandomPolicy().generate([Query("o", {"admissible_actions": None})], SamplingParams())
    with pytest.raises(agentgym.ConfigError, match="the script has 1 actions; step 3 needs more"):
        ScriptedPolicy(["x"]).generate([Query("o", {}, episode_step=3)], SamplingParams())


@pytest.mark.parametrize(
    ("spec", "message"), [("gpt", "unknown policy 'gpt'"), ("openai:http://x/v1", r"needs --model")]
)
def test_make_policy_errors(spec: str, message: str) -> None:
    with pytest.raises(agentgym.ConfigError, match=message):
        make_policy(spec)


def test_a_saved_tiny_model_loads_with_the_tokenizer_it_was_trained_with(tmp_path: Path) -> None:
    # transformers loads any saved Qwen2-shaped model's tokenizer as Qwen2Tokenizer, which
    # rebuilds its own pre-tokenizer (single digits); ours must split the same way or a
    # reloaded model reads "Guess 16" as other ids than it was trained on.
    from agentgym.policies.tiny import tiny_model

    texts = [f"Too high. guess {n}, it's café\n\nclick[b07zz1ab2c] <|end|>" for n in range(1, 40)]
    model, tok = tiny_model(texts, vocab_size=300, single_tokens=r"b0[0-9a-z]{8}", seed=0)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path))[1]
    probes = [*texts, "guess 1234567  x\t\r\n", "ÿ naïve café"]
    assert [loaded(t)["input_ids"] for t in probes] == [tok(t)["input_ids"] for t in probes]
    chat = [{"role": "user", "content": texts[15]}, {"role": "assistant", "content": "guess 16"}]
    assert loaded.apply_chat_template(chat) == tok.apply_chat_template(chat)
    assert (loaded.pad_token_id, loaded.eos_token_id) == (tok.pad_token_id, tok.eos_token_id)


def test_single_tokens_keep_each_match_one_token_through_save_and_load(tmp_path: Path) -> None:
    from agentgym.policies.tiny import tiny_model, train_tokenizer

    page = "B0Q0K86HNM [SEP] Admissible actions: click[next >] | click[b0q0k86hnm] | click[b07zz1ab2c]"
    model, tok = tiny_model([page] * 3, vocab_size=300, single_tokens=r"b0[0-9a-z]{8}", seed=0)
    reply = "click[b07zz1ab2c]"
    assert tok.tokenize(reply)[-2:] == ["b07zz1ab2c", "]"] and tok.decode(tok(reply)["input_ids"]) == reply
    assert "B0Q0K86HNM" not in tok.get_vocab()  # only matches (case-sensitive) become tokens
    assert model.config.vocab_size == len(tok) == len(train_tokenizer([page], vocab_size=300)) + 2
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path))[1]
    assert loaded.tokenize(reply)[-2:] == ["b07zz1ab2c", "]"]
    assert loaded.decode(loaded(reply)["input_ids"]) == reply
