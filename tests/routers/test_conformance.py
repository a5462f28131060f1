"""One conformance suite for EVERY registered router, on small slices of real data.

Routers registered later are picked up automatically: the spec is built from the class alone (its
`spec_arg`, if any, gets a model name, a peer name, or the first candidate that fits this table).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aco.controllers.base import RouterController, replay_controller
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError, NotFittedError
from aco.routers.base import Router, Routing
from aco.routers.decision import context_from_row
from aco.routers.peers import peer_names
from aco.routers.registry import available, make_router

SLICES = {"coderouterbench": 300, "swebench-verified": 200}  # tasks per real slice
PREFERRED_PEER = "acrouter_released"
ROUTER_NAMES = sorted(available())


@dataclass(frozen=True)
class Fitted:
    """One fit of a case, shared by the checks (fitting is the slow part)."""

    router: Router
    returned: Router
    before: frozenset[str]
    after_fit: frozenset[str]
    routing: Routing


@dataclass
class Case:
    """A router spec and the real slice it runs on: fit on `train`, route `test` (the fit is cached)."""

    spec: str
    train: OutcomeTable
    test: OutcomeTable
    _fitted: Fitted | None = None
    _refitted: Router | None = None

    def refitted(self) -> Router:
        """A second, independent fit (with another knob value where there is a knob); restore the knob to use."""
        if self._refitted is None:
            router = make_router(self.spec)
            knob_params = {router.knob: _other_knob_values(router)[0]} if router.knob else {}
            self._refitted = make_router(self.spec, **knob_params).fit(self.train)
        return self._refitted

    def fitted(self) -> Fitted:
        if self._fitted is None:
            router = make_router(self.spec)
            before = frozenset(vars(router))
            returned = router.fit(self.train)
            after_fit = frozenset(vars(router))
            self._fitted = Fitted(router, returned, before, after_fit, router.route_table(self.test))
        return self._fitted


def _slice(table: OutcomeTable, n_tasks: int) -> tuple[OutcomeTable, OutcomeTable]:
    """n tasks spread evenly over the table (several categories), split 2/3 train, 1/3 test."""
    rows = np.linspace(0, table.n_tasks - 1, min(n_tasks, table.n_tasks)).astype(int)
    cut = 2 * len(rows) // 3
    return table.subset(rows[:cut]), table.subset(rows[cut:])


@pytest.fixture(scope="module")
def slices(data_dir: Path) -> dict[str, tuple[OutcomeTable, OutcomeTable]]:
    from aco.datasets.registry import load_dataset

    return {name: _slice(load_dataset(name, data_dir), n) for name, n in SLICES.items()}


def _works(spec: str, train: OutcomeTable, test: OutcomeTable) -> str | None:
    """None when `spec` builds, fits and routes on this slice, else the error."""
    try:
        make_router(spec).fit(train).route_table(test)
    except (AcoError, KeyError, ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def build_spec(name: str, train: OutcomeTable, test: OutcomeTable) -> str:
    """A valid spec for router `name` on this slice, or pytest.skip when no argument fits it."""
    cls = available()[name]
    arg: str | None = getattr(cls, "spec_arg", None)
    if arg is None or not getattr(cls, "spec_arg_required", False):
        return name
    peers = peer_names(train)
    if arg == "model":
        return f"{name}:{train.model_names[0]}"
    if arg == "peer":
        if not peers:
            pytest.skip(f"{name}: {train.name} carries no published peer decisions")
        return f"{name}:{PREFERRED_PEER if PREFERRED_PEER in peers else peers[0]}"
    errors = []
    for candidate in [*train.model_names, *peers]:
        error = _works(f"{name}:{candidate}", train, test)
        if error is None:
            return f"{name}:{candidate}"
        errors.append(error)
    pytest.skip(f"{name}: no model or peer name of {train.name} is a valid <{arg}> (last error: "
                f"{errors[-1] if errors else 'no candidates'})")


@pytest.fixture(scope="module")
def cases() -> dict[tuple[str, str], Case]:
    return {}


@pytest.fixture(params=[(n, d) for d in SLICES for n in ROUTER_NAMES], ids=lambda p: f"{p[0]}@{p[1]}")
def case(request: pytest.FixtureRequest, slices: dict[str, tuple[OutcomeTable, OutcomeTable]],
         cases: dict[tuple[str, str], Case]) -> Case:
    name, dataset = request.param
    if (name, dataset) not in cases:
        train, test = slices[dataset]
        unmet = [why for r in available()[name].requires if (why := train.lacks(r)) is not None]
        if unmet:
            pytest.skip(f"{name} {unmet[0]} (its own tests run it on such a table)")
        cases[name, dataset] = Case(build_spec(name, train, test), train, test)
    return cases[name, dataset]


def _fitted_attrs(router: Router) -> dict[str, Any]:
    return {k: v for k, v in vars(router).items() if k.endswith("_") and k != "spec_"}


def _same(a: Any, b: Any) -> bool:
    """Deep equality of plain fitted state (arrays, containers, scalars); opaque objects count as equal."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float | str | bool | type(None)):
        return a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))
    return True


