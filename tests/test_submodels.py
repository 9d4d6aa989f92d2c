"""Unit tests of each submodel on a tiny organization: formulas, switches and edge cases.

Each test builds an engine (CEO, owner "cmo", jealous "cfo"; a front-office "sales" of 400
and a back-office "billing" of 100), sets the state it needs, calls ONE submodel and checks
the update against the rule written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from cxsim import submodels as sm
from cxsim.engine import Engine

CEO, CMO, CFO = 0, 1, 2
SALES, BILLING = 0, 1


@pytest.fixture
def engine(make_scenario):
    """Engine of the tiny organization with no between-replication spread."""

    def build(params=None, R=4, seed=0, **lists):
        sc = make_scenario({"organization.initial_spread": 0.0, "adoption.culture_spread": 0.0, **(params or {})},
                           **lists)
        return Engine(sc, np.arange(R), seed)

    return build


# -- initialize --------------------------------------------------------------------------------

def test_initial_state_from_scenario(engine):
    """Without spread every replication starts at the file's values; the owner is never jealous."""
    m = engine({"politics.jealousy_scale": 0.5})
    np.testing.assert_array_equal(m.buy_in[:, 0], [0.6, 0.9, 0.3])
    assert (m.buy_in == m.buy_in[:, :1]).all()
    np.testing.assert_array_equal(m.expressed, m.buy_in)
    np.testing.assert_allclose(m.propensity[:, 0], [0.0, 0.0, 0.3])
    np.testing.assert_array_equal(m.jealousy, m.propensity)
    assert (m.adopters == 0).all() and m.owner_present.all() and not m.covert.any()
    np.testing.assert_array_equal(m.skill[:, 0], [0.5, 0.2])


def test_initial_spread_varies_replications_within_bounds(engine):
    """With spread, replications start differently but every share stays in [0, 1]."""
    m = engine({"organization.initial_spread": 0.5}, R=200)
    for a in (m.buy_in, m.jealousy, m.readiness, m.skill):
        assert a.min() >= 0.0 and a.max() <= 1.0
        assert a.std(axis=1).max() > 0.05
    assert (m.jealousy[CMO] == 0).all()


def test_politics_off_means_no_jealousy_at_start(engine):
    """With politics disabled nobody has any jealousy propensity."""
    m = engine({"politics.enabled": False, "organization.initial_spread": 0.3})
    assert (m.propensity == 0).all() and (m.jealousy == 0).all()


def test_change_management_lead_raises_initial_readiness(engine):
    """Lead weeks of change management raise readiness by effect * (1 - exp(-lead/13)) of the gap."""
    lead, effect = 26, 0.3
    m = engine({"readiness.change_management_lead_weeks": lead, "readiness.change_management_effect": effect})
    gain = effect * (1 - np.exp(-lead / 13))
    np.testing.assert_allclose(m.readiness[:, 0], 0.5 + gain * 0.5)
    off = engine({"readiness.change_management_lead_weeks": lead, "readiness.enabled": False})
    np.testing.assert_allclose(off.readiness, 0.5)


def test_initial_adoption_and_shifts(engine, make_scenario):
    """initial_adoption gives whole adopters; readiness and skill shifts move every department."""
    depts = [{"id": "sales", "headcount": 333, "executive": "cmo", "initial_adoption": 0.1},
             {"id": "billing", "office": "back", "headcount": 100, "executive": "cfo"}]
    m = engine({"organization.skill_shift": -0.1, "organization.readiness_shift": 0.7}, departments=depts)
    np.testing.assert_array_equal(m.adopters[:, 0], [33.0, 0.0])
    np.testing.assert_allclose(m.skill[:, 0], [0.4, 0.4])
    np.testing.assert_allclose(m.readiness[:, 0], [1.0, 1.0])  # 0.5 + 0.7 clipped to 1


# -- sponsorship -------------------------------------------------------------------------------

@pytest.mark.parametrize("level,strength", [("none", 0.0), ("passive", 0.35), ("active", 1.0)])
def test_sponsorship_strength_and_coownership(engine, level, strength):
    """The sponsor's strength is 0 / passive_strength / 1 and pulls buy-in toward 1 at that rate."""
    m = engine({"sponsorship.level": level, "sponsorship.passive_strength": 0.35,
                "sponsorship.coownership_rate": 0.1})
    b0 = m.buy_in.copy()
    sm.sponsorship(m)
    assert m.sponsor == strength
    np.testing.assert_allclose(m.buy_in, b0 + 0.1 * strength * (1 - b0))


