"""From an observation history to chat messages, and from a model's reply to an action.

``render_messages`` builds the chat a model sees at one step: a system message
with the task and how to answer, then the history (all of it, or the last ``k``
steps as GiGPO does) and the current observation with its admissible actions.
``parse_action`` turns a reply back into an env action; a reply that cannot be
parsed becomes an invalid action, never an exception.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentgym.records import Message

ActionFormat = Literal["tags", "line", "tool"]

_SYSTEM = """You are an agent acting in a text environment.
Your task: {task}
Each turn you receive an observation. Reply with exactly one action.
{how}"""

_HOW = {
    "tags": "Think briefly inside <think>...</think> if you need to, then give the action "
    "inside <action>...</action>.",
    "line": "Reply with the action alone on a single line.",
    "tool": "Call the tool to act.",
}

ACT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "act",
        "description": "Perform one action in the environment.",
        "parameters": {
            "type": "object",
            "properties": {"action": {"type": "string", "description": "The action text."}},
            "required": ["action"],
        },
    },
}
"""The tool offered to models in ``tool`` format when the env publishes no tools of its own."""


class PromptConfig(BaseModel):
    """How observations become prompts and replies become actions."""

    model_config = ConfigDict(extra="forbid")

    history: int | None = Field(
        None, ge=0, description="Past steps shown in each prompt: k for the last k, null for all (GiGPO: 2)."
    )
    action_format: ActionFormat = Field("tags", description="How the model states its action.")
    show_admissible: bool = Field(True, description="List the admissible actions when known.")
    system_prompt: str | None = Field(
        None, description="System prompt template with {task} (and {how}); None: agentgym's default."
    )

    @field_validator("system_prompt")
    @classmethod
    def _only_known_fields(cls, template: str | None) -> str | None:
        if template is None:
            return None
        how_to = "use only {task} and {how}, and write a literal brace as {{ or }}"
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as err:
            raise ValueError(f"system_prompt is not a template ({err}); {how_to}") from None
        if unknown := fields - {"task", "how"}:
            names = ", ".join("{" + name + "}" for name in sorted(unknown))
            raise ValueError(f"system_prompt has unknown fields {names}; {how_to}")
        return template


@dataclass(frozen=True)
class HistoryItem:
    """One past step as the prompt shows it."""

    observation: str
    response: str


@dataclass(frozen=True)
class ParsedAction:
    """The action read from a reply, or why none could be read."""

    action: str
    valid: bool
    error: str | None = None


def render_messages(
    task: str,
    history: Sequence[HistoryItem],
    observation: str,
    admissible_actions: Sequence[str] | None,
    config: PromptConfig | None = None,
) -> list[Message]:
    """The chat a model sees before acting.

    Past steps appear as user/assistant turns (the assistant turn is the model's
    own earlier reply, verbatim); with ``config.history = k`` only the last k.

    Example:
        >>> msgs = render_messages("find the key", [HistoryItem("A hall.", "<action>go north</action>")],
        ...                        "A kitchen.", ["go south", "take key"], PromptConfig(history=1))
        >>> [m.role for m in msgs]
        ['system', 'user', 'assistant', 'user']
        >>> print(msgs[-1].content)
        A kitchen.
        <BLANKLINE>
        Admissible actions: go south | take key
    """
    config = config or PromptConfig()
    template = _SYSTEM if config.system_prompt is None else config.system_prompt
    system = template.format(task=task, how=_HOW[config.action_format])
    messages = [Message(role="system", content=system)]
    shown = history if config.history is None else history[len(history) - config.history :]
    if config.history == 0:
        shown = []
    for item in shown:
        messages.append(Message(role="user", content=item.observation))
        messages.append(Message(role="assistant", content=item.response))
    content = observation
    if config.show_admissible and admissible_actions:
        content += "\n\nAdmissible actions: " + " | ".join(admissible_actions)
    messages.append(Message(role="user", content=content))
    return messages


_TAG = re.compile(r"<action>(.*?)</action>", re.DOTALL | re.IGNORECASE)


def offered_tools(
    env_tools: Sequence[dict[str, Any]] | None, config: PromptConfig
) -> list[dict[str, Any]] | None:
    """The tool schemas offered to a model: the env's own, else in ``tool`` format the ``act`` tool.

    Example:
        >>> [t["function"]["name"] for t in offered_tools(None, PromptConfig(action_format="tool"))]
        ['act']
        >>> offered_tools(None, PromptConfig()) is None
        True
    """
    if env_tools:
        return list(env_tools)
    return [ACT_TOOL] if config.action_format == "tool" else None


def parse_action(
    reply: str,
    action_format: ActionFormat = "tags",
    tool_calls: Sequence[dict[str, Any]] | None = None,
) -> ParsedAction:
    """Read the env action out of a model reply.

    - ``tags``: the text of the last ``<action>…</action>`` (stripped);
    - ``line``: the last non-empty line, after any ``</think>``;
    - ``tool``: the first OpenAI tool call (from ``tool_calls``, or a JSON object in
      the reply). A call of the generic ``act`` tool yields its ``action``
      argument; any other tool yields ``{"name": …, "arguments": …}`` as JSON, the
      form that tool-using envs (SWE) accept.

    Example:
        >>> parse_action("<think>hmm</think><action> go to sink 1 </action>")
        ParsedAction(action='go to sink 1', valid=True, error=None)
        >>> parse_action("go to sink 1").valid
        False
        >>> parse_action('{"name": "act", "arguments": {"action": "look"}}', "tool").action
        'look'
    """
    if action_format == "tags":
        found = _TAG.findall(reply)
        if not found or not found[-1].strip():
            return ParsedAction("", False, "no <action>...</action> in the reply")
        return ParsedAction(found[-1].strip(), True)
    if action_format == "line":
        text = reply.rsplit("</think>", 1)[-1]
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            return ParsedAction("", False, "the reply is empty")
        return ParsedAction(lines[-1], True)
    return _parse_tool_call(reply, tool_calls)


def _parse_tool_call(reply: str, tool_calls: Sequence[dict[str, Any]] | None) -> ParsedAction:
    call: Any
    if tool_calls:
        call = tool_calls[0].get("function", tool_calls[0])
    else:
        start, end = reply.find("{"), reply.rfind("}")
        if start < 0 or end < start:
            return ParsedAction("", False, "no tool call in the reply")
        try:
            call = json.loads(reply[start : end + 1])
        except json.JSONDecodeError as err:
            return ParsedAction("", False, f"tool call is not valid JSON: {err}")
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return ParsedAction("", False, "a tool call needs a string 'name'")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as err:
            return ParsedAction("", False, f"tool arguments are not valid JSON: {err}")
    if not isinstance(arguments, dict):
        return ParsedAction("", False, "tool arguments must be a JSON object")
    if call["name"] == "act":
        action = arguments.get("action")
        if not isinstance(action, str) or not action.strip():
            return ParsedAction("", False, "the act tool needs a non-empty string 'action'")
        return ParsedAction(action.strip(), True)
    return ParsedAction(json.dumps({"name": call["name"], "arguments": arguments}), True)


def format_action(action: str, action_format: ActionFormat = "tags") -> str:
    """The reply a model would give for ``action`` (used to write expert demonstrations).

    Example:
        >>> format_action("look")
        '<action>look</action>'
        >>> parse_action(format_action("look", "tool"), "tool").action
        'look'
    """
    if action_format == "tags":
        return f"<action>{action}</action>"
    if action_format == "line":
        return action
    try:
        call = json.loads(action)
    except json.JSONDecodeError:
        call = None
    if isinstance(call, dict) and "name" in call:
        return json.dumps(call)
    return json.dumps({"name": "act", "arguments": {"action": action}})


_TOOLS_IN_SYSTEM = (
    "You can call these tools (JSON schemas):\n{schemas}\n"
    'Call one by replying with a JSON object: {{"name": <tool name>, "arguments": <object>}}.'
)


def apply_chat_template(
    tokenizer: Any,
    messages: Sequence[Message] | Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]] | None = None,
) -> list[int]:
    """Token ids of ``messages`` under the tokenizer's chat template, ready for the reply.

    ``tools`` go to the template when it renders them; a template that never reads
    ``tools`` (SmolLM2's, the tiny model's) would drop them silently, so they are
    written into the system message instead (see :func:`tools_in_system`).
    """
    chat = [m.model_dump(exclude_none=True) if isinstance(m, Message) else dict(m) for m in messages]
    kwargs: dict[str, Any] = {}
    if tools and "tools" in (tokenizer.chat_template or ""):
        kwargs["tools"] = list(tools)
    elif tools:
        chat = tools_in_system(chat, tools)
    ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True, **kwargs)
    if isinstance(ids, dict) or hasattr(ids, "input_ids"):
        ids = ids["input_ids"]
    return list(ids)


def tools_in_system(chat: list[dict[str, Any]], tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``chat`` with the tool schemas appended to its system message (one is added if it has none).

    Example:
        >>> chat = tools_in_system([{"role": "user", "content": "hi"}], [ACT_TOOL])
        >>> [m["role"] for m in chat], '"name": "act"' in chat[0]["content"]
        (['system', 'user'], True)
    """
    text = _TOOLS_IN_SYSTEM.format(schemas="\n".join(json.dumps(t) for t in tools))
    if chat and chat[0]["role"] == "system":
        return [{**chat[0], "content": f"{chat[0]['content']}\n\n{text}"}, *chat[1:]]
    return [{"role": "system", "content": text}, *chat]