def test_params_round_trip(case: Case) -> None:
    router = make_router(case.spec)
    params = router.get_params()
    clone = router.clone()
    assert type(clone) is type(router) and clone is not router
    assert _same(clone.get_params(), params)
    assert router.set_params(**params) is router
    with pytest.raises(ValueError, match="no parameter"):
        router.set_params(no_such_parameter_xyz=1)


def test_init_stores_params_only(case: Case) -> None:
    router = make_router(case.spec)
    stored = set(vars(router)) - {"spec_"}
    assert stored <= set(router.get_params()), f"__init__ stores non-parameters: {stored - set(router.get_params())}"
    assert not _fitted_attrs(router)


def test_fit_returns_self_and_fitted_state_ends_in_underscore(case: Case) -> None:
    fitted = case.fitted()
    assert fitted.returned is fitted.router
    new = fitted.after_fit - fitted.before
    assert new and all(k.endswith("_") for k in new), f"fitted attributes without a trailing _: {new}"


def _check_routing(routing: Routing, test: OutcomeTable) -> None:
    n, m = test.n_tasks, test.n_models
    idx = routing.model_idx
    assert idx.shape == (n,) and np.issubdtype(idx.dtype, np.integer)
    assert ((idx >= 0) & (idx < m)).all()
    paid = routing.paid(m)
    ran = np.ones(n, dtype=bool) if routing.abstain is None else ~np.asarray(routing.abstain, dtype=bool)
    assert paid.shape == (n, m) and paid[np.arange(n), idx][ran].all()
    assert not paid[~ran].any() or routing.attempts is not None  # abstaining runs nothing unless attempted
    if routing.attempts is not None:
        assert np.asarray(routing.attempts).shape == (n, m)
    if routing.propensity is not None:
        p = np.asarray(routing.propensity, dtype=float)
        assert p.shape == (n,) and ((p > 0) & (p <= 1)).all()
    if routing.p_success is not None:
        ps = np.asarray(routing.p_success, dtype=float)
        known = ps[~np.isnan(ps)]
        assert ps.shape == (n, m) and ((known >= 0) & (known <= 1)).all()
    if routing.reasons is not None:
        assert len(routing.reasons) == n


def test_route_gives_one_valid_decision_per_task(case: Case) -> None:
    _check_routing(case.fitted().routing, case.test)


def test_route_before_fit_raises_not_fitted(case: Case) -> None:
    with pytest.raises(NotFittedError):
        make_router(case.spec).route_table(case.test)


