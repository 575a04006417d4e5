"""Close names (shared/planning/fuzzy.py): what a heal may read as the same name, what it never may; the
fuzzy healer's proposals; the aria snapshot read into the elements a healer is shown."""

from __future__ import annotations

import asyncio

import pytest

from runner_container.runner.healing import Counters, _refused, heal_roles, wanted_of
from runner_container.runner.targets import loose_pattern, page_elements, read_description
from shared.models import plans
from shared.models.planning import ElementInfo, HealProposal, HealRequest
from shared.models.plans import LabelTarget, RoleTarget
from shared.models.runs import RunStats
from shared.planning.fuzzy import MIN_SCORE, FuzzyHealer, judge, roles_for, similarity


@pytest.mark.parametrize(
    ("wanted", "shown"),
    [
        ("Log in", "Sign in"),  # synonyms
        ("Log in", "Login"),
        ("Username", "User name"),  # the same written without spaces
        ("Password", "Your password"),  # filler words
        ("Save preferences", "Save settings"),
        ("Favourite color", "Favorite colour"),  # spellings
        ("Subscribe to the newsletter", "Subscribe to our newsletter"),
        ("Remove", "Delete"),
        ("Continue", "Next"),
        ("Apples", "Apple"),  # a plural
        ("Save", "save!"),  # case and punctuation
        ("Sign in now", "now sign in"),  # word order
    ],
)
def test_names_that_say_the_same_are_close(wanted: str, shown: str) -> None:
    verdict = judge(wanted, shown)
    assert verdict.close and verdict.score >= MIN_SCORE, verdict


@pytest.mark.parametrize(
    ("wanted", "shown", "why"),
    [
        ("Delete", "Delete all", 'it adds "all"'),  # a removed Delete never heals onto Delete all
        ("Delete", "Delete account", 'it adds "account"'),
        ("Save", "Save draft", 'it adds "draft"'),
        ("Save and close", "Save", 'it lacks "and", "close"'),
        ("Log in", "Log out", "where the step says"),
        ("Medium", "Large", 'it says "large"'),
        ("Add", "And", "it says"),  # short words must be equal
        ("Remove", "Remove Bread", 'it adds "bread"'),  # without the scope that says Bread
    ],
)
def test_names_that_differ_in_meaning_are_not_close(wanted: str, shown: str, why: str) -> None:
    verdict = judge(wanted, shown)
    assert not verdict.close and why in verdict.why, verdict


OPPOSITES = [
    # a negating or reversing prefix: the one word says the opposite of the other
    ("Subscribe", "Unsubscribe"),
    ("Save", "Unsave"),
    ("Payment successful", "Payment unsuccessful"),
    ("Archive", "Unarchive"),
    ("Activate", "Deactivate"),
    ("Deactivate", "Reactivate"),
    ("Follow", "Unfollow"),
    ("Publish", "Unpublish"),
    ("Visible", "Invisible"),
    ("Available", "Unavailable"),
    ("Lock", "Unlock"),
    ("Like", "Unlike"),
    ("Paid", "Unpaid"),
    ("Approve", "Disapprove"),
    ("Connect", "Disconnect"),
    ("Read", "Unread"),
    ("Valid", "Invalid"),
    ("Possible", "Impossible"),
    ("Legal", "Illegal"),
    ("Regular", "Irregular"),
    ("Stop", "Nonstop"),
    ("Virus", "Antivirus"),
    ("Spell", "Misspell"),
    ("Normal", "Abnormal"),
    ("Function", "Malfunction"),
    ("Ascending", "Descending"),
    ("Encode", "Decode"),
    ("Attach", "Detach"),
    ("Move", "Remove"),
    ("Start", "Restart"),
    ("Review", "Preview"),
    ("Upload", "Unload"),
    ("Subscribed", "Unsubscribe"),  # a prefix and a typo or tense together
    ("Saved", "Unsaved"),
    # opposed suffixes
    ("Password", "Passwordless"),
    ("Harmful", "Harmless"),
    ("Should", "Shouldnt"),
    # antonyms refused by spelling alone, as before
    ("Enable", "Disable"),
    ("Import", "Export"),
    ("Online", "Offline"),
    ("Inclusive", "Exclusive"),
    ("Increase", "Decrease"),
    # synonym phrases are exact
    ("Sign out", "Sign up"),
    ("Log out", "Register"),
    # numbers, ids, codes are exact
    ("Cancel order 12345", "Cancel order 12346"),
    ("Invoice 100234", "Invoice 100235"),
    ("Item 1000", "Item 10000"),
    ("Order A1234", "Order A1235"),
    ("Price $1.50", "Price $150"),  # the same written without spaces, but not the same numbers
    ("Pay 1,000", "Pay 10,00"),
    # a negation written apart is a word left over
    ("Available", "Not available"),
    ("Save", "Un-save"),
]


