"""Tiny models for tests and demos: a tokenizer trained on the fly and a model built from a config.

Nothing is downloaded. The tokenizer is a byte-level BPE trained on the texts
given, with a small chat template; the model is a Qwen2-shaped decoder with
random weights.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agentgym.exceptions import require

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>"]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512, single_tokens: str | None = None) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``, with a chat template.

    The vocabulary is learned on byte-level words (a space joins the word after
    it); the tokenizer returned then splits text as Qwen2's does (NFC, then
    words, single digits and punctuation runs, then bytes). transformers loads
    a saved Qwen2-shaped model's tokenizer as ``Qwen2Tokenizer``, which rebuilds
    that pipeline around the saved vocabulary, so this tokenizer and the one
    :func:`~agentgym.policies.hf.load_model` loads give the same ids. (Learning
    the vocabulary on Qwen2's split instead gave the demo a weaker warm start:
    docs/results.md, "The demo again".)

    ``single_tokens`` is a regular expression: every distinct match in ``texts``
    becomes one token of its own, beyond ``vocab_size`` (for example WebShop's
    product ids, ``b0[0-9a-z]{8}``: random strings that BPE cuts into many
    pieces, which a tiny model then has to copy piece by piece).

    Example:
        >>> tok = train_tokenizer(["go to the kitchen", "take the apple"], vocab_size=300)
        >>> tok.decode(tok("take the apple")["input_ids"])
        'take the apple'
        >>> tok = train_tokenizer(["click[b0x7k2m9q4]"], vocab_size=300, single_tokens=r"b0[0-9a-z]{8}")
        >>> tok.tokenize("click[b0x7k2m9q4]")[-2:]
        ['b0x7k2m9q4', ']']
    """
    tokenizers = require("tokenizers", extra="train")
    transformers = require("transformers", extra="train")
    texts = list(texts)
    pre = tokenizers.pre_tokenizers
    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = pre.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    qwen2 = require("transformers.models.qwen2.tokenization_qwen2", extra="train")
    bpe.normalizer = tokenizers.normalizers.NFC()
    bpe.pre_tokenizer = pre.Sequence(
        [
            pre.Split(tokenizers.Regex(qwen2.PRETOKENIZE_REGEX), behavior="isolated"),
            pre.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    if single_tokens is not None:
        pattern = re.compile(single_tokens)
        words = sorted({word for text in texts for word in pattern.findall(text)})
        bpe.add_tokens([tokenizers.AddedToken(word, normalized=False) for word in words])
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<|pad|>", eos_token="<|end|>")
    tok.chat_template = CHAT_TEMPLATE
    tok.padding_side = "left"
    return tok


def tiny_model(
    texts: Iterable[str],
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
    single_tokens: str | None = None,
) -> tuple[Any, Any]:
    """A randomly initialised Qwen2-shaped causal LM and a tokenizer trained on ``texts``
    (:func:`train_tokenizer`'s ``vocab_size`` and ``single_tokens``).

    Example:
        >>> model, tok = tiny_model(["look", "inventory"], seed=0)
        >>> model.config.model_type, model.config.num_hidden_layers
        ('qwen2', 2)
    """
    torch = require("torch", extra="train")
    transformers = require("transformers", extra="train")
    tok = train_tokenizer(texts, vocab_size=vocab_size, single_tokens=single_tokens)
    config = transformers.Qwen2Config(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.eval()
    return model, tok
