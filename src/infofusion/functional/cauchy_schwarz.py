r"""Cauchy–Schwarz divergence measures as differentiable functions of samples (Yu et al., 2024).

The Cauchy–Schwarz (CS) divergence of densities p and q is

.. math::

    D_{CS}(p; q) = -\log \frac{(\int p q)^2}{\int p^2 \int q^2} \;\ge 0,

zero iff p = q. With Gaussian kernels :math:`\kappa(a, b) = \exp(-\|a - b\|^2 / 2\sigma^2)` each
integral is estimated by a mean of a Gram matrix, which gives closed-form estimators with no
density model and no training:

* :func:`cs_divergence` between two samples;
* :func:`cs_qmi`, the CS quadratic mutual information :math:`I_{CS}(X; T) = D_{CS}(p_{XT};
  p_X p_T)` (Prop. 2 of Yu et al.), with K the Gram of x and Q the Gram of t,
  :math:`\log \frac{\mathrm{tr}(KQ)}{N^2} + \log\frac{1^\top K 1 \, 1^\top Q 1}{N^4}
  - 2 \log \frac{1^\top K Q 1}{N^3}`;
* :func:`cs_conditional_divergence`, :math:`D_{CS}(p(y|x); q(\hat y|x))` (Prop. 1), the
  prediction term of the CS information bottleneck;
* :func:`cs_ib_loss`, the CS-IB objective for regression,
  :math:`D_{CS}(p(y|x); q(\hat y|x)) + \beta\, I_{CS}(x; t)`.

All values are in nats (the reference code uses log2; the ratio of the two terms, hence the
meaning of beta, is the same). ``I_CS`` is a Rényi-type quadratic dependence measure, not
Shannon MI: it is 0 under independence and grows with dependence, but its values are not nats
of Shannon information.

Bandwidth rules (used whenever a width is ``None``; computed on the batch, without gradient):

* kernels that measure dependence or compare distributions (:func:`cs_divergence`,
  :func:`cs_qmi`, the compression term of :func:`cs_ib_loss`, and the target kernel on y and
  :math:`\hat y`): the median of the pairwise Euclidean distances (Gretton's median
  heuristic); about 0.95 for unit-variance one-dimensional data;
* the conditioning kernel on x of :func:`cs_conditional_divergence`: a quarter of that median.
  The conditional divergence must compare each prediction with targets of *nearby* inputs: as
  the width grows, K tends to a matrix of ones and the divergence tends to the CS divergence of
  the marginal distributions of y and :math:`\hat y`, which any prediction with the right
  spread minimises, paired with its target or not. On standardised 8-dimensional inputs a
  quarter of the median is the reference code's sigma = 1 (typical kernel value between
  distinct samples :math:`e^{-8}`).
"""

from __future__ import annotations

from typing import Literal

import torch

__all__ = [
    "cs_conditional_divergence",
    "cs_divergence",
    "cs_ib_loss",
    "cs_qmi",
    "gaussian_gram",
    "median_bandwidth",
]

_TINY = 1e-30


def _as_2d(a: torch.Tensor) -> torch.Tensor:
    return a.reshape(-1, 1) if a.dim() == 1 else a.reshape(a.shape[0], -1)


def median_bandwidth(a: torch.Tensor, floor: float = 1e-6) -> float:
    """Median pairwise Euclidean distance of the rows of ``(N, D)`` ``a`` (no gradient).

    Args:
        a: samples; ``(N,)`` is one column.
        floor: smallest value returned (a sample of identical rows has median 0).
    """
    a = _as_2d(a.detach())
    n = a.shape[0]
    if n < 2:
        return 1.0
    d = torch.cdist(a.double(), a.double())
    iu = torch.triu_indices(n, n, offset=1)
    return max(float(d[iu[0], iu[1]].median()), floor)