def test_sponsorship_start_week_and_switch(engine):
    """Sponsorship applies from its start week, and not at all when disabled."""
    m = engine({"sponsorship.level": "active", "sponsorship.start_week": 3})
    m.week = 2
    sm.sponsorship(m)
    assert m.sponsor == 0.0
    m.week = 3
    sm.sponsorship(m)
    assert m.sponsor == 1.0
    off = engine({"sponsorship.level": "active", "sponsorship.enabled": False})
    b0 = off.buy_in.copy()
    sm.sponsorship(off)
    assert off.sponsor == 0.0
    np.testing.assert_array_equal(off.buy_in, b0)


# -- committee ---------------------------------------------------------------------------------

def test_committee_meets_on_cadence(engine):
    """The committee meets at start_week and every cadence_weeks after, never before."""
    m = engine({"committee.enabled": True, "committee.cadence_weeks": 4, "committee.start_week": 2})
    met = []
    for week in range(12):
        m.week = week
        m.begin_week()
        sm.committee(m)
        met.append(m.committee_met)
    assert [w for w, x in enumerate(met) if x] == [2, 6, 10]


def test_committee_convergence_familiarity_trust_planning(engine):
    """A meeting pulls buy-in toward the influence-weighted mean and cuts jealousy, distrust and silos."""
    p = {"committee.enabled": True, "committee.convergence": 0.25, "committee.familiarity": 0.1,
         "committee.trust_gain": 0.2, "committee.planning": 0.05}
    m = engine(p)
    b0, j0, t0, s0 = m.buy_in.copy(), m.jealousy.copy(), m.trust.copy(), m.silo.copy()
    sm.committee(m)
    w = np.array([1.0, 0.6, 0.7])
    mean = (w @ b0[:, 0]) / w.sum()
    np.testing.assert_allclose(m.buy_in[:, 0], b0[:, 0] + 0.25 * (mean - b0[:, 0]))
    np.testing.assert_allclose(m.jealousy, j0 * 0.9)
    np.testing.assert_allclose(m.trust, t0 + 0.2 * (1 - t0))
    np.testing.assert_allclose(m.silo, s0 * 0.95)
    # Convergence narrows the spread of views.
    assert np.ptp(m.buy_in[:, 0]) < np.ptp(b0[:, 0])


@pytest.mark.parametrize("detection", [0.0, 1.0])
def test_committee_detects_covert_resisters(engine, detection):
    """A covert resister is caught with the detection probability: exposed, no longer covert, seen."""
    m = engine({"committee.enabled": True, "committee.detection": detection, "politics.exposure_weeks": 13})
    m.covert[CFO] = True
    m.expressed[CFO] = 0.95
    sm.committee(m)
    if detection == 1.0:
        assert not m.covert.any()
        np.testing.assert_array_equal(m.exposed[CFO], 13)
        np.testing.assert_array_equal(m.expressed[CFO], m.buy_in[CFO])
        np.testing.assert_array_equal(m.ev_detected, 1)
    else:
        assert m.covert[CFO].all() and (m.exposed == 0).all() and (m.ev_detected == 0).all()


def test_committee_detection_rate(engine):
    """Over many replications the share caught matches committee.detection within 4 standard errors."""
    R, rate = 4000, 0.35
    m = engine({"committee.enabled": True, "committee.detection": rate}, R=R)
    m.covert[CFO] = True
    sm.committee(m)
    share = m.ev_detected.mean()
    assert abs(share - rate) < 4 * np.sqrt(rate * (1 - rate) / R)  # binomial se of a proportion


def test_committee_disabled_does_nothing(engine):
    """With committee.enabled = false no meeting happens and nothing changes."""
    m = engine({"committee.enabled": False})
    m.covert[CFO] = True
    before = (m.buy_in.copy(), m.jealousy.copy(), m.silo.copy())
    sm.committee(m)
    assert not m.committee_met and m.covert[CFO].all()
    for a, b in zip(before, (m.buy_in, m.jealousy, m.silo)):
        np.testing.assert_array_equal(a, b)


# -- politics ----------------------------------------------------------------------------------

def _temperament(m, resist=1e-9, along=1e-9):
    """Fix every executive's temperament: uniforms just above 0 make anyone with a chance > 0 do it."""
    m.resist_u[:] = resist
    m.covert_u[:] = along


