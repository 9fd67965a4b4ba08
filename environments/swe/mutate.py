"""AST mutations that inject one small, realistic bug into Python source.

:func:`find_mutations` lists every place an operator applies; each
:class:`Mutation` replaces one span of the source text (found from the AST's
positions), so the rest of the file, comments and formatting included, is
untouched and the diff is a line or two. Operators:

- ``flip_comparison``: ``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``is`` ↔ ``is not``,
  ``in`` ↔ ``not in``;
- ``off_by_one``: the bounds of ``range(...)`` and of slices moved by one;
- ``swap_arguments``: two adjacent positional arguments of a call swapped;
- ``negate_condition``: the test of ``if``/``elif``/``while``/a conditional
  expression/a comprehension filter negated;
- ``change_constant``: an integer moved by one, ``True`` ↔ ``False``;
- ``delete_statement``: an expression, assignment, ``raise`` or ``del`` statement
  inside a function replaced by ``pass``;
- ``wrong_return``: ``return X`` returns ``None`` (or the other boolean).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from itertools import pairwise

OPERATORS = (
    "flip_comparison",
    "off_by_one",
    "swap_arguments",
    "negate_condition",
    "change_constant",
    "delete_statement",
    "wrong_return",
)

_FLIP = {
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "is not": "is",
    "is": "is not",
    "not in": "in",
    "in": "not in",
}
_OP_TEXT = re.compile(r"(is\s+not|not\s+in|<=|>=|==|!=|<|>|\bis\b|\bin\b)")
_ATOMIC = (
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.Subscript,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
)


@dataclass(frozen=True)
class Mutation:
    """One edit of a source file: replace the text between two positions.

    Positions are (line, column) with 1-based lines and 0-based character columns.
    """

    path: str
    operator: str
    start: tuple[int, int]
    end: tuple[int, int]
    replacement: str
    description: str
    scope: tuple[int, int] = (0, 0)
    """First and last line of the top-level statement that holds the mutation."""

    @property
    def line(self) -> int:
        """The first line the mutation touches."""
        return self.start[0]


class _Source:
    """Source text with conversions from the AST's byte offsets to character offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)

    def col(self, line: int, byte_col: int) -> int:
        return len(self.lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def start(self, node: ast.AST) -> tuple[int, int]:
        return node.lineno, self.col(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> tuple[int, int]:
        return node.end_lineno, self.col(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, start: tuple[int, int], end: tuple[int, int]) -> str:
        if start[0] == end[0]:
            return self.lines[start[0] - 1][start[1] : end[1]]
        parts = [self.lines[start[0] - 1][start[1] :], *self.lines[start[0] : end[0] - 1]]
        return "".join([*parts, self.lines[end[0] - 1][: end[1]]])

    def of(self, node: ast.AST) -> str:
        return self.segment(self.start(node), self.end(node))


def apply_mutation(source: str, mutation: Mutation) -> str:
    """The source with the mutation's span replaced.

    Example:
        >>> src = "def f(a, b):\\n    return a < b\\n"
        >>> m = [m for m in find_mutations(src, "f.py") if m.operator == "flip_comparison"][0]
        >>> print(apply_mutation(src, m), end="")
        def f(a, b):
            return a <= b
    """
    lines = source.splitlines(keepends=True)
    (l1, c1), (l2, c2) = mutation.start, mutation.end
    head = "".join(lines[: l1 - 1]) + lines[l1 - 1][:c1]
    tail = lines[l2 - 1][c2:] + "".join(lines[l2:])
    return head + mutation.replacement + tail


def find_mutations(source: str, path: str) -> list[Mutation]:
    """Every candidate mutation of ``source``, in source order.

    Candidates are cheap to list; :func:`mutant` applies one and checks that the
    result parses and differs from the original. Code under ``if __name__ ==
    "__main__"`` and ``if TYPE_CHECKING`` and docstrings are left alone.

    Example:
        >>> src = "def f(xs):\\n    n = 1\\n    if xs:\\n        return xs[n:]\\n    return 0\\n"
        >>> sorted({m.operator for m in find_mutations(src, "f.py")})
        ['change_constant', 'delete_statement', 'negate_condition', 'off_by_one', 'wrong_return']
    """
    tree = ast.parse(source)
    finder = _Finder(_Source(source), path)
    finder.alone = {
        id(body[0])
        for node in ast.walk(tree)
        for body in (getattr(node, field, None) for field in ("body", "orelse", "finalbody"))
        if isinstance(body, list) and len(body) == 1
    }
    finder.visit(tree)
    return sorted(set(finder.found), key=lambda m: (m.start, m.end, m.operator, m.replacement))


def mutant(source: str, mutation: Mutation) -> str | None:
    """The mutated source, or None when it does not parse or means the same as the original.

    Only the top-level statement holding the mutation is parsed again, so
    checking a mutant of a 5,000-line module costs what its function costs.

    Example:
        >>> src = "x = (1)\\n"
        >>> m = Mutation("x.py", "change_constant", (1, 4), (1, 7), "(1)", "no-op", (1, 1))
        >>> mutant(src, m) is None
        True
    """
    lines = source.splitlines(keepends=True)
    first, last = mutation.scope if mutation.scope != (0, 0) else (1, len(lines))
    before = "".join(lines[first - 1 : last])
    shifted = replace(
        mutation,
        start=(mutation.start[0] - first + 1, mutation.start[1]),
        end=(mutation.end[0] - first + 1, mutation.end[1]),
    )
    after = apply_mutation(before, shifted)
    try:
        if ast.dump(ast.parse(after)) == ast.dump(ast.parse(before)):
            return None
    except SyntaxError:
        return None
    return apply_mutation(source, mutation)


class _Finder(ast.NodeVisitor):
    def __init__(self, src: _Source, path: str) -> None:
        self.src = src
        self.path = path
        self.found: list[Mutation] = []
        self.in_function = 0
        self.scope = (0, 0)
        self.alone: set[int] = set()

    def add(
        self,
        operator: str,
        start: tuple[int, int],
        end: tuple[int, int],
        text: str,
        description: str,
    ) -> None:
        self.found.append(Mutation(self.path, operator, start, end, text, description, self.scope))

    def replace(self, operator: str, node: ast.AST, text: str, description: str) -> None:
        self.add(operator, self.src.start(node), self.src.end(node), text, description)

    # -- scopes that stay untouched ----------------------------------------------

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in ("__name__ == '__main__'", "TYPE_CHECKING", "typing.TYPE_CHECKING"):
            return
        self.negate(node.test)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.in_function += 1
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.visit_body(node.body)
        self.in_function -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.visit_body(node.body)

    def visit_body(self, body: list[ast.stmt]) -> None:
        start = 1 if body and _is_docstring(body[0]) else 0
        for stmt in body[start:]:
            self.visit(stmt)

    def visit_Module(self, node: ast.Module) -> None:
        start = 1 if node.body and _is_docstring(node.body[0]) else 0
        for stmt in node.body[start:]:
            decorators = getattr(stmt, "decorator_list", [])
            self.scope = (min([stmt.lineno, *(d.lineno for d in decorators)]), stmt.end_lineno or 0)
            self.visit(stmt)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.delete(node)

    # -- operators -----------------------------------------------------------------

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for left, right in pairwise(operands):
            gap_start, gap_end = self.src.end(left), self.src.start(right)
            gap = self.src.segment(gap_start, gap_end)
            match = _OP_TEXT.search(gap)
            if match is None:
                continue
            op = re.sub(r"\s+", " ", match.group(1))
            new_gap = gap[: match.start()] + _FLIP[op] + gap[match.end() :]
            self.add("flip_comparison", gap_start, gap_end, new_gap, f"`{op}` -> `{_FLIP[op]}`")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        args = node.args
        if isinstance(node.func, ast.Name) and node.func.id == "range" and 1 <= len(args) <= 3:
            bounds = args[:2] if len(args) > 1 else args[:1]
            for arg in bounds:
                self.shift(arg, +1)
            self.shift(bounds[-1], -1)
        positional = [a for a in args if not isinstance(a, ast.Starred)]
        if len(positional) == len(args):
            for a, b in pairwise(args):
                text_a, text_b = self.src.of(a), self.src.of(b)
                if text_a != text_b and "\n" not in text_a + text_b:
                    between = self.src.segment(self.src.end(a), self.src.start(b))
                    self.add(
                        "swap_arguments",
                        self.src.start(a),
                        self.src.end(b),
                        text_b + between + text_a,
                        f"swapped `{text_a}` and `{text_b}`",
                    )
        self.generic_visit(node)

    def visit_Slice(self, node: ast.Slice) -> None:
        if node.lower is not None:
            self.shift(node.lower, +1)
        if node.upper is not None:
            self.shift(node.upper, +1)
            self.shift(node.upper, -1)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self.negate(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.negate(node.test)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for cond in node.ifs:
            self.negate(cond)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self.replace("change_constant", node, str(not value), f"`{value}` -> `{not value}`")
        elif isinstance(value, int) and "\n" not in self.src.of(node):
            self.replace("change_constant", node, str(value + 1), f"`{value}` -> `{value + 1}`")

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                new = str(not value.value)
            else:
                new = "None"
            self.replace("wrong_return", value, new, f"return `{new}` instead of the result")
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not isinstance(node.value, ast.Constant):
            self.delete(node)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.delete(node)
        self.generic_visit(node)

    visit_AugAssign = visit_Raise = visit_Delete = visit_Assign

    # -- helpers -------------------------------------------------------------------

    def shift(self, node: ast.expr, delta: int) -> None:
        """Move an index expression by ``delta`` (an integer constant changes in place)."""
        text = self.src.of(node)
        if "\n" in text:
            return
        value = _int_value(node)
        if value is not None:
            new = str(value + delta)
        else:
            inner = text if isinstance(node, _ATOMIC) else f"({text})"
            new = f"{inner} {'+' if delta > 0 else '-'} 1"
        self.replace("off_by_one", node, new, f"`{text}` -> `{new}`")

    def negate(self, test: ast.expr) -> None:
        text = self.src.of(test)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            new = self.src.of(test.operand)
        elif isinstance(test, (*_ATOMIC, ast.Compare)):
            new = f"not {text}"
        else:
            new = f"not ({text})"
        if "\n" not in text:
            self.replace("negate_condition", test, new, f"`{text}` -> `{new}`")

    def delete(self, stmt: ast.stmt) -> None:
        """Remove a whole-line statement inside a function (``pass`` when it is alone)."""
        if not self.in_function or _is_docstring(stmt):
            return
        start, end = self.src.start(stmt), self.src.end(stmt)
        first = self.src.lines[start[0] - 1]
        last = self.src.lines[end[0] - 1]
        rest = last[end[1] :].strip()
        if first[: start[1]].strip() or (rest and not rest.startswith("#")):
            return
        description = f"deleted `{self.src.of(stmt).strip()}`"
        if id(stmt) in self.alone:
            self.add("delete_statement", start, end, "pass", description)
        elif end[0] < len(self.src.lines):
            self.add("delete_statement", (start[0], 0), (end[0] + 1, 0), "", description)
        else:
            self.add("delete_statement", (start[0], 0), (end[0], len(last)), "", description)


def _int_value(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