@pytest.mark.parametrize(("wanted", "shown"), OPPOSITES)
@pytest.mark.parametrize("synonyms", [True, False])
def test_opposites_and_other_numbers_are_never_close(wanted: str, shown: str, synonyms: bool) -> None:
    for a, b in ((wanted, shown), (shown, wanted)):
        verdict = judge(a, b, synonyms=synonyms)
        assert not verdict.close and verdict.why, (a, b, verdict)


@pytest.mark.parametrize(
    ("wanted", "shown"),
    [
        ("User name", "Username"),
        ("Log in", "Sign in"),
        ("Logout", "Log out"),
        ("Remove", "Delete"),
        ("Sumbit", "Submit"),  # typos
        ("Subscribe to the newsleter", "Subscribe to the newsletter"),
        ("Adress", "Address"),
        ("Recieve", "Receive"),
        ("Settings", "Setings"),
        ("Invoice", "Invoce"),
        ("Dsiplay", "Display"),  # a typo in a word's first letters, that look like a prefix
        ("Rmeove", "Remove"),
        ("Invlaid", "Invalid"),
        ("Uplaod", "Upload"),
        ("Exprot", "Export"),
        ("Description", "Escription"),
        ("Payment", "Paymen"),
        ("Unsubscribe", "Unsubscribed"),  # the same prefix on both
        ("Deactivate", "Deactivated"),
        ("Disconnect", "Disconnected"),
        ("Apples", "Apple"),
        ("Notes", "Note"),
        ("Item 1", "Item1"),  # the same number
        ("Order #12345", "Order 12345"),
        ("Favourite color", "Favorite colour"),
    ],
)
def test_close_names_stay_close(wanted: str, shown: str) -> None:
    for a, b in ((wanted, shown), (shown, wanted)):
        verdict = judge(a, b)
        assert verdict.close and verdict.score >= MIN_SCORE, (a, b, verdict)


def test_an_opposite_says_which_words_differ() -> None:
    assert judge("Save", "Unsave").why == 'it says "unsave" where the step says "save"'
    assert judge("Cancel order 12345", "Cancel order 12346").why == 'it says "12346" where the step says "12345"'
    assert judge("Sign out", "Sign up").why == 'it says "sign up" where the step says "sign out"'


def test_the_fuzzy_healer_puts_an_opposite_after_the_close() -> None:
    els = elements(("button", "Unsave"), ("button", "Save changes"), ("button", "Unsubscribe"))
    proposals = FuzzyHealer().propose(request("Save", els))
    assert all("close" not in p.reason for p in proposals)
    req = request("Save", els)
    assert "its name is not close" in (_refused(req, HealProposal(index=0, score=1.0)) or "")


def test_the_scope_s_words_may_be_added() -> None:
    assert judge("Remove", "Remove Bread", context="Bread").close
    assert not judge("Remove", "Remove all Bread", context="Bread").close


def test_scores_order_closeness() -> None:
    assert judge("Save", "Save").score == 1.0
    assert judge("Username", "User name").score == 0.97
    assert judge("Log in", "Sign in").score == 0.9  # a synonym is never a perfect match
    assert judge("Delete", "Delete all").score < judge("Delete", "Delete").score
    assert judge("", "Save").score == 0.0 and not judge("Save", "").close


def test_without_synonyms_only_spelling_counts() -> None:
    assert not judge("Log in", "Sign in", synonyms=False).close
    assert judge("Username", "User name", synonyms=False).close
    assert judge("Favourite color", "Favorite colour", synonyms=False).close


def test_similarity_is_the_normalized_indel_similarity() -> None:
    assert similarity("abc", "abc") == 1.0
    assert similarity("", "abc") == 0.0
    assert similarity("color", "colour") == pytest.approx(10 / 11)


def test_the_roles_each_action_implies() -> None:
    assert roles_for("click")[:2] == ("button", "link")
    assert roles_for("fill") == ("textbox", "searchbox", "combobox", "spinbutton")
    assert roles_for("check") == roles_for("uncheck") == ("checkbox", "radio", "switch")
    assert roles_for("select") == ("combobox", "listbox")
    assert roles_for("hover") == ()  # any


def elements(*items: tuple[str, str]) -> list[ElementInfo]:
    return [ElementInfo(index=i, role=role, name=name) for i, (role, name) in enumerate(items)]