def test_resist_and_play_along_chances_are_smooth_s_curves():
    """Resisting: j^4 / (j^4 + t^4), 0 at j = 0, 1/2 at the threshold; playing along: 1/2 at its threshold."""
    from cxsim.submodels.politics import play_along_chance, resist_chance

    assert resist_chance(0.0, 0.35) == 0.0
    assert resist_chance(0.35, 0.35) == pytest.approx(0.5, abs=1e-15)
    assert resist_chance(0.7, 0.35) == pytest.approx(16 / 17, rel=1e-14)
    assert play_along_chance(0.4, 0.4, 0.1) == 0.5
    assert play_along_chance(0.5, 0.4, 0.1) == pytest.approx(0.5 * (1 + 1 / np.sqrt(2)), rel=1e-14)
    grid = np.linspace(0.0, 1.0, 2001)
    r = np.array([resist_chance(j, 0.35) for j in grid])
    a = np.array([play_along_chance(x, 0.4, 0.1) for x in grid])
    for chance in (r, a):  # monotone, and no step: neighbours 0.0005 apart differ by < 0.01
        assert (np.diff(chance) >= 0).all() and np.abs(np.diff(chance)).max() < 0.01


def test_resister_plays_along_under_pressure(engine):
    """A resister whose temperament says play along is covert: expressed = max(buy-in, pressure), drag applies."""
    m = engine({"politics.conformity": 0.6, "politics.resist_threshold": 0.35, "politics.buy_in_drag": 0.1,
                "politics.covert_threshold": 0.5})
    _temperament(m)
    b0 = m.buy_in.copy()
    sm.politics(m)
    assert m.covert[CFO].all() and not m.covert[[CEO, CMO]].any()
    np.testing.assert_allclose(m.expressed[CFO], np.maximum(b0[CFO], 0.6))
    j = m.jealousy[CFO]
    np.testing.assert_allclose(m.buy_in[CFO], b0[CFO] - 0.1 * j * b0[CFO])
    np.testing.assert_array_equal(m.buy_in[[CEO, CMO]], b0[[CEO, CMO]])


def test_choices_follow_the_temperament_and_the_chances(engine):
    """Resist when resist_u < resist_chance(j); play along when also covert_u < play_along_chance(net pressure)."""
    from cxsim.submodels.politics import play_along_chance, resist_chance

    m = engine({"politics.conformity": 0.4, "politics.covert_threshold": 0.4, "politics.covert_width": 0.1}, R=400)
    m.resist_u[:] = np.linspace(0.001, 0.999, 400)[None, :]
    m.covert_u[:] = np.linspace(0.999, 0.001, 400)[None, :]
    sm.politics(m)
    j = m.jealousy[CFO]
    resisting = m.resist_u[CFO] < np.array([resist_chance(x, 0.35) for x in j])
    assert 0 < resisting.sum() < 400
    np.testing.assert_array_equal(m.covert[CFO], resisting & (m.covert_u[CFO] < play_along_chance(0.4, 0.4, 0.1)))


def test_resister_resists_openly_without_pressure(engine):
    """With little pressure a resister whose temperament is not to hide resists openly: expressed = true buy-in."""
    m = engine({"politics.conformity": 0.1, "sponsorship.resistance_cost": 0.0, "politics.covert_threshold": 0.5})
    _temperament(m, along=0.5)  # chance of playing along at net pressure 0.1: well below 0.5
    sm.politics(m)
    assert not m.covert.any()
    assert (m.expressed[CFO] >= m.buy_in[CFO]).all()  # expressed is the buy-in before this week's drag
    assert (m.buy_in[CFO] < 0.3).all()  # the drag still works on an open resister


def test_active_sponsor_makes_resisters_play_along(engine):
    """An active sponsor adds resistance_cost to the pressure, turning open resistance covert."""
    params = {"politics.conformity": 0.1, "sponsorship.resistance_cost": 0.55, "politics.covert_threshold": 0.5}
    covert = {}
    for sponsor in (0.0, 1.0):
        m = engine(params)
        _temperament(m, along=0.5)
        m.sponsor = sponsor
        sm.politics(m)
        covert[sponsor] = m.covert[CFO].all()
    assert covert == {0.0: False, 1.0: True}


def test_risk_of_being_seen_deters_playing_along(engine):
    """A sitting committee makes playing along riskier: deterrence x detection / cadence lowers net pressure."""
    base = {"politics.conformity": 0.5, "politics.covert_threshold": 0.45, "committee.detection": 0.4,
            "committee.cadence_weeks": 2, "politics.deterrence": 1.0}
    covert = {}
    for sitting in (False, True):
        m = engine({**base, "committee.enabled": sitting})
        _temperament(m, along=0.5)  # plays along exactly when the chance exceeds 1/2
        sm.politics(m)
        covert[sitting] = m.covert[CFO].all()
    assert covert == {False: True, True: False}  # net pressure 0.5 vs 0.5 - 0.2 = 0.3, threshold 0.45


