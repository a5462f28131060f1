"""Group shift: how far a group's outcomes depart from a transferred prior, learned online.

Model: for task i of group g and model j, score = p0[i, j] + delta[g, j] + noise, where p0 is the
transferred router's P(success) for the task and delta[g] the group's offset (one value per model).
`GroupShift` is what training groups say about offsets, measured leave-one-group-out (each training group
scored by a base router fitted without it) and pooled by a random-effects model: a group never seen in training
has offset ~ N(mean, cov), the precision-weighted mean of the training groups' offsets and their between-group
covariance; a group seen in training has offset ~ N(0, noise_var / n_g), what is left of a mean over its n_g
training tasks.

`OffsetPosterior` learns a group's offset from the residuals score - p0 of the models it ran: Kalman filters,
one per scale c of the prior covariance (c x cov over a fixed log grid, a priori most likely at c = 1), mixed
by the likelihood each gives the residuals seen so far. That is the shift test: when the stream departs from
the prior more than training groups did, the wide filters win and new outcomes outweigh the prior; when it
agrees, the prior keeps its weight. The covariance carries what one model's residuals say about the others'.

`ShiftOrchestrator` is the orchestrator with one `OffsetPosterior` per group; `ShiftThompson` samples the
offset jointly for all models (logged propensities are the Monte Carlo probabilities of the arm, as in
`ThompsonSampling`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aco.online.bandits import BanditContext, ThompsonSampling
from aco.online.orchestrator import OnlineDecision, Orchestrator, clean_prior
from aco.online.verifier import Feedback

SCALES = tuple(4.0 ** k for k in range(-1, 6))  # prior covariance x 0.25 ... x 1024
# A priori the training groups' spread is the best guess (scale 1); k steps of x4 away are exp(-k^2 / 2) as likely.
MAX_PRIOR_VAR = 0.25  # no offset of a score in [0, 1] needs a prior sd above 0.5: wider scales are dropped
_JITTER = 1e-10


@dataclass(frozen=True)
class GroupShift:
    """Offsets of groups against a transferred prior, as measured on the training groups.

    mean, cov: (m,), (m, m) prior of the offset of a group not seen in training.
    noise_var: (m,) per-task residual variance within a group.
    group_n: training tasks per group (a seen group's offset prior is N(0, noise_var / n)).
    """

    mean: np.ndarray
    cov: np.ndarray
    noise_var: np.ndarray
    group_n: Mapping[str, float]

    @classmethod
    def from_offsets(cls, offsets: np.ndarray, noise_var: np.ndarray, group_n: Mapping[str, float]) -> GroupShift:
        """From the (G, m) leave-one-group-out offsets of G training groups with `group_n` tasks each (in order).

        A random-effects model per model j: offset[h, j] = b_j + u_hj + e_hj with u ~ N(0, tau2_j) the group
        effect and e ~ N(0, noise_var_j / n_h) the sampling error of a mean over n_h tasks. tau2 is the
        DerSimonian-Laird estimate and b the precision-weighted mean, so small groups count for little; the
        correlation of the groups' offsets across models is Ledoit-Wolf shrunk. A new group's offset is
        N(b, D R D + var(b)), D = diag(sqrt(tau2)), R the correlation. Vague (sd 0.5) when G < 2.
        """
        d = np.asarray(offsets, dtype=float)
        m = d.shape[1]
        noise = np.clip(np.asarray(noise_var, dtype=float), 1e-4, MAX_PRIOR_VAR)
        if len(d) < 2:  # one group says nothing about how groups differ
            return cls(np.zeros(m), np.eye(m) * MAX_PRIOR_VAR, noise, dict(group_n))
        n = np.asarray(list(group_n.values()), dtype=float)[:, None]
        w = n / noise[None, :]  # (G, m) fixed-effect precisions
        fixed = (w * d).sum(axis=0) / w.sum(axis=0)
        q = (w * (d - fixed) ** 2).sum(axis=0)
        spread = w.sum(axis=0) - (w ** 2).sum(axis=0) / w.sum(axis=0)
        tau2 = np.clip((q - (len(d) - 1)) / np.maximum(spread, 1e-12), 0.0, MAX_PRIOR_VAR)
        w_re = 1.0 / (tau2[None, :] + noise[None, :] / n)
        mean = (w_re * d).sum(axis=0) / w_re.sum(axis=0)
        from sklearn.covariance import LedoitWolf

        shrunk = LedoitWolf().fit(d).covariance_
        sd = np.sqrt(np.maximum(np.diag(shrunk), 1e-12))
        corr = shrunk / np.outer(sd, sd)
        root = np.sqrt(tau2)
        cov = corr * np.outer(root, root) + np.diag(1.0 / w_re.sum(axis=0))
        return cls(mean, cov, noise, dict(group_n))

    def seen(self, group: str) -> bool:
        return self.group_n.get(group, 0.0) > 0

    def prior(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """(mean, cov) of the group's offset before any of its outcomes."""
        n = self.group_n.get(group, 0.0)
        if n > 0:
            return np.zeros(len(self.mean)), np.diag(self.noise_var / n)
        return self.mean.copy(), self.cov.copy()

    def sd(self, groups: list[str]) -> np.ndarray:
        """(n, m) prior sd of the offset for tasks of the given groups."""
        return np.sqrt(np.stack([np.diag(self.prior(g)[1]) for g in groups])) if groups else np.zeros((0, 0))

    def to_state(self) -> dict[str, Any]:
        return {"mean": self.mean, "cov": self.cov, "noise_var": self.noise_var,
                "groups": list(self.group_n), "group_n": np.array(list(self.group_n.values()), dtype=float)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> GroupShift:
        counts = np.asarray(state["group_n"], dtype=float).tolist()
        return cls(np.asarray(state["mean"], float), np.asarray(state["cov"], float),
                   np.asarray(state["noise_var"], float), dict(zip(map(str, state["groups"]), counts, strict=True)))


@dataclass
class OffsetPosterior:
    """A group's offset: a mixture of Kalman filters over scales of the prior covariance."""

    means: np.ndarray  # (K, m)
    covs: np.ndarray  # (K, m, m)
    log_weight: np.ndarray  # (K,)
    scales: np.ndarray  # (K,)
    noise_var: np.ndarray  # (m,)
    n_obs: int = 0

    @classmethod
    def start(cls, mean: np.ndarray, cov: np.ndarray, noise_var: np.ndarray,
              scales: tuple[float, ...] = SCALES) -> OffsetPosterior:
        top = float(np.max(np.diag(cov))) if len(cov) else 0.0
        kept = np.array([c for c in scales if c * top <= MAX_PRIOR_VAR] or [min(scales)])
        return cls(means=np.tile(np.asarray(mean, float), (len(kept), 1)),
                   covs=np.stack([c * np.asarray(cov, float) for c in kept]),
                   log_weight=-0.5 * (np.log(kept) / np.log(4.0)) ** 2, scales=kept,
                   noise_var=np.asarray(noise_var, float))

    def weights(self) -> np.ndarray:
        w = np.exp(self.log_weight - self.log_weight.max())
        return np.asarray(w / w.sum())

    def update(self, arm: int, residual: float) -> None:
        """Condition every filter on one residual of model `arm`; reweigh them by its predictive likelihood."""
        s = self.covs[:, arm, arm] + self.noise_var[arm]
        err = residual - self.means[:, arm]
        self.log_weight += -0.5 * (np.log(2.0 * np.pi * s) + err * err / s)
        gain = self.covs[:, :, arm] / s[:, None]
        self.means += gain * err[:, None]
        self.covs -= gain[:, :, None] * self.covs[:, arm, None, :]
        self.covs = 0.5 * (self.covs + np.swapaxes(self.covs, 1, 2))
        self.n_obs += 1

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mixture mean and variance of the offset per model."""
        w = self.weights()
        mean = w @ self.means
        second = w @ (np.diagonal(self.covs, axis1=1, axis2=2) + self.means ** 2)
        return np.asarray(mean), np.asarray(np.maximum(second - mean ** 2, 0.0))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, m) joint draws of the offset."""
        k, m = self.means.shape
        comp = rng.choice(k, size=n, p=self.weights())
        roots = np.linalg.cholesky(self.covs + _JITTER * np.eye(m))
        z = rng.standard_normal((n, m))
        return np.asarray(self.means[comp] + np.einsum("nij,nj->ni", roots[comp], z))

    def likeliest_scale(self) -> float:
        return float(self.scales[int(np.argmax(self.log_weight))])

    def to_state(self) -> dict[str, Any]:
        return {"means": self.means, "covs": self.covs, "log_weight": self.log_weight, "scales": self.scales,
                "noise_var": self.noise_var, "n_obs": self.n_obs}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OffsetPosterior:
        return cls(**{k: np.asarray(state[k], float) for k in ("means", "covs", "log_weight", "scales",
                                                                 "noise_var")}, n_obs=int(state["n_obs"]))


@dataclass(frozen=True)
class ShiftContext(BanditContext):
    """A bandit context whose P(success) is the prior p0 plus a group offset with a joint posterior."""

    base_p: np.ndarray | None = None
    offset: OffsetPosterior | None = None
    note: str = ""


@dataclass
class ShiftThompson(ThompsonSampling):
    """Thompson sampling that draws the group offset jointly for all models (plain Beta draws otherwise).

    `temperature` scales the spread of the draws around the posterior mean: 1 is Thompson sampling, 0 the
    posterior-mean greedy choice (propensity 1), in between a tempered posterior that explores less.
    """

    temperature: float = 1.0

    def _draws(self, context: BanditContext) -> np.ndarray:
        if not isinstance(context, ShiftContext) or context.offset is None or context.base_p is None:
            return super()._draws(context)
        mean = context.offset.moments()[0]
        spread = context.offset.sample(self._rng, self.n_draws) - mean
        return np.asarray(np.clip(context.base_p + mean + np.sqrt(self.temperature) * spread, 0.0, 1.0))

    def _probabilities(self, context: BanditContext) -> tuple[np.ndarray, str]:
        probs, reason = super()._probabilities(context)
        note = context.note if isinstance(context, ShiftContext) else ""
        return probs, f"{note}; {reason}" if note else reason


@dataclass
class ShiftOrchestrator(Orchestrator):
    """The orchestrator whose prior is corrected by a per-group offset posterior (`shift`); without `shift` or
    without a prior it is the plain orchestrator. The group is the `category` argument of `decide`."""

    shift: GroupShift | None = None
    offsets_: dict[str, OffsetPosterior] = field(default_factory=dict, init=False, repr=False)

    def offset(self, group: str) -> OffsetPosterior:
        """The group's offset posterior (started from the shift prior on first use)."""
        assert self.shift is not None
        if group not in self.offsets_:
            mean, cov = self.shift.prior(group)
            self.offsets_[group] = OffsetPosterior.start(mean, cov, self.shift.noise_var)
        return self.offsets_[group]

    def context(self, category: str, features: np.ndarray, prior_p: np.ndarray | None = None,
                prior_cost_usd: np.ndarray | None = None, prior_n: float | np.ndarray | None = None) -> BanditContext:
        plain = super().context(category, features, prior_p, prior_cost_usd, prior_n)
        if prior_p is None or self.shift is None:
            return plain
        post = self.offset(category)
        p0 = clean_prior(prior_p)
        shift, var = post.moments()
        p = np.clip(p0 + shift, 1e-3, 1.0 - 1e-3)
        size = np.maximum(p * (1.0 - p) / np.maximum(var, 1e-6) - 1.0, 1.0)
        note = shift_note(category, self.shift, post)
        return ShiftContext(features=plain.features, alpha=p * size, beta=(1.0 - p) * size,
                            expected_cost_usd=plain.expected_cost_usd, allowed=plain.allowed, base_p=p0,
                            offset=post, note=note)

    def learn(self, decision: OnlineDecision, feedback: Feedback) -> None:
        super().learn(decision, feedback)
        if self.shift is not None and decision.prior_p is not None:
            arm = decision.choice.arm
            self.offset(decision.record.category).update(arm, feedback.score - float(decision.prior_p[arm]))


def shift_note(group: str, shift: GroupShift, post: OffsetPosterior) -> str:
    """Why the loop trusts its prior as much as it does, for the decision's reason."""
    where = (f"group {group!r} seen in training ({shift.group_n[group]:.0f} tasks)" if shift.seen(group)
             else f"out of distribution: group {group!r} not seen in training")
    return (f"{where}; prior offset corrected by {post.n_obs} outcomes, likeliest prior scale "
            f"x{post.likeliest_scale():g}")
