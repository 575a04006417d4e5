"""Close names, and the local healer that proposes them (``FuzzyHealer``, the ``Healer`` port with no model).

A name the page shows is *close enough* to the name a step asked for when the two say the same thing in other
words: after lower-casing, dropping punctuation and a few filler words (``the``, ``a``, ``an``, ``to``,
``our``, ``your``, ``my``, ``please``) and writing known synonyms one way (``log in`` / ``login`` / ``sign
in``; ``username`` / ``user name``; ``remove`` / ``delete``; ``preferences`` / ``settings``; ``continue`` /
``next``; ``colour`` / ``color``...), **every word of the one pairs with a word of the other**: equal, or
spelled nearly alike (an edit similarity of at least :data:`WORD_MIN`; a typo, a plural). Some words pair
only when equal, never by spelling:

- words of three letters or fewer;
- a word with a digit in it (numbers, ids, codes: ``Cancel order 12345`` is never ``Cancel order 12346``,
  ``Item 1000`` never ``Item 10000``), and a synonym phrase (``sign out`` is never ``sign up``);
- two words that are one word under different negating or reversing affixes: a prefix of :data:`PREFIXES`
  (``Save`` / ``Unsave``, ``Visible`` / ``Invisible``, ``Connect`` / ``Disconnect``, ``Activate`` /
  ``Deactivate`` / ``Reactivate``, ``Ascending`` / ``Descending``, ``Move`` / ``Remove``) or opposed
  suffixes of :data:`SUFFIXES` (``Password`` / ``Passwordless``, ``Harmful`` / ``Harmless``, ``Should`` /
  ``Shouldnt``), checked after lower-casing: the affix is told apart from a typo in a word's first letters
  (``Dsiplay`` / ``Display`` still pair) by the stems without it being spelled at least as alike as the words.

No word may be left over on either side, except a word the step's scope already says (``Remove Bread`` in the
row of ``Bread`` reads as ``Remove``); so a separate negation (``Not available``, ``Un-save``) never pairs
away. The names written without spaces being equal (``Username`` / ``User name``) is close too, when their
numbers are the same (``$1.50`` is never ``$150``). The score (0 to 1) is the edit similarity of the two
names' sorted words (a token-sort ratio), 1.0 only for names equal but for case, spaces and punctuation, and at
most :data:`SYNONYM_SCORE` for a name that needed a synonym; a close name scores at least :data:`MIN_SCORE`.

So a removed "Delete" button never reads as "Delete all" (``all`` is left over), "Log in" never as "Log out",
"Save" never as "Save draft" nor "Unsave", "Payment successful" never as "Payment unsuccessful", however high
their edit similarity. A word refused that a reader would take for the same is a failed step to look at; a
word paired that says the opposite would be a false green, so the rule errs on refusing. The runner verifies
every proposal with :func:`judge` whatever the healer said of it (``runner_container/runner/healing.py``), and
a description's close-name tier uses it too (``runner_container/runner/targets.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from shared.models.planning import HealProposal, HealRequest

#: what a close name scores at least
MIN_SCORE = 0.6
#: how alike two words must be spelled to pair (an edit similarity; words of 3 letters or fewer must be equal)
WORD_MIN = 0.8
#: names equal when written without spaces ("Username" / "User name") score this
COMPACT_SCORE = 0.97
#: the most a name that needed a synonym scores
SYNONYM_SCORE = 0.9
#: candidates a healer proposes at most, and the least score it bothers to propose
MAX_PROPOSALS = 5
PROPOSAL_FLOOR = 0.3

FILLER = frozenset({"the", "a", "an", "to", "our", "your", "my", "please"})

#: prefixes that negate or reverse a word ("unsave", "invisible", "disconnect", "deactivate", "reactivate"):
#: two words that differ in one of them never pair by spelling
PREFIXES: tuple[str, ...] = (
    "un", "in", "im", "il", "ir", "dis", "de", "non", "anti", "mis", "no", "not", "ab", "mal", "counter",
    "re", "en", "ex", "pre", "post", "over", "under", "up", "down", "out",
)  # fmt: skip
#: suffixes, and the pairs of them (one may be none) that say opposite things ("passwordless", "harmful" /
#: "harmless", "shouldnt")
SUFFIXES: tuple[str, ...] = ("less", "ful", "nt")
OPPOSED_SUFFIXES: frozenset[frozenset[str]] = frozenset(
    {frozenset({"", "less"}), frozenset({"ful", "less"}), frozenset({"", "nt"})}
)

#: phrases that mean the same, each group written as its first member
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("sign in", "log in", "login", "signin", "log on", "logon"),
    ("sign out", "log out", "logout", "signout", "log off", "logoff"),
    ("sign up", "signup", "register", "create account"),
    ("username", "user name", "user id", "userid"),
    ("email", "e mail", "email address", "e mail address"),
    ("remove", "delete"),
    ("settings", "preferences"),
    ("continue", "next", "proceed"),
    ("search", "find"),
    ("color", "colour"),
    ("favorite", "favourite"),
    ("ok", "okay"),
)

#: the roles an action can act on, as the step's verb implies them (empty: any role)
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "click": ("button", "link", "checkbox", "radio", "tab", "menuitem", "option"),
    "fill": ("textbox", "searchbox", "combobox", "spinbutton"),
    "check": ("checkbox", "radio", "switch"),
    "uncheck": ("checkbox", "radio", "switch"),
    "select": ("combobox", "listbox"),
}


def roles_for(action: str) -> tuple[str, ...]:
    """The roles ``action`` implies (empty: any role will do)."""
    return ACTION_ROLES.get(action, ())


_PUNCT = re.compile(r"[^\w\s]+|_")
_DIGIT = re.compile(r"\d")


def words(text: str) -> list[str]:
    """``text`` lower-cased, punctuation dropped, split into words."""
    return _PUNCT.sub(" ", text.lower()).split()


def _synonym_table() -> list[tuple[list[str], str]]:
    table = [(phrase.split(), group[0]) for group in SYNONYMS for phrase in group]
    return sorted(table, key=lambda item: -len(item[0]))  # longest phrases first


_TABLE = _synonym_table()


def canonical(tokens: list[str]) -> list[str]:
    """``tokens`` with known synonyms written one way (a group's first phrase, as one word)."""
    return [token for token, _ in _canonical(tokens)]


def _canonical(tokens: list[str]) -> list[tuple[str, str]]:
    """Each canonical token with the words it stands for, as written."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        for phrase, canon in _TABLE:
            if tokens[i : i + len(phrase)] == phrase:
                out.append((canon.replace(" ", "_"), " ".join(phrase)))
                i += len(phrase)
                break
        else:
            out.append((tokens[i], tokens[i]))
            i += 1
    return out


def _meaningful(tokens: list[str]) -> list[str]:
    kept = [t for t in tokens if t not in FILLER]
    return kept or tokens


@lru_cache(maxsize=4096)
def similarity(a: str, b: str) -> float:
    """The edit similarity of two strings: 2 x their longest common subsequence / their total length (the
    normalized Indel similarity, as rapidfuzz's ``ratio``)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0]
        for j, cb in enumerate(b):
            current.append(previous[j] + 1 if ca == cb else max(previous[j + 1], current[j]))
        previous = current
    return 2 * previous[-1] / (len(a) + len(b))


def _pair(a: str, b: str) -> bool:
    """Whether two (canonical) words pair: equal, or spelled nearly alike and neither exact nor opposite."""
    if a == b:
        return True
    if len(a) <= 3 or len(b) <= 3:
        return False
    if _DIGIT.search(a) or _DIGIT.search(b) or "_" in a or "_" in b:
        return False  # numbers, ids, codes, and synonym phrases ("sign out" / "sign up") are exact
    alike = similarity(a, b)
    return alike >= WORD_MIN and not _opposite(a, b, alike)


def _opposite(a: str, b: str, alike: float) -> bool:
    """Whether ``a`` and ``b`` are one word under different negating or reversing affixes (``save`` /
    ``unsave``, ``deactivate`` / ``reactivate``, ``password`` / ``passwordless``, ``should`` / ``shouldnt``):
    they differ in an affix whose removal leaves stems spelled at least as alike as the words are, and nearly
    alike (so a typo in a word's first letters, ``Dlete`` / ``Delete``, still pairs)."""
    for pa, ra in _splits(a, PREFIXES, front=True):
        for pb, rb in _splits(b, PREFIXES, front=True):
            if pa != pb and _stems_alike(ra, rb, alike):
                return True
    for sa, ra in _splits(a, SUFFIXES, front=False):
        for sb, rb in _splits(b, SUFFIXES, front=False):
            if sa != sb and frozenset((sa, sb)) in OPPOSED_SUFFIXES and _stems_alike(ra, rb, alike):
                return True
    return False


def _splits(word: str, affixes: tuple[str, ...], *, front: bool) -> list[tuple[str, str]]:
    """``word`` as (affix, stem) for no affix and each of ``affixes`` it starts (or ends) with."""
    out = [("", word)]
    for affix in affixes:
        if len(word) > len(affix) and (word.startswith(affix) if front else word.endswith(affix)):
            out.append((affix, word[len(affix) :] if front else word[: -len(affix)]))
    return out


def _stems_alike(a: str, b: str, alike: float) -> bool:
    stems = similarity(a, b)
    return a == b or (stems >= WORD_MIN and stems >= alike)


@dataclass(frozen=True)
class Judgement:
    score: float
    close: bool
    why: str  # what keeps it from being close ("" when it is)


def judge(wanted: str, name: str, *, context: str = "", synonyms: bool = True) -> Judgement:
    """How close ``name`` (what the page shows) is to ``wanted`` (what the step asked for); see the module's
    rule. ``context``: the text of the step's scope, whose words ``name`` may add."""
    w_raw, n_raw = words(wanted), words(name)
    if not w_raw or not n_raw:
        return Judgement(0.0, False, "it has no name")
    if w_raw == n_raw:
        return Judgement(1.0, True, "")
    if "".join(w_raw) == "".join(n_raw) and _numbers(wanted) == _numbers(name):
        return Judgement(COMPACT_SCORE, True, "")
    w = canonical(w_raw) if synonyms else list(w_raw)
    n = canonical(n_raw) if synonyms else list(n_raw)
    w, n = _meaningful(w), _meaningful(n)
    allowed = set(canonical(words(context)) if synonyms else words(context)) - set(w)
    n = [t for t in n if t not in allowed] or n
    # the names differ as written: equal words after synonyms and filler are at most SYNONYM_SCORE
    score = min(similarity(" ".join(sorted(w)), " ".join(sorted(n))), SYNONYM_SCORE if sorted(w) == sorted(n) else 0.99)
    left = list(n)
    missing: list[str] = []
    for token in w:
        match = next((c for c in left if _pair(token, c)), None)
        if match is None:
            missing.append(token)
        else:
            left.remove(match)
    # what the words were as written (``log in``, not the canonical ``sign in``): the step's, then the page's
    shown = {t: t.replace("_", " ") for t in [*missing, *left]}
    shown.update({t: said for t, said in _canonical(n_raw) if t in left})
    shown.update({t: said for t, said in _canonical(w_raw) if t in missing})
    if missing and left:
        why = f"it says {_quoted(left, shown)} where the step says {_quoted(missing, shown)}"
    elif missing:
        why = f"it lacks {_quoted(missing, shown)}"
    elif left:
        why = f"it adds {_quoted(left, shown)}"
    else:
        why = ""
    if not why:
        score = max(score, MIN_SCORE)
    return Judgement(round(score, 3), not why, why)


def _numbers(text: str) -> list[str]:
    """The runs of digits in ``text``, in order ("$1.50" has 1 and 50; "$150" has 150)."""
    return _DIGIT_RUN.findall(text)


_DIGIT_RUN = re.compile(r"\d+")


def _quoted(tokens: list[str], shown: dict[str, str]) -> str:
    return ", ".join(f'"{shown[t]}"' for t in tokens)


class FuzzyHealer:
    """Proposes the page's elements whose names are closest to the one the step asked for, among the roles
    its action can use; best first, at most :data:`MAX_PROPOSALS`, close ones (the module's rule) before the
    rest, so that the runner can say why the others were refused."""

    name = "fuzzy"

    def propose(self, request: HealRequest) -> list[HealProposal]:
        scored: list[tuple[bool, float, HealProposal]] = []
        for element in request.elements:
            if request.roles and element.role not in request.roles:
                continue
            shown = element.name or element.text
            verdict = judge(request.wanted, shown, context=request.context)
            if verdict.score < PROPOSAL_FLOOR:
                continue
            reason = f"name {shown!r} is close to {request.wanted!r}" if verdict.close else verdict.why
            scored.append(
                (verdict.close, verdict.score, HealProposal(index=element.index, score=verdict.score, reason=reason))
            )
        scored.sort(key=lambda item: (not item[0], -item[1]))
        return [proposal for _, _, proposal in scored[:MAX_PROPOSALS]]