def test_exposed_resister_cannot_play_along(engine):
    """A resister still exposed after being caught cannot play along; exposure counts down."""
    m = engine({"politics.conformity": 0.6, "politics.covert_threshold": 0.5})
    _temperament(m)
    m.exposed[CFO] = 3.0
    sm.politics(m)
    assert not m.covert.any()
    np.testing.assert_array_equal(m.exposed[CFO], 2.0)


def test_jealousy_grows_with_owner_status(engine):
    """Jealousy grows faster under a budget-holding owner (higher status) and never for the owner."""
    grown = {}
    for mandate in ("advisory", "budget"):
        m = engine({"owner.mandate": mandate, "politics.jealousy_growth": 0.2})
        j0 = m.jealousy[CFO].copy()
        sm.politics(m)
        grown[mandate] = m.jealousy[CFO] - j0
        assert (m.jealousy[CMO] == 0).all()
    assert (grown["budget"] > grown["advisory"]).all() and (grown["advisory"] > 0).all()


def test_covert_resistance_erodes_credibility_unless_shielded(engine):
    """Covert resisters erode the owner's credibility; an active sponsor's protection shields it."""
    cred = {}
    for sponsor in (0.0, 1.0):
        m = engine({"politics.conformity": 0.6, "politics.covert_threshold": 0.5, "politics.credibility_erosion": 0.05,
                    "sponsorship.owner_protection": 0.8})
        _temperament(m)
        m.sponsor = sponsor
        c0 = m.credibility.copy()
        sm.politics(m)
        cred[sponsor] = c0 - m.credibility
    assert (cred[0.0] > 0).all()
    np.testing.assert_allclose(cred[1.0], 0.2 * cred[0.0])


def test_politics_disabled_is_neutral(engine):
    """With politics off: expressed equals true buy-in and nobody is covert."""
    m = engine({"politics.enabled": False})
    m.covert[CFO] = True
    m.expressed[CFO] = 0.99
    b0 = m.buy_in.copy()
    sm.politics(m)
    np.testing.assert_array_equal(m.expressed, m.buy_in)
    np.testing.assert_array_equal(m.buy_in, b0)
    assert not m.covert.any()


# -- social influence --------------------------------------------------------------------------

def test_social_influence_is_degroot_on_heard_views(engine):
    """Each executive moves toward W @ (others' expressed, own true view) at the given rate."""
    m = engine({"social_influence.rate": 0.5, "social_influence.noise": 0.0})
    m.expressed[CEO] = 1.0  # the CEO plays along in public
    b0, e0 = m.buy_in.copy(), m.expressed.copy()
    sm.social_influence(m)
    W = m.st.influence_matrix
    heard = W @ e0[:, 0] + np.diag(W) * (b0[:, 0] - e0[:, 0])
    np.testing.assert_allclose(m.buy_in[:, 0], b0[:, 0] + 0.5 * (heard - b0[:, 0]))
    # The CEO hears nobody but itself: its true view is unchanged by its own public face.
    assert m.buy_in[CEO, 0] == b0[CEO, 0]


def test_social_influence_noise_and_switch(engine):
    """Noise moves buy-in by noise * N(0, 1) per replication; disabled means no change at all."""
    m = engine({"social_influence.rate": 0.0, "social_influence.noise": 0.01}, R=3000)
    b0 = m.buy_in.copy()
    sm.social_influence(m)
    d = (m.buy_in - b0)[CFO]
    assert abs(d.std() - 0.01) < 4 * 0.01 / np.sqrt(2 * d.size)  # se of an sd is sd / sqrt(2n)
    off = engine({"social_influence.enabled": False})
    b0 = off.buy_in.copy()
    sm.social_influence(off)
    np.testing.assert_array_equal(off.buy_in, b0)


# -- persuasion --------------------------------------------------------------------------------

def test_persuasion_raises_buy_in_of_others_only(engine):
    """The owner persuades others in proportion to credibility x trust x (1 - jealousy)."""
    m = engine({"persuasion.rate": 0.1})
    b0, j, t = m.buy_in.copy(), m.jealousy.copy(), m.trust.copy()
    sm.persuasion(m)
    effect = 0.1 * m.credibility[None, :] * (1 - j) * t
    effect[CMO] = 0
    np.testing.assert_allclose(m.buy_in, b0 + effect * (1 - b0))
    assert (m.buy_in[CMO] == b0[CMO]).all()


def test_persuasion_needs_an_owner(engine):
    """While the owner's post is vacant nobody is persuaded."""
    m = engine({"persuasion.rate": 0.1})
    m.owner_present[:] = False
    b0 = m.buy_in.copy()
    sm.persuasion(m)
    np.testing.assert_array_equal(m.buy_in, b0)


# -- business case -----------------------------------------------------------------------------