def test_routing_is_deterministic_for_a_fixed_seed(case: Case) -> None:
    first = case.fitted().routing
    again = case.refitted()
    if again.knob:
        again.set_params(**{again.knob: getattr(case.fitted().router, again.knob)})
    second = again.route_table(case.test)
    np.testing.assert_array_equal(first.model_idx, second.model_idx)
    np.testing.assert_array_equal(first.paid(case.test.n_models), second.paid(case.test.n_models))


def _other_knob_values(router: Router) -> list[Any]:
    """Values of the knob's grid other than the router's default (the default itself when there are none)."""
    default = getattr(router, str(router.knob))
    values = [v for v in router.knob_values() if not _same(v, default)]
    return values or [default]


def test_knob_is_a_routing_time_parameter(case: Case) -> None:
    router = make_router(case.spec)
    if router.knob is None:
        pytest.skip(f"{router.name} has no knob")
    assert router.knob in router.get_params(), f"knob {router.knob!r} is not a parameter"
    other = case.refitted()  # fitted with another value of the knob
    # fitting with another knob value learns the same state
    for key, value in _fitted_attrs(case.fitted().router).items():
        assert _same(value, getattr(other, key)), f"the knob changed fitted state {key}"
    # setting the knob after fit touches no fitted state, and the router still routes
    state = dict(vars(other))
    other.set_params(**{router.knob: _other_knob_values(router)[-1]})
    for key, value in _fitted_attrs(other).items():
        assert value is state[key], f"setting the knob changed fitted state {key}"
    _check_routing(other.route_table(case.test), case.test)


def test_every_registered_router_is_covered() -> None:
    assert sorted(available()) == ROUTER_NAMES
    assert set(ROUTER_NAMES) >= {"always", "best-single", "oracle", "peer", "random", "heuristic"}


def test_decide_per_request_equals_route(case: Case) -> None:
    """One decision per task through `decide` (in route's order, after `reseed`) equals the vectorised `route`;
    a multi-step router driven by the controller replay runs (and pays) the same models."""
    router = case.fitted().router
    if router.uses_outcomes:
        with pytest.raises(TypeError, match="recorded outcomes"):
            router.decide(context_from_row(case.test.tasks, 0))
        return
    routing = case.fitted().routing
    router.reseed()
    if router.multi_step:
        replayed = replay_controller(RouterController(router), case.test).routing
        np.testing.assert_array_equal(replayed.model_idx, routing.model_idx)
        np.testing.assert_array_equal(replayed.paid(case.test.n_models), routing.paid(case.test.n_models))
        return
    decisions = [router.decide(context_from_row(case.test.tasks, i)) for i in range(case.test.n_tasks)]
    assert [d.model for d in decisions] == [router.models_[j] for j in routing.model_idx]
    assert all(d.action == "continue" and d.decision_id for d in decisions)
    if routing.propensity is not None:
        np.testing.assert_allclose([d.propensity for d in decisions], routing.propensity)
    if routing.p_success is not None:
        first = np.asarray(routing.p_success)[0]
        assert decisions[0].p_success_by_model == pytest.approx(
            {m: float(v) for m, v in zip(router.models_, first, strict=True) if not np.isnan(v)})


def test_every_router_round_trips_through_an_artifact(case: Case, tmp_path: Path) -> None:
    """`aco train` can save every registered router (evaluation-only ones say why not); the loaded router routes
    exactly like the fitted one."""
    from aco.artifacts import load_router, save_router

    fitted = case.fitted()
    path = tmp_path / "router.aco"
    if fitted.router.uses_outcomes:
        with pytest.raises(AcoError, match="evaluation-only"):
            save_router(fitted.router, case.train, path)
        return
    save_router(fitted.router, case.train, path)
    loaded, metadata = load_router(path)
    assert type(loaded) is type(fitted.router) and metadata["router"] == fitted.router.name
    again = loaded.route_table(case.test)
    np.testing.assert_array_equal(again.model_idx, fitted.routing.model_idx)
    np.testing.assert_array_equal(again.paid(case.test.n_models), fitted.routing.paid(case.test.n_models))
