"""Where an organization lies outside what the model was calibrated on: one sentence per finding.

The default parameters were calibrated (docs/ODD.md section 5) on organizations of 150
to about 32,000 employees, with 4 to 11 functions (executives who own departments), 5
to 12 executives and customer journeys of 7 to 11 stages. Outside that range the
results are extrapolations; inputs left at their defaults are guesses about the company.
The CLI prints these warnings and the HTML report shows them.
"""

from __future__ import annotations

from .scenario import Scenario

__all__ = ["CALIBRATED", "calibration_warnings", "structure"]

CALIBRATED = {
    "employees": (150, 32_000),
    "functions": (4, 11),
    "executives": (5, 12),
    "journey stages": (7, 11),
}
"""Calibrated range (inclusive) of each structural feature."""

_MEANING = {
    "employees": "the size effect (a gentle decline in success with headcount) is extrapolated",
    "functions": "the extra load of coordinating more or fewer functions is extrapolated",
    "executives": "the politics among executives (jealousy, covert resistance, committee dynamics) is extrapolated",
    "journey stages": "the weak-link effect of the customer journey is extrapolated",
}


def structure(sc: Scenario) -> dict[str, int]:
    """The features the calibration range speaks of: employees, functions, executives, journey stages."""
    from .engine import functions_and_interfaces

    functions, _ = functions_and_interfaces(sc)
    employees = round(sum(int(d["headcount"]) for d in sc.departments) * float(sc["organization.headcount_scale"]))
    return {"employees": employees, "functions": functions, "executives": len(sc.executives),
            "journey stages": len(sc.stages)}


_GOVERNANCE_WORDS = {"owner.mandate": "the owner's mandate", "sponsorship.level": "CEO sponsorship",
                     "committee.enabled": "whether a CX committee exists"}


def _defaults_sentence(sc: Scenario) -> str | None:
    if not sc.defaulted:
        return None
    parts = [_GOVERNANCE_WORDS[k] for k in sc.defaulted if k in _GOVERNANCE_WORDS]
    counts: dict[tuple[str, str], int] = {}
    for k in sc.defaulted:
        if k not in _GOVERNANCE_WORDS:
            lname, fld = k.split(".")[0], k.rsplit(".", 1)[1]
            counts[(lname, fld)] = counts.get((lname, fld), 0) + 1
    sizes = {"executives": len(sc.executives), "departments": len(sc.departments)}
    words = {"buy_in": "buy-in", "silo_strength": "silo strength"}
    parts += [f"{words.get(fld, fld)} of {n} of {sizes[lname]} {lname}" for (lname, fld), n in counts.items()]
    shown = ", ".join(parts[:6]) + (f" and {len(parts) - 6} more" if len(parts) > 6 else "")
    return (f"{sc.name}: some consequential inputs were left at the model's defaults ({shown}), so they are "
            "guesses rather than facts about this company; estimate them (docs/organization-format.md) before "
            "taking the results as advice.")


def calibration_warnings(sc: Scenario) -> list[str]:
    """One plain sentence per way ``sc`` lies outside the calibrated range, and one for defaulted inputs."""
    out = []
    for feature, value in structure(sc).items():
        if feature == "journey stages" and not sc["journey.enabled"]:
            continue  # no journey, no weak links to extrapolate
        lo, hi = CALIBRATED[feature]
        if not lo <= value <= hi:
            side = "below" if value < lo else "above"
            noun = feature[:-1] if value == 1 else feature
            out.append(f"{sc.name} has {value:,} {noun}, {side} the calibrated range ({lo:,} to {hi:,} {feature}), "
                       f"so {_MEANING[feature]}: read the comparison between options rather than the absolute "
                       "chances.")
    note = _defaults_sentence(sc)
    if note:
        out.append(note)
    return out