def test_results_above_threshold_build_buy_in(engine):
    """Visible results above the threshold raise buy-in and credibility; disabled leaves them alone."""
    m = engine({"business_case.threshold": 0.1, "business_case.lag_weeks": 1, "business_case.gain": 0.2})
    base = m.params["journey.baseline_quality"]
    m.cx = np.full(m.R, base + 0.5 * (1 - base))  # half the possible CX gain over the no-adoption baseline
    b0, c0 = m.buy_in.copy(), m.credibility.copy()
    sm.business_case(m)
    np.testing.assert_allclose(m.results, 0.5)
    up = 0.2 * (0.5 - 0.1)
    np.testing.assert_allclose(m.buy_in, b0 + up * (1 - b0))
    np.testing.assert_allclose(m.credibility, c0 + up * (1 - c0))
    off = engine({"business_case.enabled": False})
    off.cx = off.cx + 0.5
    b0 = off.buy_in.copy()
    sm.business_case(off)
    np.testing.assert_array_equal(off.buy_in, b0)
    assert (off.results == 0).all()


def test_results_below_threshold_erode_after_patience(engine):
    """Below the threshold buy-in erodes, but only once the patience weeks are over."""
    p = {"business_case.threshold": 0.2, "business_case.patience_weeks": 10, "business_case.erosion": 0.05}
    m = engine(p)
    b0 = m.buy_in.copy()
    m.week = 9
    sm.business_case(m)
    np.testing.assert_array_equal(m.buy_in, b0)
    m.week = 10
    sm.business_case(m)
    np.testing.assert_allclose(m.buy_in, b0 - 0.05 * 1.0 * b0)  # results 0: fully below threshold


def test_results_are_lagged(engine):
    """Results approach the CX gain with time constant lag_weeks."""
    m = engine({"business_case.lag_weeks": 4})
    base = m.params["journey.baseline_quality"]
    m.cx = np.full(m.R, base + 0.4 * (1 - base))
    sm.business_case(m)
    np.testing.assert_allclose(m.results, 0.4 / 4)
    sm.business_case(m)
    np.testing.assert_allclose(m.results, 0.1 + (0.4 - 0.1) / 4)


def test_results_start_from_the_initial_adoption(engine, make_scenario):
    """Results are read against the no-adoption baseline, so a start with adopters shows results at week 0."""
    none = engine()
    assert (none.results == 0).all()  # nobody practises CX yet: nothing to see
    start = {"departments": [dict(d, initial_adoption=0.5) for d in make_scenario().to_dict()["departments"]]}
    m = engine(**start)
    base = m.params["journey.baseline_quality"]
    np.testing.assert_allclose(m.results, (m.cx - base) / (1 - base), rtol=1e-12)
    assert (m.results > 0.4).all()  # every stage half adopted: close to half the possible gain
    off = engine({"business_case.enabled": False}, **start)
    assert (off.results == 0).all()


# -- attrition ---------------------------------------------------------------------------------

def _certain_departure(extra=None):
    return {"attrition.hazard": 1.0, "attrition.credibility_protection": 0.0,
            "sponsorship.owner_protection": 0.0, "attrition.vacancy_weeks": 1, **(extra or {})}


def test_owner_leaves_and_successor_arrives(engine):
    """At hazard 1 the owner leaves at once; with a one-week vacancy a successor arrives next week."""
    m = engine(_certain_departure({"owner.mandate": "budget", "attrition.budget_cut": 0.25,
                                   "attrition.successor_reset": 0.5}))
    m.credibility[:] = 0.9
    sm.attrition(m)
    assert not m.owner_present.any() and m.ev_owner_left.all()
    np.testing.assert_array_equal(m.departures, 1)
    np.testing.assert_array_equal(m.first_tenure, 1)
    np.testing.assert_allclose(m.budget, 60.0 * 0.75)
    j0 = m.jealousy.copy()
    m.week += 1
    m.begin_week()
    sm.attrition(m)
    assert m.owner_present.all() and m.ev_successor.all() and not m.ev_owner_left.any()
    np.testing.assert_allclose(m.credibility, 0.5)  # owner.initial_credibility
    np.testing.assert_allclose(m.jealousy, 0.5 * j0)
    np.testing.assert_array_equal(m.tenure, 0)


def test_vacancy_length_is_geometric_with_given_mean(engine):
    """Vacancies last vacancy_weeks on average (geometric), within 4 standard errors."""
    R, mean = 3000, 10
    m = engine(_certain_departure({"attrition.vacancy_weeks": mean}), R=R)
    sm.attrition(m)
    v = m.vacancy
    assert v.min() >= 1 and (v == np.round(v)).all()
    sd = np.sqrt(1 - 1 / mean) * mean  # geometric on {1, 2, ...} with success 1/mean
    assert abs(v.mean() - mean) < 4 * sd / np.sqrt(R)


