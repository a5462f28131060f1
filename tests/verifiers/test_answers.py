from __future__ import annotations

import pytest

from aco.verifiers.answers import choice, code_form, code_text, forms, kind_of, options, similarity, text_form

PROMPT = ("Which gas do plants take in?\nA) Oxygen\nB) Nitrogen\nAnswer:\nB\n\n"
          "Who is more likely to live in a colder climate?\nA) Kyle\nB) Logan\nAnswer:")


def test_options_are_the_last_question_s() -> None:
    assert options(PROMPT) == {"A": "Kyle", "B": "Logan"}


@pytest.mark.parametrize(("answer", "picked"), [
    ("B", "B"), ("B\n", "B"), ("A)", "A"), ("(C) because", "C"), ("The answer is D.", "D"), ("Logan", "B"),
    ("kyle", "A"), ("I do not know", None), ("", None), ("Unfortunately I cannot answer", None)])
def test_choice_reads_letters_and_option_names(answer: str, picked: str | None) -> None:
    assert choice(answer, PROMPT) == picked


CODE_A = '''Here is a function:

```python
def remove_elements(list1, list2):
    """Remove list2's elements from list1."""
    return [x for x in list1 if x not in list2]
```

Usage:

```python
print(remove_elements([1, 2], [2]))  # [1]
```
'''
CODE_B = '''[PYTHON]
def drop(a, b):
    return [item for item in a if item not in b]
[/PYTHON]
[TESTS]
assert drop([1], []) == [1]
'''
CODE_C = "def count(s):\n    n = 0\n    for ch in s:\n        n += 1\n    return n\n\nThis counts the"


def test_code_form_is_the_program_up_to_names_docstrings_and_usage() -> None:
    assert code_text(CODE_A).startswith("def remove_elements")  # the first block that defines, not the usage
    assert code_form(CODE_A) == code_form(CODE_B)  # the same program with other names
    assert "len" not in (code_form(CODE_A) or "") and "v0" in (code_form(CODE_A) or "")
    assert code_form(CODE_C) is not None  # trailing prose is dropped until it parses
    assert code_form("Sorry, I cannot write that.") is None
    assert code_form("```python\nprint(1)\n```") is None  # no definition: not an answer


def test_similarity_is_symmetric_and_graded() -> None:
    a, c = code_form(CODE_A), code_form(CODE_C)
    assert similarity(a, a) == 1.0 and similarity(a, None) == 0.0
    assert similarity(a, c) == similarity(c, a) and 0.0 < similarity(a, c) < 1.0


def test_kinds() -> None:
    assert kind_of(PROMPT, ["A"]) == "choice"
    assert kind_of("Write a function", [CODE_A]) == "code"
    assert kind_of("What is the capital of France?", ["Paris."]) == "text"
    assert forms(["Paris.", "paris"], "auto", "capital?") == [text_form("Paris."), text_form("paris")] == ["paris"] * 2
    with pytest.raises(ValueError, match="unknown answer kind"):
        forms(["x"], "vote")