def request(wanted: str, els: list[ElementInfo], action: str = "click", context: str = "") -> HealRequest:
    return HealRequest(
        action=action,
        target=wanted,
        wanted=wanted,
        roles=list(roles_for(action)),
        reason="matched nothing",
        url="http://127.0.0.1/",
        elements=els,
        context=context,
    )


def test_the_fuzzy_healer_proposes_close_names_first_among_compatible_roles() -> None:
    els = elements(("heading", "Sign in"), ("link", "Sign up"), ("button", "Sign in"), ("button", "Sign in later"))

    proposals = FuzzyHealer().propose(request("Log in", els))

    assert proposals[0].index == 2  # the heading is no click target; the button is close
    assert 0 not in [p.index for p in proposals]
    assert proposals[0].score == 0.9 and "close" in proposals[0].reason
    assert all(not judge("Log in", els[p.index].name).close for p in proposals[1:])


def test_the_fuzzy_healer_proposes_nothing_far() -> None:
    assert FuzzyHealer().propose(request("Checkout", elements(("button", "Hi"), ("link", "Map")))) == []


def test_verification_refuses_what_the_healer_says_whatever_its_score() -> None:
    els = [*elements(("button", "Delete all"), ("heading", "Delete"), ("button", "Delete"))]
    els.append(ElementInfo(index=3, role="button", name="Delete", enabled=False))
    req = request("Delete", els)
    say = lambda i: _refused(req, HealProposal(index=i, score=1.0))  # noqa: E731

    assert 'it adds "all"' in (say(0) or "")
    assert "a heading is not what click acts on" in (say(1) or "")
    assert say(2) is None  # left to check on the page
    assert say(3) == "button 'Delete': disabled"
    assert "not an element of the page" in (say(9) or "")


def test_what_a_target_asks_for() -> None:
    assert wanted_of("the Log in button") == "Log in"
    assert wanted_of(RoleTarget(role="button", name="Save")) == "Save"
    assert wanted_of(RoleTarget(role="button", name="Save", exact=True)) is None  # exact: never healed
    assert wanted_of(plans.TestIdTarget(test_id="x")) is None and wanted_of(RoleTarget(role="button")) is None
    assert heal_roles(LabelTarget(label="Email"), "fill") == roles_for("fill")
    assert heal_roles(RoleTarget(role="heading", name="Hi"), "expect_visible") == ("heading",)
    assert heal_roles("Hi", "expect_visible") == ()


def test_descriptions_read_their_role_word_or_their_action() -> None:
    d = read_description("the Log in button", "click")
    assert (d.name, d.roles, d.role_word) == ("Log in", ("button",), "button")
    assert read_description("Username", "fill").roles == roles_for("fill")
    assert read_description('"Save" link', "hover").roles == ("link",)
    assert loose_pattern("Anything else?").match("anything  else")
    assert not loose_pattern("Log in").match("Log in now")


def test_counters_add_to_the_stats_the_run_started_with() -> None:
    counters = Counters(cache_hits=2, cache_misses=1, heals=1, healer_calls=1)
    assert counters.added_to(RunStats(planner_calls=3, heals=1)) == RunStats(
        cache_hits=2, cache_misses=1, heals=2, planner_calls=3, healer_calls=1
    )


class Snapshot:
    def __init__(self, text: str) -> None:
        self.text = text

    async def aria_snapshot(self, **_: object) -> str:
        return self.text


SNAPSHOT = """- navigation:
  - link "Home":
    - /url: /
- main:
  - heading "Sign in" [level=1]
  - textbox "User name"
  - 'button "Say \\"hi\\": now"'
  - button "Gone" [disabled]
  - checkbox "Subscribe" [checked]
  - text: Total items
  - list:
    - listitem:
      - text: Apples
      - button "Delete"
"""


def test_the_aria_snapshot_is_read_into_elements() -> None:
    found = asyncio.run(page_elements(Snapshot(SNAPSHOT)))  # type: ignore[arg-type]

    shown = [(e.role, e.name, e.enabled) for e in found]
    assert shown == [
        ("link", "Home", True),
        ("heading", "Sign in", True),
        ("textbox", "User name", True),
        ("button", 'Say "hi": now', True),
        ("button", "Gone", False),
        ("checkbox", "Subscribe", True),
        ("text", "Total items", True),
        ("text", "Apples", True),
        ("button", "Delete", True),
    ]
    assert [e.index for e in found] == list(range(len(found)))
    assert len(asyncio.run(page_elements(Snapshot(SNAPSHOT), limit=3))) == 3  # type: ignore[arg-type]
