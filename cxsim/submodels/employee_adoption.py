"""employee_adoption (docs/ODD.md 7): employees adopt and revert (Bass); rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from ..rng import LARGE, binomial_row, scratch
from ._common import _adopters_total, _columns, _function_head, _head, _mask, on
from .mandate import _intensity


def employee_adoption(m) -> None:
    """Employees adopt (push p plus imitation q, Bass) and revert when support falls below a threshold."""
    p = m.params
    enabled = _mask(on(m, "adoption.enabled"))
    if enabled is False or m.D == 0:
        return
    st, R, D = m.st, m.R, m.D
    revert = _mask(p["adoption.reversion"] > 0.0) is not False
    # (a reversion of 0 gives rate 0: no adopter reverts, exactly as without the draw)
    resources = np.minimum(_intensity(m), 1.0) if revert else np.zeros(R)
    adopt, back = np.empty((D, R)), np.empty((D, R))
    hazard, rate = np.empty((D, R)), np.empty((D, R))
    col = _columns(R)
    large = _adoption_kernel(
        m.adopters, _head(m), _function_head(m), m.buy_in, m.jealousy, m.covert, st.dept_exec, m.readiness, m.skill,
        m.silo, col(m.owner_present * m.credibility), col(st.total_headcount), col(st.load), col(resources),
        col(p["politics.sabotage"]), col(p["adoption.readiness_weight"]), col(p["adoption.skill_weight"]),
        col(p["adoption.silo_weight"]), col(p["adoption.leadership_weight"]), col(p["adoption.owner_weight"]),
        col(p["adoption.cross_department"]), col(p["adoption.p"]), col(p["adoption.q"]),
        col(p["adoption.support_threshold"]), col(p["adoption.reversion"]), m.culture, revert,
        m.rng.keys, m.rng.item_hashes(m.week, "adopt", D), m.rng.item_hashes(m.week, "revert", D),
        adopt, back, hazard, rate)
    if large:  # means of 30 or more: the normal approximation (rare)
        for stream, x, n, q in (("adopt", adopt, _head(m) - m.adopters, hazard),
                                ("revert", back, m.adopters, rate)):
            if (x == LARGE).any():
                m.rng.finish_large(m.week, stream, x, n, q)
    np.add(m.adopters, adopt - back, out=m.adopters, where=enabled)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _adoption_kernel(adopters, head, f_head, buy_in, jealousy, covert, dept_exec, readiness, skill, silo, owner_push,
                     total, load, resources, sabotage_w, readiness_w, skill_w, silo_w, leadership_w, owner_w,
                     cross, p_push, q_imitate, theta, reversion, culture, revert, keys, mixed_adopt, mixed_revert,
                     adopt, back, hazard, rate):
    """The arithmetic of :func:`employee_adoption` for every department and replication, and both draws.

    Per replication r (the parameters are ``(R,)`` columns) and department d, with e = d's executive:

    * lead = buy_in[e] * (1 - (sabotage * jealousy[e]) * covert[e]);
    * conditions = f(readiness, readiness_w) * f(skill, skill_w) * (1 - silo_w * silo),
      with the factor f(x, w) = (2x - 1) w + 1;
    * push = f(lead, leadership_w) * f(owner_push, owner_w) * conditions;
    * peers = (1 - cross) * adopted share of d's function (its adopters over ``f_head``, the function's
      headcount) + cross * adopted share of the organization;
    * hazard = clip((p * push + (q * conditions) * peers) * culture / load, 0, 1);
      adopters drawn ~ Binomial(head - adopters, hazard) (stream "adopt");
    * support = 0.4 lead + 0.4 owner_push + 0.2 resources;
      rate = reversion * max(theta - support, 0) / max(theta, 1e-12);
      reverters ~ Binomial(adopters, rate) (stream "revert"), when ``revert``.

    Terms that are neutral for a mechanism switched off are exact (a factor of 1.0,
    a sabotage of 0), so computing them gives the bits of skipping them. Returns how
    many draws were left as :data:`~cxsim.rng.LARGE`.
    """
    D, R = adopters.shape
    share = _adopters_total(adopters)
    for r in range(R):
        share[r] /= total[r]
    # adopters of each function (an executive's departments together), in department order
    f_adopted = np.zeros(f_head.shape)
    for d in range(D):
        e = dept_exec[d]
        for r in range(R):
            f_adopted[e, r] += adopters[d, r]
    rows = np.empty((5, R))  # (lead, conditions, push, peers, others) of one department
    lead, conditions, push, peers, others = rows[0], rows[1], rows[2], rows[3], rows[4]
    work = scratch(R)
    large = 0
    for d in range(D):
        # Each loop reads a few arrays and writes one, without branches, so that it vectorizes.
        e = dept_exec[d]
        b, j, cov, a, h = buy_in[e], jealousy[e], covert[e], adopters[d], head[d]
        for r in range(R):
            lead[r] = b[r] * (1.0 - j[r] * sabotage_w[r] * (1.0 if cov[r] else 0.0))
        rd, sk, si = readiness[d], skill[d], silo[d]
        for r in range(R):
            conditions[r] = ((rd[r] * 2.0 - 1.0) * readiness_w[r] + 1.0) * (
                (sk[r] * 2.0 - 1.0) * skill_w[r] + 1.0) * (1.0 - si[r] * silo_w[r])
        for r in range(R):
            push[r] = ((lead[r] * 2.0 - 1.0) * leadership_w[r] + 1.0) * (
                (owner_push[r] * 2.0 - 1.0) * owner_w[r] + 1.0) * conditions[r]
        fa, fh = f_adopted[e], f_head[e]
        for r in range(R):
            peers[r] = fa[r] / fh[r] * (1.0 - cross[r]) + cross[r] * share[r]
        hz = hazard[d]
        for r in range(R):
            x = (push[r] * p_push[r] + conditions[r] * q_imitate[r] * peers[r]) * culture[r] / load[r]
            x = 0.0 if x < 0.0 else x
            hz[r] = 1.0 if x > 1.0 else x
        for r in range(R):
            others[r] = h[r] - a[r]
        large += binomial_row(others, hz, keys, mixed_adopt[d], adopt[d], work)
        if revert:
            rt = rate[d]
            for r in range(R):
                t = theta[r] - (lead[r] * 0.4 + 0.4 * owner_push[r] + 0.2 * resources[r])
                t = 0.0 if t < 0.0 else t
                rt[r] = t * reversion[r] / max(theta[r], 1e-12)
            large += binomial_row(a, rt, keys, mixed_revert[d], back[d], work)
        else:
            back[d] = 0.0
    return large
