"""L2-regularised logistic regression for every class and every C of a task at once: the linear probe's solver.

The objective is scikit-learn's LogisticRegression(penalty="l2", solver="lbfgs"), which the probe used before:

    mean_i loss_i(W, b) + ||W||^2 / (2 C n)        (n fitted records; intercepts b not penalised)

with the binary log-loss (multi-label tasks, and single-label tasks of two classes: one problem per class) or
the multinomial log-loss (single-label tasks: one problem with a weight column per class). Every (C, class)
problem of a task is one member of a batch; a member stops when the largest entry of its gradient is below
`tol` (the test of scipy's L-BFGS-B, which scikit-learn runs with 1e-4), so the batch reaches the optimum each
problem would reach alone. The result does not depend on how many problems share the batch.

What makes it fast (the optimum is unchanged; tests/test_linear_probe.py checks it against scikit-learn):
- the records are whitened once per fit (the eigenvectors of their covariance; directions of zero variance
  are dropped, where the L2 optimum has no weight anyway), so the data term's Hessian is close to a multiple
  of the identity, and every coordinate is scaled by its approximate curvature (the class's p(1-p) plus its
  penalty): L-BFGS then needs tens of iterations instead of hundreds;
- all members are solved by one batched L-BFGS (Nocedal & Wright 2006, Alg. 7.4) with its own history, step
  and stopping per member (backtracking Armijo line search), in torch: matrix products over all members at
  once, on the GPU when there is one. Converged members leave the batch;
- float32 arithmetic (DTYPE, below), with the records on the last axis of every product (see `objective`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

HISTORY = 10          # L-BFGS memory: scipy's default maxcor, which scikit-learn uses
ARMIJO = 1e-4         # sufficient-decrease constant of the line search
MAX_HALVINGS = 40     # backtracking steps before a member is stopped where it is (scipy: maxls)
# The solver runs in float32 (the whitening in float64): half of float64's time, and as accurate here, the line
# search accepting a step on the gradient's sign where float32 differences of the loss are rounding.
DTYPE = torch.float32


@dataclass
class Fit:
    """The solution of every member p: the standardisation and whitening map (d, r) of the fitted records, and
    weights (P, r, m) and intercepts (P, m) in whitened coordinates; binary: member p = (C p // K, class p % K),
    m = 1; multinomial: member p = C p, m = K."""
    mean: np.ndarray
    scale: np.ndarray
    whiten: torch.Tensor
    weights: torch.Tensor        # (P, r, m)
    bias: torch.Tensor           # (P, m)
    n_c: int
    binary: bool                 # one sigmoid problem per class (multi-label, or a two-class task)
    two_class: bool              # a single-label task of two classes: one problem, probabilities of both
    iterations: np.ndarray       # (P,) L-BFGS iterations each member took
    converged: np.ndarray        # (P,) gradient below tol within max_iter

    def probabilities(self, X: np.ndarray, c_index: int) -> np.ndarray:
        """(n, K) class probabilities of the records X (raw features) under the c_index-th C."""
        return self._probabilities(self._project(X), c_index)

    def all_probabilities(self, X: np.ndarray) -> list[np.ndarray]:
        """probabilities(X, i) for every C of the grid, the records projected once."""
        Z = self._project(X)
        return [self._probabilities(Z, i) for i in range(self.n_c)]

    def _probabilities(self, Z: torch.Tensor, c_index: int) -> np.ndarray:
        W, b = self.weights.to(Z.dtype), self.bias.to(Z.dtype)
        if self.binary:
            k = W.shape[0] // self.n_c
            p = torch.sigmoid(Z @ W[c_index * k:(c_index + 1) * k, :, 0].T + b[c_index * k:(c_index + 1) * k, 0])
            p = p.cpu().numpy()
            return np.concatenate([1 - p, p], 1) if self.two_class else p
        return torch.softmax(Z @ W[c_index] + b[c_index], 1).cpu().numpy()

    def _project(self, X: np.ndarray) -> torch.Tensor:
        Xs = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        return torch.as_tensor(Xs, dtype=self.whiten.dtype, device=self.whiten.device) @ self.whiten


def fit_logistic(X: np.ndarray, y: np.ndarray, c_grid: list[float], multi_label: bool, n_classes: int,
                 device: str | torch.device = "cpu", tol: float = 1e-6, max_iter: int = 2000) -> Fit:
    """Fit every class and every C of the grid on the records X (n, d) with labels y ((n,) class indices or
    (n, K) 0/1), standardised with their own statistics. tol is tighter than scikit-learn's 1e-4, which leaves
    probabilities up to ~1e-2 from the optimum at large C; here it costs a few iterations."""
    X = np.asarray(X, dtype=np.float64)
    scaler = StandardScaler().fit(X)                         # as the probe did before: population std, 1 if constant
    mean, scale = scaler.mean_, scaler.scale_
    Xs = torch.as_tensor((X - mean) / scale, dtype=torch.float64, device=device)
    n = len(Xs)
    evals, evecs = torch.linalg.eigh(Xs.T @ Xs / n)
    keep = evals > evals.max().clamp_min(1e-300) * 1e-10
    lam, V = evals[keep], evecs[:, keep]
    whiten = V / lam.sqrt()                                  # (d, r): Z = Xs V lam^-1/2 has identity covariance
    dtype = DTYPE
    Z = (Xs @ whiten).to(dtype)
    lam, V = lam.to(dtype), V.to(dtype)
    r, G = Z.shape[1], len(c_grid)
    Cs = torch.as_tensor(c_grid, dtype=dtype, device=device)
    binary = multi_label or n_classes == 2
    if binary:
        Yt = torch.as_tensor((y if multi_label else (y == 1)[:, None]).T, dtype=dtype, device=device).contiguous()
        K = Yt.shape[0]                                      # Yt: (K, n), a member's targets are one row
        prevalence = Yt.mean(1)
        C_of = Cs.repeat_interleave(K)                       # member p = (C index p // K, class p % K)
        curvature = (prevalence * (1 - prevalence)).repeat(G).clamp_min(1.0 / n)
        m = 1
        member_class = torch.arange(K, device=device).repeat(G)
    else:
        labels = torch.as_tensor(y, dtype=torch.long, device=device)
        onehot_t = torch.nn.functional.one_hot(labels, n_classes).to(dtype).T.contiguous()     # (K, n)
        prevalence = onehot_t.mean(1)
        C_of, m = Cs, n_classes
        curvature = (prevalence * (1 - prevalence)).mean().clamp_min(1.0 / n).expand(G).clone()
    P = len(C_of)
    # penalty of weight j of member p in the whitened coordinates: v_j^2 / (lam_j) / (2 C_p n)
    penalty = 1.0 / (lam[None, :] * C_of[:, None] * n)                                      # (P, r)
    # preconditioning: u = sqrt(h) v, h = approximate curvature of each coordinate
    h = torch.cat([curvature[:, None] + penalty, curvature[:, None]], 1)[:, :, None].expand(P, r + 1, m)
    root_h = h.sqrt()
    to_original = V * lam.sqrt()                              # gradient in the original coordinates: V lam^1/2 g_v

    def objective(u: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss (a,) and gradient (a, r+1, m) w.r.t. u of the members idx. Records are the last axis (logits
        (a m, n)): the matrix products then run as fast for a few members as for hundreds, and the loss is one
        fused kernel."""
        a, rh = len(idx), root_h[idx]   # the members' preconditioner, gathered once
        v = u / rh
        W, b = v[:, :r, :], v[:, r, :]                                                       # (a, r, m), (a, m)
        logits = torch.addmm(b.reshape(a * m, 1), W.permute(0, 2, 1).reshape(a * m, r), Z.T)     # (a m, n)
        if binary:
            t = Yt[member_class[idx]]                                                        # (a, n)
            data = torch.nn.functional.binary_cross_entropy_with_logits(logits, t, reduction="none").mean(1)
            R = torch.sigmoid(logits) - t
        else:
            logits = logits.reshape(a, m, n)
            data = torch.nn.functional.cross_entropy(logits, labels.expand(a, n), reduction="none").mean(1)
            R = torch.softmax(logits, 1) - onehot_t
        pen = penalty[idx][:, :, None]
        loss = data + 0.5 * (pen * W * W).sum((1, 2))
        gW = (R.reshape(a * m, n) @ Z).reshape(a, m, r).permute(0, 2, 1) / n + pen * W
        g = torch.cat([gW, R.reshape(a, m, n).sum(2)[:, None, :] / n], 1)
        return loss, g / rh

    def max_gradient(g: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        gv = g * root_h[idx]
        gw = torch.einsum("dr,arm->adm", to_original, gv[:, :r, :])
        return torch.maximum(gw.abs().amax((1, 2)), gv[:, r, :].abs().amax(1))

    u, iterations, converged = _lbfgs(objective, max_gradient, torch.zeros(P, r + 1, m, dtype=dtype, device=device),
                                      tol, max_iter)
    v = u / root_h
    return Fit(mean, scale, whiten, v[:, :r, :], v[:, r, :], G, binary, binary and not multi_label, iterations,
               converged)


def _lbfgs(objective, max_gradient, u: torch.Tensor, tol: float, max_iter: int):
    """Batched L-BFGS from u (members, ...): each member with its own history, step and stop. Returns (solution,
    iterations per member, converged per member). The state holds only the members still running (compacted
    when some stop), and the histories are rings written at one slot for every member per iteration: a member
    whose pair fails the curvature test writes an empty slot (rho = 0) there, losing its oldest pair, where
    scipy keeps it. (Warm starts along the C grid, one C after the other, were measured: 25 % fewer
    member-iterations, but slower, the batches being five times smaller.)"""
    P = u.shape[0]
    shape, D = u.shape[1:], u[0].numel()
    out = u.reshape(P, D).clone()
    everyone = torch.arange(P, device=u.device)
    f, g = objective(out.reshape(P, *shape), everyone)
    g = g.reshape(P, D)
    iterations = np.zeros(P, dtype=int)
    converged = (max_gradient(g.reshape(P, *shape), everyone) <= tol).cpu().numpy()
    running = torch.as_tensor(~converged, device=u.device)
    a, x, f, g = everyone[running], out[running], f[running], g[running]
    S = torch.zeros(len(a), HISTORY, D, dtype=x.dtype, device=x.device)
    Yh = torch.zeros_like(S)
    rho = torch.zeros(len(a), HISTORY, dtype=x.dtype, device=x.device)     # 0 marks an empty slot
    gamma = torch.ones(len(a), dtype=x.dtype, device=x.device)             # s'y / y'y of the newest stored pair
    newest = -1                                                            # ring slot of the newest pair
    for it in range(max_iter):
        if len(a) == 0:
            break
        d = _two_loop(g, S, Yh, rho, gamma, newest)
        slope = (g * d).sum(1)
        uphill = slope >= 0                                      # a stale history: restart from steepest descent
        if uphill.any():
            d[uphill], slope[uphill] = -g[uphill], -(g[uphill] ** 2).sum(1)
            rho[uphill], gamma[uphill] = 0, 1
        step = torch.ones(len(a), dtype=x.dtype, device=x.device)
        pending = torch.ones(len(a), dtype=torch.bool, device=x.device)
        f_new, g_new = f.clone(), g.clone()
        for _ in range(MAX_HALVINGS):
            p = torch.nonzero(pending).flatten()
            fp, gp = objective((x[p] + step[p, None] * d[p]).reshape(len(p), *shape), a[p])
            gp = gp.reshape(len(p), D)
            # sufficient decrease, or (the objective being convex) a slope still <= 0 at the trial point: f fell
            # all along the step. The second test uses the gradient, accurate in float32 where differences of f
            # near the optimum are rounding.
            ok = (fp <= f[p] + ARMIJO * step[p] * slope[p]) | ((gp * d[p]).sum(1) <= 0)
            f_new[p[ok]], g_new[p[ok]] = fp[ok], gp[ok]
            pending[p[ok]] = False
            step[p[~ok]] *= 0.5
            if not pending.any():
                break
        moved = ~pending                                          # members whose line search failed stay put
        s = (step * moved)[:, None] * d
        yv = g_new - g
        x += s
        f, g = torch.where(moved, f_new, f), torch.where(moved[:, None], g_new, g)
        sy = (s * yv).sum(1)
        yy = (yv * yv).sum(1)
        store = moved & (sy > 1e-12 * yy.sqrt() * (s * s).sum(1).sqrt())
        newest = (newest + 1) % HISTORY
        S[:, newest], Yh[:, newest] = s, yv
        rho[:, newest] = torch.where(store, 1.0 / torch.where(store, sy, 1.0), 0.0)
        gamma = torch.where(store, sy / yy.clamp_min(1e-30), gamma)
        iterations[a.cpu().numpy()] += 1
        done = (max_gradient(g.reshape(len(a), *shape), a) <= tol) | pending
        if done.any():
            converged[a[done & ~pending].cpu().numpy()] = True
            out[a[done]] = x[done]
            keep = ~done
            a, x, f, g, S, Yh, rho, gamma = a[keep], x[keep], f[keep], g[keep], S[keep], Yh[keep], rho[keep], gamma[keep]
    out[a] = x                                                   # members stopped by max_iter
    return out.reshape(P, *shape), iterations, converged


def _two_loop(g: torch.Tensor, S: torch.Tensor, Y: torch.Tensor, rho: torch.Tensor, gamma: torch.Tensor,
              newest: int) -> torch.Tensor:
    """-H g by the L-BFGS two-loop recursion, batched over members; the pairs are a ring whose newest slot is
    `newest`, rho = 0 an empty slot, and the initial matrix is gamma I."""
    q = g.clone()
    order = [(newest - i) % S.shape[1] for i in range(S.shape[1])]        # newest first
    alpha = []
    for j in order:
        alpha.append(rho[:, j] * (S[:, j] * q).sum(1))
        q -= alpha[-1][:, None] * Y[:, j]
    q *= gamma[:, None]
    for j, al in zip(reversed(order), reversed(alpha)):
        beta = rho[:, j] * (Y[:, j] * q).sum(1)
        q += (al - beta)[:, None] * S[:, j]
    return -q


def reference_probabilities(X_fit: np.ndarray, y: np.ndarray, C: float, multi_label: bool, X: np.ndarray,
                            tol: float = 1e-4) -> np.ndarray:
    """scikit-learn's fit of the same objective, one problem at a time (what the probe used before): the
    reference tests/test_linear_probe.py and scripts/bench_linear.py compare the batched solver with."""
    from sklearn.linear_model import LogisticRegression

    scaler = StandardScaler().fit(X_fit)
    A, B = scaler.transform(X_fit), scaler.transform(X)
    if multi_label:
        return np.stack([LogisticRegression(C=C, max_iter=10_000, tol=tol).fit(A, y[:, k]).predict_proba(B)[:, 1]
                         for k in range(y.shape[1])], 1)
    return LogisticRegression(C=C, max_iter=10_000, tol=tol).fit(A, y).predict_proba(B)