def test_support_protects_the_owner(engine):
    """An active sponsor removes owner_protection of the hazard: fewer departures."""
    R = 4000
    left = {}
    for sponsor in (0.0, 1.0):
        m = engine({"attrition.hazard": 0.5, "attrition.credibility_protection": 0.0,
                    "sponsorship.owner_protection": 0.8}, R=R)
        m.sponsor = sponsor
        sm.attrition(m)
        left[sponsor] = m.ev_owner_left.mean()
    # Expected: 0.5 x (1 - 0.8 x support); support without a sponsor is CEO buy-in x understanding.
    support0 = 0.6 * 0.4  # the tiny organization's CEO
    for sponsor, support in ((0.0, support0), (1.0, 1.0)):
        expect = 0.5 * (1 - 0.8 * support)
        assert abs(left[sponsor] - expect) < 4 * np.sqrt(expect * (1 - expect) / R)  # binomial se


def test_budget_cuts_without_support(engine):
    """Budgets of a budget-holding owner are cut at budget_cut_hazard x (1 - support)."""
    R = 4000
    m = engine({"owner.mandate": "budget", "attrition.hazard": 0.0, "attrition.budget_cut_hazard": 0.5,
                "attrition.budget_cut": 0.25}, R=R)
    sm.attrition(m)
    cut = m.ev_budget_cut
    expect = 0.5 * (1 - 0.6 * 0.4)
    assert abs(cut.mean() - expect) < 4 * np.sqrt(expect * (1 - expect) / R)
    np.testing.assert_allclose(m.budget[cut], 45.0)
    np.testing.assert_allclose(m.budget[~cut], 60.0)


def test_attrition_disabled_keeps_the_owner(engine):
    """With attrition off the owner never leaves and budgets are never cut."""
    m = engine(_certain_departure({"attrition.enabled": False, "owner.mandate": "budget",
                                   "attrition.budget_cut_hazard": 1.0}))
    for _ in range(5):
        m.begin_week()
        sm.attrition(m)
        m.week += 1
    assert m.owner_present.all() and (m.departures == 0).all() and (m.budget == 60.0).all()


def test_advisory_owner_has_no_budget_to_cut(engine):
    """An advisory owner has no budget, so an owner's departure is not a budget cut."""
    m = engine(_certain_departure({"owner.mandate": "advisory"}))
    sm.attrition(m)
    assert m.ev_owner_left.all()
    assert not m.ev_budget_cut.any()


# -- mandate -----------------------------------------------------------------------------------

def test_budget_spending_raises_skill_and_readiness_and_weakens_silos(engine):
    """A budget-holding owner's spending intensity scales training, staff and targets."""
    p = {"owner.mandate": "budget", "owner.budget": 10.0, "mandate.reference_intensity": 20.0,
         "mandate.training_rate": 0.1, "mandate.staff_rate": 0.05, "mandate.targets_rate": 0.2}
    m = engine(p)
    s0, r0, silo0 = m.skill.copy(), m.readiness.copy(), m.silo.copy()
    sm.mandate(m)
    np.testing.assert_allclose(m.spent, 10.0)
    intensity = 10.0 / (500 / 1000) / 20.0  # k per 1000 employees per week / reference = 1
    np.testing.assert_allclose(m.skill, s0 + 0.1 * intensity * (1 - s0))
    np.testing.assert_allclose(m.readiness, r0 + 0.05 * intensity * (1 - r0))
    np.testing.assert_allclose(m.silo, silo0 * (1 - 0.2 * intensity))


def test_advisory_owner_spends_nothing(engine):
    """An advisory owner spends nothing and changes no skill or readiness."""
    m = engine({"owner.mandate": "advisory"})
    s0 = m.skill.copy()
    sm.mandate(m)
    assert (m.spent == 0).all()
    np.testing.assert_array_equal(m.skill, s0)


def test_mandate_disabled_spends_without_effect(engine):
    """With the mandate mechanism off, money is spent but buys no skill, readiness or silo change."""
    m = engine({"owner.mandate": "budget", "mandate.enabled": False, "owner.budget": 1000.0})
    before = (m.skill.copy(), m.readiness.copy(), m.silo.copy())
    sm.mandate(m)
    np.testing.assert_allclose(m.spent, 1000.0)
    for a, b in zip(before, (m.skill, m.readiness, m.silo)):
        np.testing.assert_array_equal(a, b)


def test_no_spending_while_post_is_vacant(engine):
    """While the owner's post is vacant the budget is not spent."""
    m = engine({"owner.mandate": "budget"})
    m.owner_present[:2] = False
    sm.mandate(m)
    np.testing.assert_array_equal(m.spent, [0.0, 0.0, 60.0, 60.0])


