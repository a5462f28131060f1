"""Answers in comparable form: the choice a multiple-choice answer picks, and a normalised form of a code answer.

- `choice(answer, prompt)`: the option letter an answer gives (a leading `A`, `(B)`, `C)`, `answer: D`), or the
  option whose text the answer names ("Rachel" for `A) Rachel`), read from the prompt's last question; None when
  the answer picks nothing (a refusal, an empty answer).
- `code_form(answer)`: the code of an answer (a fenced block, `[PYTHON]...[/PYTHON]`, else the lines from the first
  `def`/`import`), parsed with `ast`, docstrings and comments dropped, every name it defines (functions,
  arguments, variables) renamed in order of first appearance, unparsed again; None when there is no parseable code.
- `similarity(a, b)`: how alike two normalised forms are (1 = the same program up to names and formatting).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import keyword
import re
import tokenize
import warnings
from collections.abc import Sequence
from functools import lru_cache

_LEADING = re.compile(r"^\W{0,3}([A-E])(?:$|[\s).:,\]]|\()", re.S)
_ANSWER_IS = re.compile(r"\banswer\s*(?:is)?\s*[:\-]?\s*\(?([A-E])\b", re.I)
_OPTION = re.compile(r"^\s*\(?([A-E])\)\s*(.+?)\s*$", re.M)
_FENCE = re.compile(r"```[ \t]*(?:python3|python|py|Python)?[ \t]*\r?\n(.*?)(?:```|\Z)", re.S)
_TAGGED = re.compile(r"\[PYTHON\](.*?)(?:\[/PYTHON\]|\Z)", re.S)
_CODE_START = re.compile(r"^(?:def |class |import |from \S+ import )", re.M)
_BUILTINS = frozenset(dir(builtins))
_WORD = re.compile(r"\w+")


def options(prompt: str) -> dict[str, str]:
    """The options (letter -> text) of the prompt's last question (few-shot prompts hold several)."""
    found: dict[str, str] = {}
    for letter, text in _OPTION.findall(prompt):
        if letter == "A":
            found = {}  # a new question starts: keep only the last one's options
        found[letter] = text
    return found


def choice(answer: str, prompt: str = "") -> str | None:
    """The option letter `answer` picks, or None when it picks none: an answer that is one option's text (or starts
    with it) picks that option, else a leading letter (`B`, `(B)`, `B)`) or `answer is B` does."""
    text = answer.strip()
    if not text:
        return None
    lowered = " ".join(_WORD.findall(text.lower()))
    named = [letter for letter, option in options(prompt).items()
             if (words := " ".join(_WORD.findall(option.lower())))
             and (lowered == words or lowered.startswith(words + " "))]
    if len(named) == 1:
        return named[0]
    match = _LEADING.match(text) or _ANSWER_IS.search(text)
    return match.group(1).upper() if match else None


def code_text(answer: str) -> str:
    """The code part of an answer: its first fenced or tagged block that defines something (else its longest
    block), else the text from the first def/import."""
    blocks = [b for b in _FENCE.findall(answer) + _TAGGED.findall(answer) if b.strip()]
    defining = [b for b in blocks if _CODE_START.search(b)]
    if defining:
        return str(defining[0])
    if blocks:
        return str(max(blocks, key=len))
    start = _CODE_START.search(answer)
    return answer[start.start():] if start else ""


def _parse(code: str) -> ast.Module | None:
    """The module of `code`, dropping trailing lines until it parses (answers are often cut or followed by prose)."""
    lines = code.replace("\r\n", "\n").expandtabs(4).split("\n")
    with warnings.catch_warnings():  # an answer's invalid escape sequences are its own business
        warnings.simplefilter("ignore")
        for end in range(len(lines), 0, -1):
            try:
                return ast.parse("\n".join(lines[:end]))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
    return None


class _Renamer(ast.NodeTransformer):
    """Names an answer defines become v0, v1, ... in order of first appearance; builtins and attributes stay."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        if name in _BUILTINS or keyword.iskeyword(name):
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._name(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # the docstring
        self.generic_visit(node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._name(node.arg)
        node.annotation = None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._name(node.id)
        return node


@lru_cache(maxsize=65536)
def code_form(answer: str) -> str | None:
    """The normalised code of an answer (see the module docstring), or None when it has none."""
    module = _parse(code_text(answer))
    if module is None:
        return None
    kept: list[ast.stmt] = [node for node in module.body
                            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom)]
    if not any(isinstance(node, ast.FunctionDef | ast.ClassDef) for node in kept):
        return None  # example calls, prints and tests are not the answer
    module.body = kept
    try:
        return ast.unparse(_Renamer().visit(module))
    except (ValueError, RecursionError):
        return None


def _tokens(form: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(form).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.ENDMARKER, tokenize.COMMENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return form.split()


def similarity(a: str | None, b: str | None) -> float:
    """Token-sequence similarity in [0, 1] of two normalised forms (0 when either is missing; symmetric)."""
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    return _ratio(*sorted((a, b)))


@lru_cache(maxsize=262144)
def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _tokens(a), _tokens(b), autojunk=False).ratio()


def forms(answers: Sequence[str], kind: str, prompt: str = "") -> list[str | None]:
    """Each answer in comparable form: `choice` (an option letter), `code` (the normalised code) or `text` (its
    words); `auto` picks the kind with `kind_of`."""
    if kind == "auto":
        kind = kind_of(prompt, answers)
    if kind == "choice":
        return [choice(a, prompt) for a in answers]
    if kind == "code":
        return [code_form(a) for a in answers]
    if kind == "text":
        return [text_form(a) for a in answers]
    raise ValueError(f"unknown answer kind {kind!r}: use one of {', '.join(KINDS)}")


KINDS = ("auto", "choice", "code", "text")


def check_kind(kind: str) -> str:
    """`kind` if it is one of KINDS, else a ValueError naming them."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def text_form(answer: str) -> str | None:
    """Lower-case words of a prose answer (None when it has none)."""
    words = _WORD.findall(answer.lower())
    return " ".join(words) if words else None


def kind_of(prompt: str, answers: Sequence[str]) -> str:
    """`choice` when the prompt's last question has options, `code` when an answer holds code, else `text`."""
    if len(options(prompt)) >= 2:
        return "choice"
    return "code" if any(code_form(a) is not None for a in answers) else "text"
