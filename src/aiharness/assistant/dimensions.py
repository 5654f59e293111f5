"""The physical dimension a question asks for (a time, a length, a current, a price...) and
whether a sentence states one.

"HX-201 전열판 두께는 몇 mm인가요?" wants a length; a passage about HX-201 that names its 121
plates but no thickness does not answer it, however many of the question's words it shares.
The relevance check uses this to refuse such answers (see ``relevance.py``).
"""

from __future__ import annotations

import re

# A number (1, 2.5, 1,780, ½ not included) followed by a unit of the dimension.
_NUMBER = r"\d(?:[\d,.]*\d)?\s?"
_UNITS: dict[str, str] = {
    "time": r"(시간|분|초|일|주일?|개월|년|h|hrs?|hours?|min(?:utes?)?|s|secs?|seconds?|"
    r"days?|weeks?|months?|years?)",
    "length": r"(mm|cm|m|µm|um|km|inch(?:es)?)",
    "temperature": r"(°\s?C|℃|°\s?F|도)",
    "pressure": r"(bar|MPa|kPa|Pa|psi)",
    "current": r"(A|mA|kA|amps?)",
    "voltage": r"(V|kV|mV|volts?)",
    "power": r"(kW|MW|W|HP|hp)",
    "frequency": r"(Hz|kHz|rpm|CPM)",
    "torque": r"(N\s?·?\s?m|kgf\s?·?\s?m|lbf\s?·?\s?ft|ft\s?·?\s?lbs?)",
    "money": r"([십백천만억조]*\s?원|달러|USD|KRW|EUR|€|\$|won)",
}
# Unit symbols whose case matters (2 A is a current, "2 a day" is not; 5 N·m, not 5 nm).
_CASED = frozenset({"current", "voltage", "power", "torque"})
_STATED = {
    name: re.compile(_NUMBER + units + r"(?![A-Za-z])", 0 if name in _CASED else re.IGNORECASE)
    for name, units in _UNITS.items()
}
# Money is also written before the number ($1,200, ₩50,000, USD 300).
_MONEY_FIRST = re.compile(r"([$€₩]|USD|KRW|EUR)\s?\d", re.IGNORECASE)
# Repeats stated as "every 3 months", "3개월마다", "매주": a time as well.
_PERIODIC = re.compile(r"마다|매(일|주|월|년|회)|\bevery\b|\bdaily\b|\bweekly\b|\bmonthly\b", re.I)

# What the question's wording asks for -> the dimensions that would answer it.
_ASKED: list[tuple[re.Pattern[str], frozenset[str]]] = [
    (
        re.compile(r"\bhow long\b", re.I),
        frozenset({"time", "length"}),  # "how long must it run" / "how long is the shaft"
    ),
    (
        re.compile(
            r"\bhow often\b|\b(interval|duration|how many (hours|minutes|days|weeks|months))\b"
            r"|시간|기간|주기|자주|얼마 ?동안|몇 ?(시간|분|초|일|주|개월|년)",
            re.I,
        ),
        frozenset({"time"}),
    ),
    (
        re.compile(
            r"\b(thickness|length|width|diameter|clearance|gap|offset|depth)\b"
            r"|두께|길이|치수|간극|직경|지름|몇 ?(mm|cm|m)(?![A-Za-z])",
            re.I,
        ),
        frozenset({"length"}),
    ),
    (re.compile(r"\btemperature\b|온도|몇 ?도", re.I), frozenset({"temperature"})),
    (re.compile(r"\bpressure\b|압력", re.I), frozenset({"pressure"})),
    (re.compile(r"\btorque\b|토크|체결력", re.I), frozenset({"torque"})),
    (re.compile(r"\b(current|amperage)\b|전류|몇 ?A(?![A-Za-z])"), frozenset({"current"})),
    (re.compile(r"\bvoltage\b|전압|몇 ?V(?![A-Za-z])"), frozenset({"voltage"})),
    (re.compile(r"\b(cost|price)\b|비용|가격|금액|단가|요금", re.I), frozenset({"money"})),
]


def asked_dimensions(question: str) -> list[frozenset[str]]:
    """Each dimension the question asks for, as the set of dimensions that would answer it."""
    return [dims for pattern, dims in _ASKED if pattern.search(question)]


def states(sentence: str, dimensions: frozenset[str]) -> bool:
    """Whether the sentence states a value of one of ``dimensions``."""
    if "money" in dimensions and _MONEY_FIRST.search(sentence):
        return True
    if "time" in dimensions and _PERIODIC.search(sentence):
        return True
    return any(_STATED[d].search(sentence) for d in dimensions)