# -- readiness ---------------------------------------------------------------------------------

def test_readiness_follows_owning_executive_and_fatigue(engine):
    """Readiness moves toward the owning executive's buy-in; fatigue accumulates and wears it down."""
    p = {"readiness.alignment_rate": 0.1, "readiness.fatigue_rate": 0.05, "readiness.fatigue_recovery": 0.0,
         "readiness.fatigue_effect": 0.2}
    m = engine(p)
    r0 = m.readiness.copy()
    sm.readiness(m)
    lead = m.buy_in[[CMO, CFO]]  # sales reports to the cmo, billing to the cfo
    aligned = r0 + 0.1 * (lead - r0)
    fatigue = 0.05 * m.st.load  # nobody has adopted yet
    np.testing.assert_allclose(m.fatigue, fatigue)
    np.testing.assert_allclose(m.readiness, aligned - 0.2 * fatigue * aligned)


def test_readiness_disabled_is_constant(engine):
    """With readiness off, readiness and fatigue stay put."""
    m = engine({"readiness.enabled": False})
    r0 = m.readiness.copy()
    sm.readiness(m)
    np.testing.assert_array_equal(m.readiness, r0)
    assert (m.fatigue == 0).all()


# -- employee adoption -------------------------------------------------------------------------

def _neutral_adoption(extra=None):
    keys = ["leadership_weight", "owner_weight", "readiness_weight", "skill_weight", "silo_weight"]
    return {**{f"adoption.{k}": 0.0 for k in keys}, "adoption.reversion": 0.0,
            "change_load.enabled": False, **(extra or {})}


def test_adoption_certain_and_impossible(engine):
    """Push probability 1 converts everyone in one week; p = q = 0 converts nobody."""
    m = engine(_neutral_adoption({"adoption.p": 1.0}))
    sm.employee_adoption(m)
    np.testing.assert_array_equal(m.adopters, m.st.headcount[:, None] * np.ones((1, m.R)))
    m = engine(_neutral_adoption({"adoption.p": 0.0, "adoption.q": 0.0}))
    sm.employee_adoption(m)
    assert (m.adopters == 0).all()


def test_adoption_hazard_mean(engine):
    """New adopters average (N - A)(p + q A/N) per department under neutral drivers (4 se)."""
    R = 2000
    m = engine(_neutral_adoption({"adoption.p": 0.01, "adoption.q": 0.3, "adoption.cross_department": 0.0}), R=R)
    m.adopters[SALES] = 100.0
    m.adopters[BILLING] = 50.0
    sm.employee_adoption(m)
    for d, (N, A) in enumerate(((400, 100), (100, 50))):
        h = 0.01 + 0.3 * A / N
        new = m.adopters[d] - A
        mean, sd = (N - A) * h, np.sqrt((N - A) * h * (1 - h))
        assert abs(new.mean() - mean) < 4 * sd / np.sqrt(R)


def test_cross_department_ripple(engine):
    """Imitation draws on the whole organization in proportion to cross_department."""
    R = 2000
    got = {}
    for cross in (0.0, 1.0):
        m = engine(_neutral_adoption({"adoption.p": 0.0, "adoption.q": 0.5, "adoption.cross_department": cross}),
                   R=R)
        m.adopters[SALES] = 400.0  # sales fully adopted, billing none
        sm.employee_adoption(m)
        got[cross] = m.adopters[BILLING].mean()
    assert got[0.0] == 0.0  # no peers in billing, no ripple: nobody imitates
    expect = 100 * 0.5 * 400 / 500
    assert abs(got[1.0] - expect) < 4 * np.sqrt(100 * 0.4 * 0.6 / R)


def test_reversion_without_support(engine):
    """With zero support and reversion 1 at threshold 1, every adopter reverts; with 0 none does."""
    base = _neutral_adoption({"adoption.p": 0.0, "adoption.q": 0.0, "adoption.support_threshold": 1.0})
    for rate, left in ((1.0, 0.0), (0.0, 200.0)):
        m = engine({**base, "adoption.reversion": rate})
        m.adopters[SALES] = 200.0
        m.buy_in[:] = 0.0
        m.owner_present[:] = False
        sm.employee_adoption(m)
        np.testing.assert_array_equal(m.adopters[SALES], left)


