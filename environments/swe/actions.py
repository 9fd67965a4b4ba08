"""The agent's tools: their OpenAI schemas, and parsing an action into a tool call.

An action is either a JSON object in OpenAI's function-call shape,
``{"name": "edit", "arguments": {"path": "a.py", "old_str": "x", "new_str": "y"}}``
(``arguments`` may also be a JSON-encoded string, as the OpenAI API sends it),
or the text form, where the first word names the tool::

    bash ls -la                 (the rest, over any number of lines, is the command)
    view src/app.py 10:40       (a line range; ``view PATH`` shows the whole file)
    create src/new.py           (the lines after the first are the content)
    <content>
    submit

and ``edit PATH`` is followed, on the next lines, by one search/replace block:
a line ``<<<<<<< SEARCH``, the old text, a line ``=======``, the new text and a
line ``>>>>>>> REPLACE``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ToolName = Literal["bash", "view", "edit", "create", "submit"]


class BashArgs(BaseModel):
    """Run a shell command in the repository (the shell persists between calls)."""

    model_config = ConfigDict(extra="forbid")
    command: str = Field(min_length=1, description="The command, run by bash in the repository.")


class ViewArgs(BaseModel):
    """Show a file with line numbers, or list a folder."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, description="File or folder, relative to the repository root.")
    start_line: int | None = Field(None, ge=1, description="First line to show (1-based).")
    end_line: int | None = Field(None, ge=1, description="Last line to show, inclusive.")


class EditArgs(BaseModel):
    """Replace the one occurrence of ``old_str`` in a file by ``new_str``."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, description="File to edit, relative to the repository root.")
    old_str: str = Field(min_length=1, description="Exact text to replace; must occur exactly once.")
    new_str: str = Field(description="Replacement text.")


class CreateArgs(BaseModel):
    """Create a new file with the given content."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, description="New file, relative to the repository root.")
    content: str = Field(description="The whole content of the file.")


class SubmitArgs(BaseModel):
    """Finish: your changes to the repository are graded by its tests."""

    model_config = ConfigDict(extra="forbid")


ARGS: dict[str, type[BaseModel]] = {
    "bash": BashArgs,
    "view": ViewArgs,
    "edit": EditArgs,
    "create": CreateArgs,
    "submit": SubmitArgs,
}


class ToolCall(BaseModel):
    """One parsed action."""

    model_config = ConfigDict(extra="forbid")
    name: ToolName
    arguments: dict[str, Any]

    def to_json(self) -> str:
        """The action in JSON form.

        Example:
            >>> ToolCall(name="bash", arguments={"command": "ls"}).to_json()
            '{"name": "bash", "arguments": {"command": "ls"}}'
        """
        return json.dumps({"name": self.name, "arguments": self.arguments})


def tool_schemas() -> list[dict[str, Any]]:
    """The tools in OpenAI's ``tools`` format (what ``SWEEnv.tools`` publishes).

    Example:
        >>> [t["function"]["name"] for t in tool_schemas()]
        ['bash', 'view', 'edit', 'create', 'submit']
    """
    tools = []
    for name, model in ARGS.items():
        schema = model.model_json_schema()
        properties = {
            key: {k: v for k, v in prop.items() if k in ("type", "description", "minimum")}
            for key, prop in schema.get("properties", {}).items()
        }
        for key, prop in properties.items():
            if "type" not in prop:
                prop["type"] = "integer"
                if key not in schema.get("required", []):
                    prop["description"] += " Optional."
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": (model.__doc__ or "").strip(),
                    "parameters": {
                        "type": "object",
                        "properties": properties,
                        "required": schema.get("required", []),
                    },
                },
            }
        )
    return tools


class ParseError(ValueError):
    """An action that is not a valid tool call; the message is shown to the agent."""