def gaussian_gram(
    a: torch.Tensor, b: torch.Tensor | None = None, sigma: float = 1.0
) -> torch.Tensor:
    """:math:`\\exp(-\\|a_i - b_j\\|^2 / 2\\sigma^2)`: ``(N, D)``, ``(M, D)`` -> ``(N, M)``."""
    a = _as_2d(a)
    b = a if b is None else _as_2d(b)
    # squared distances by expansion: differentiable at 0, unlike the norm inside cdist
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return torch.exp(-sq.clamp_min(0.0) / (2.0 * sigma**2))


def cs_divergence(p: torch.Tensor, q: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """CS divergence between the samples ``p`` ``(N, D)`` and ``q`` ``(M, D)`` (nats, >= 0).

    :math:`\\log \\overline{K_{pp}} + \\log \\overline{K_{qq}} - 2 \\log \\overline{K_{pq}}`, with
    bars the means of the Gram matrices (self-pairs included). For two Gaussians
    :math:`N(\\mu_1, s^2 I)` and :math:`N(\\mu_2, s^2 I)` it tends to
    :math:`\\|\\mu_1 - \\mu_2\\|^2 / (2 s^2 + \\sigma^2)`.

    Example:
        >>> import torch
        >>> x = torch.randn(500, 2, dtype=torch.float64)
        >>> round(float(cs_divergence(x, x, sigma=1.0)), 9)
        0.0
    """
    if sigma is None:
        sigma = median_bandwidth(torch.cat([_as_2d(p), _as_2d(q)]))
    kpp = gaussian_gram(p, sigma=sigma).mean()
    kqq = gaussian_gram(q, sigma=sigma).mean()
    kpq = gaussian_gram(p, q, sigma=sigma).mean()
    return torch.log(kpp) + torch.log(kqq) - 2.0 * torch.log(kpq.clamp_min(_TINY))


def cs_qmi_from_grams(k: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """CS quadratic MI from two ``(N, N)`` Gram matrices (nats, >= 0).

    The powers of N cancel: :math:`\\log \\mathrm{tr}(KQ) + \\log 1^\\top K 1
    + \\log 1^\\top Q 1 - 2 \\log 1^\\top K Q 1` (K and Q symmetric).
    """
    a = (k * q).sum()  # tr(KQ) for symmetric K, Q
    rk, rq = k.sum(dim=1), q.sum(dim=1)
    c = (rk * rq).sum()  # 1^T K Q 1
    return torch.log(a) + torch.log(rk.sum()) + torch.log(rq.sum()) - 2.0 * torch.log(c)


def cs_qmi(
    x: torch.Tensor,
    t: torch.Tensor,
    sigma_x: float | None = None,
    sigma_t: float | None = None,
) -> torch.Tensor:
    """CS quadratic mutual information :math:`I_{CS}(X; T)` of paired samples (nats, >= 0).

    Args:
        x: ``(N, Dx)``; t: ``(N, Dt)`` paired row by row.
        sigma_x, sigma_t: kernel widths (``None``: median pairwise distance of each side).

    Returns:
        Scalar tensor, differentiable in ``x`` and ``t``; 0 when either Gram is all ones.
    """
    sx = median_bandwidth(x) if sigma_x is None else sigma_x
    st = median_bandwidth(t) if sigma_t is None else sigma_t
    return cs_qmi_from_grams(gaussian_gram(x, sigma=sx), gaussian_gram(t, sigma=st))


def cs_conditional_divergence(
    x: torch.Tensor,
    y: torch.Tensor,
    y_hat: torch.Tensor,
    sigma_x: float | None = None,
    sigma_y: float | None = None,
    weights: Literal["paper", "code"] = "paper",
) -> torch.Tensor:
    """:math:`D_{CS}(p(y|x); q(\\hat y|x))` from paired samples (Prop. 1 of Yu et al.; nats).

    With K the Gram of x, :math:`L_1` of y, :math:`L_2` of :math:`\\hat y` and
    :math:`L_{21}[i, j] = \\kappa(\\hat y_i, y_j)`:
    :math:`\\log \\sum_i w_i \\sum_j K_{ij} L_{1,ij} + \\log \\sum_i w_i \\sum_j K_{ij} L_{2,ij}
    - 2 \\log \\sum_i w_i \\sum_j K_{ij} L_{21,ij}`.

    Args:
        x: ``(N, Dx)`` conditioning inputs; y: ``(N,)`` or ``(N, Dy)`` targets;
            y_hat: predictions of the same shape.
        sigma_x: width of the x kernel (``None``: a quarter of the median distance of x).
        sigma_y: width shared by the y and y_hat kernels (``None``: median rule on y).
        weights: ``paper``: :math:`w_i = 1 / (\\sum_j K_{ij})^2` (Prop. 1);
            ``code``: :math:`w_i = 1 / \\sum_j K_{ij}^2` (the reference implementation).

    Returns:
        Scalar tensor; exactly 0 when ``y_hat`` equals ``y``.
    """
    sx = 0.25 * median_bandwidth(x) if sigma_x is None else sigma_x
    sy = median_bandwidth(y) if sigma_y is None else sigma_y
    k = gaussian_gram(x, sigma=sx)
    l1 = gaussian_gram(y, sigma=sy)
    l2 = gaussian_gram(y_hat, sigma=sy)
    l21 = gaussian_gram(y_hat, y, sigma=sy)
    w = 1.0 / (k.sum(dim=1) ** 2 if weights == "paper" else (k**2).sum(dim=1))

    def term(lm: torch.Tensor) -> torch.Tensor:
        return torch.log(((k * lm).sum(dim=1) * w).sum().clamp_min(_TINY))

    return term(l1) + term(l2) - 2.0 * term(l21)


def cs_ib_loss(
    x: torch.Tensor,
    t: torch.Tensor,
    y: torch.Tensor,
    y_hat: torch.Tensor,
    beta: float = 0.01,
    normalize: bool = True,
    sigma_x: float | None = None,
    sigma_t: float | None = None,
    sigma_y: float | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The CS information-bottleneck objective for regression (minimise it).

    :math:`D_{CS}(p(y|x); q(\\hat y|x)) + \\beta\\, I_{CS}(x; t)`, where t is the representation
    the prediction is computed from. With ``normalize`` the compression term is
    :math:`I_{CS}(x; t) / \\sqrt{I_{CS}(x; x)\\, I_{CS}(t; t)}` (as in the reference
    implementation), which makes beta independent of the scales of x and t.

    Args:
        x: ``(B, Dx)`` inputs; t: ``(B, Dt)`` representation; y: ``(B,)`` targets;
            y_hat: ``(B,)`` predictions.
        beta: weight of the compression term.
        normalize: normalise the compression term (see above).
        sigma_x: width of the conditioning kernel on x in the prediction term (``None``: a
            quarter of the median distance of x).
        sigma_t: width of the kernel on t in the compression term (``None``: median of t; the
            kernel on x there always uses the median of x).
        sigma_y: width of the kernels on y and y_hat (``None``: median of y).

    Returns:
        ``(loss, terms)`` with ``terms = {"cs_div": ..., "cs_qmi": ...}`` (detached copies).
    """
    div = cs_conditional_divergence(x, y, y_hat, sigma_x=sigma_x, sigma_y=sigma_y)
    if beta == 0:
        return div, {"cs_div": div.detach(), "cs_qmi": torch.zeros(())}
    st = median_bandwidth(t) if sigma_t is None else sigma_t
    k, q = gaussian_gram(x, sigma=median_bandwidth(x)), gaussian_gram(t, sigma=st)
    qmi = cs_qmi_from_grams(k, q)
    if normalize:
        qmi = qmi / torch.sqrt((cs_qmi_from_grams(k, k) * cs_qmi_from_grams(q, q)).clamp_min(_TINY))
    return div + beta * qmi, {"cs_div": div.detach(), "cs_qmi": qmi.detach()}