def test_covert_sabotage_slows_adoption(engine):
    """A covert resister's jealousy x sabotage cuts its departments' push."""
    R = 3000
    means = {}
    for covert in (False, True):
        m = engine({"adoption.p": 0.2, "adoption.q": 0.0, "politics.sabotage": 1.0,
                    "adoption.leadership_weight": 1.0, "change_load.enabled": False}, R=R)
        m.jealousy[CFO] = 0.8
        m.covert[CFO] = covert
        sm.employee_adoption(m)
        means[covert] = m.adopters[BILLING].mean()
    # Billing's push: factor 1 + (2 x 0.3 x (1 - 0.8 sabotage) - 1) vs 1 + (2 x 0.3 - 1); a
    # difference of ~7 adopters out of 100, against a standard error of ~0.25 per mean.
    assert means[True] < means[False] - 4 * np.sqrt(2 * 100 * 0.25 / R)


def test_adoption_disabled_is_frozen(engine):
    """With adoption off nobody adopts or reverts."""
    m = engine({"adoption.enabled": False, "adoption.p": 1.0})
    sm.employee_adoption(m)
    assert (m.adopters == 0).all()


# -- skill -------------------------------------------------------------------------------------

def test_skill_grows_by_doing(engine):
    """Skill gains learning_rate x department adoption of the gap to 1; none without adopters."""
    m = engine({"skill.learning_rate": 0.1})
    m.adopters[SALES] = 200.0
    s0 = m.skill.copy()
    sm.skill(m)
    np.testing.assert_allclose(m.skill[SALES], s0[SALES] + 0.1 * 0.5 * (1 - s0[SALES]))
    np.testing.assert_array_equal(m.skill[BILLING], s0[BILLING])
    off = engine({"skill.enabled": False})
    off.adopters[SALES] = 200.0
    s0 = off.skill.copy()
    sm.skill(off)
    np.testing.assert_array_equal(off.skill, s0)


def test_back_office_starts_with_less_skill():
    """In the reference organization back-office departments start with less CX skill."""
    import cxsim

    m = cxsim.CXModel("reference", seed=0, overrides={"organization.initial_spread": 0.0})
    front = [d.skill for d in m.departments if d.office == "front"]
    back = [d.skill for d in m.departments if d.office == "back"]
    assert front and back and np.mean(back) < np.mean(front)


# -- journey -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lam", [1.0, 0.0, -2.0, -20.0])
def test_cx_index_is_power_mean_of_stage_quality(engine, lam):
    """The CX index is the power mean (exponent lam) of stage qualities base + (1 - base) x adoption."""
    m = engine({"journey.weak_link_exponent": lam, "journey.baseline_quality": 0.2})
    m.adopters[SALES] = 360.0  # 90% adoption in the "buy" stage
    m.adopters[BILLING] = 10.0  # 10% in the "pay" stage
    sm.journey(m)
    q = np.array([0.2 + 0.8 * 0.9, 0.2 + 0.8 * 0.1])
    expect = np.exp(np.log(q).mean()) if lam == 0 else (np.mean(q ** lam)) ** (1 / lam)
    np.testing.assert_allclose(m.cx, expect, rtol=1e-12)
    assert m.cx[0] <= q.mean() + 1e-15


def test_weak_links_are_punished(engine):
    """With exponent -2 the index is below the plain mean when stages differ, equal when they do not."""
    idx = {}
    for lam in (1.0, -2.0):
        m = engine({"journey.weak_link_exponent": lam})
        m.adopters[SALES] = 360.0
        m.adopters[BILLING] = 10.0
        sm.journey(m)
        idx[lam] = m.cx[0]
        m.adopters[SALES], m.adopters[BILLING] = 200.0, 50.0  # both stages at 50%
        sm.journey(m)
        idx[(lam, "equal")] = m.cx[0]
    assert idx[-2.0] < idx[1.0] - 0.05
    assert idx[(-2.0, "equal")] == pytest.approx(idx[(1.0, "equal")], rel=1e-12)


def test_journey_disabled_is_plain_mean(engine):
    """With journey off the index is the plain mean of stage qualities whatever the exponent."""
    m = engine({"journey.enabled": False, "journey.weak_link_exponent": -5.0, "journey.baseline_quality": 0.2})
    m.adopters[SALES] = 360.0
    m.adopters[BILLING] = 10.0
    sm.journey(m)
    np.testing.assert_allclose(m.cx, (0.92 + 0.28) / 2)


def test_stage_quality_weights_serving_departments_by_headcount(engine):
    """A stage served by several departments takes their headcount-weighted adoption."""
    m = engine({"journey.weak_link_exponent": 1.0, "journey.baseline_quality": 0.0},
               stages=[{"id": "all", "departments": ["sales", "billing"]}])
    m.adopters[SALES] = 400.0  # 100% of 400, 0% of 100: 80% of the stage's people
    sm.journey(m)
    np.testing.assert_allclose(m.cx, 0.8)