_USAGE = (
    'Send one tool call, as JSON {"name": TOOL, "arguments": {...}} or in text form '
    "(e.g. `bash ls`, `view PATH 1:50`, `edit PATH` + a SEARCH/REPLACE block, "
    "`create PATH` + content, `submit`). Tools: bash, view, edit, create, submit."
)
_BLOCK = re.compile(r"^<<<<<<< SEARCH\n(?P<old>.*?)\n?=======\n(?P<new>.*?)\n?>>>>>>> REPLACE\s*$", re.DOTALL)
_RANGE = re.compile(r"^(\d+)?\s*[:-]\s*(-?\d+)?$|^(\d+)$")


def parse_action(action: str) -> ToolCall:
    """Read a tool call from an action in JSON or text form.

    Raises:
        ParseError: with a message for the agent that says what was wrong.

    Example:
        >>> call = '{"name": "view", "arguments": "{\\\\"path\\\\": \\\\"a.py\\\\"}"}'
        >>> parse_action(call).arguments
        {'path': 'a.py'}
        >>> parse_action("view a.py 3:5").arguments
        {'path': 'a.py', 'start_line': 3, 'end_line': 5}
        >>> block = "<<<<<<< SEARCH\\nx = 1\\n=======\\nx = 2\\n>>>>>>> REPLACE"
        >>> parse_action("edit a.py\\n" + block).arguments
        {'path': 'a.py', 'old_str': 'x = 1', 'new_str': 'x = 2'}
        >>> parse_action("look")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ParseError: unknown tool 'look'. Send one tool call, ...
    """
    text = action.lstrip()
    if not text.strip():
        raise ParseError(f"the action is empty. {_USAGE}")
    if text.startswith("{"):
        name, arguments = _from_json(text.rstrip())
    else:
        name, arguments = _from_text(text)
    model = ARGS.get(name)
    if model is None:
        raise ParseError(f"unknown tool {name[:40]!r}. {_USAGE}")
    try:
        args = model.model_validate(arguments)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        raise ParseError(f"bad arguments for {name}: {where}: {first['msg']}") from None
    return ToolCall(name=name, arguments=args.model_dump(exclude_none=True))  # type: ignore[arg-type]


def _from_json(text: str) -> tuple[str, Any]:
    try:
        call = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(f"the tool call is not valid JSON ({err}). {_USAGE}") from None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise ParseError(f'a JSON tool call is an object with a string "name". {_USAGE}')
    extra = set(call) - {"name", "arguments"}
    if extra:
        raise ParseError(f"unexpected keys {sorted(extra)} in the tool call. {_USAGE}")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as err:
            raise ParseError(f"the arguments string is not valid JSON ({err})") from None
    if not isinstance(arguments, dict):
        raise ParseError('"arguments" must be a JSON object')
    return call["name"], arguments


def _from_text(text: str) -> tuple[str, dict[str, Any]]:
    head, _, body = text.partition("\n")
    name, _, rest = head.strip().partition(" ")
    rest = rest.strip()
    if name == "bash":
        return name, {"command": "\n".join(p for p in (rest, body) if p)}
    if name == "submit":
        if rest or body.strip():
            raise ParseError("submit takes no arguments")
        return name, {}
    if name == "view":
        path, _, span = rest.partition(" ")
        return name, {"path": path, **_line_range(span.strip())}
    if name == "create":
        return name, {"path": rest, "content": body}
    if name == "edit":
        match = _BLOCK.match(body.strip("\n"))
        if not match:
            raise ParseError(
                "edit needs the path on its first line, then one block: a line "
                "`<<<<<<< SEARCH`, the old text, `=======`, the new text, `>>>>>>> REPLACE`"
            )
        return name, {"path": rest, "old_str": match["old"], "new_str": match["new"]}
    return name, {}


def _line_range(span: str) -> dict[str, int]:
    if not span:
        return {}
    match = _RANGE.match(span)
    if not match:
        raise ParseError(f"bad line range {span[:40]!r}; write START:END, e.g. `view a.py 10:40`")
    if match.group(3):
        return {"start_line": int(match.group(3))}
    out = {}
    if match.group(1):
        out["start_line"] = int(match.group(1))
    if match.group(2) and int(match.group(2)) > 0:
        out["end_line"] = int(match.group(2))
    return out
