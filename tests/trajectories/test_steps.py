from __future__ import annotations

import numpy as np
import pytest

from aco.trajectories.steps import StepPolicy, action_paths, classify_step, switches


@pytest.mark.parametrize(("action", "kind"), [
    ('find /testbed -name "*.py" | grep separable', "search"),
    ("grep -rn 'def foo' src/", "search"),
    ("str_replace_editor view /testbed/astropy/modeling/core.py", "read"),
    ("sed -n '240,260p' astropy/modeling/separable.py", "read"),
    ("cat astropy/modeling/separable.py", "read"),
    ("str_replace_editor str_replace /testbed/a.py --old_str x --new_str y", "edit"),
    ("cat <<'EOF' > reproduce.py\nprint(1)\nEOF", "edit"),
    ("sed -i 's/a/b/' src/x.py", "edit"),
    ("python -m pytest tests/test_x.py -q", "test"),
    ("python reproduce.py", "test"),
    ("submit", "verify"),
    ("git diff", "verify"),
    ("", "plan"),
    ("echo thinking", "plan"),
])
def test_classify_step(action: str, kind: str) -> None:
    assert classify_step(action) == kind


def test_action_paths_finds_files() -> None:
    assert "astropy/modeling/core.py" in " ".join(action_paths("cat astropy/modeling/core.py"))


def test_sticky_policy_holds_the_strong_model_inside_a_tool_loop() -> None:
    kinds = ["search", "edit", "read", "test", "read", "search"]
    actions = ["ls", "sed -i s/a/b/ x.py", "cat x.py", "pytest", "cat y.py", "ls"]
    bare = StepPolicy(sticky_turns=0).route(kinds, actions)
    sticky = StepPolicy(sticky_turns=2).route(kinds, actions)
    np.testing.assert_array_equal(bare, [False, True, False, False, False, False])
    np.testing.assert_array_equal(sticky, [False, True, True, True, False, False])
    assert switches(sticky) == 2


def test_protected_only_policy_sends_other_edits_cheap() -> None:
    policy = StepPolicy(strong_for_all_edits=False, sticky_turns=0)
    assert policy.wants_strong("edit", "sed -i s/a/b/ django/core/handlers.py")
    assert not policy.wants_strong("edit", "sed -i s/a/b/ docs/index.py")
    assert not policy.wants_strong("read", "cat django/core/handlers.py")


def test_step_is_the_rule_route_applies() -> None:
    policy = StepPolicy(sticky_turns=2)
    kinds = ["read", "edit", "read", "search", "read", "edit"]
    actions = ["cat a.py", "sed -i s/x/y/ a.py", "cat a.py", "grep x", "cat b.py", "sed -i s/1/2/ b.py"]
    hold, live = 0, []
    for kind, action in zip(kinds, actions, strict=True):
        strong, hold = policy.step(kind, action, hold)
        live.append(strong)
    assert live == policy.route(kinds, actions).tolist() == [False, True, True, True, False, True]
