"""Finding a step's element when the page changed: the element cache first, then resolution (``targets.py``),
then the healer.

**Element cache.** A run of a saved test looks each step's element up in the element cache (the
``ElementCache`` port), keyed by project, test, the step as written (``step_key``: before its placeholders are
rendered, so that variables do not change the key) and the page (``page_key``: its URL without query). A cached
element is used when its structured target matches exactly one element now *and* that element's fingerprint
(role, tag, name) is the one remembered (``matched_by: cache``, a hit); else the step is resolved as usual (a
miss) and the entry is overwritten. Every element found by resolution or healing is remembered, for
``element_cache_ttl_days``. A cache that fails is a miss, never a failed step. When the target itself has
placeholders, the key holds it as rendered (a cached element is never the one another value found); a target
that names a secret, or shows a secret's value as rendered (a variable extracted from a page that showed it), is
neither cached nor healed (the entry, or the healer, would hold the secret; the step's error says so). The page
key and everything a healer is given (the URL, the target, the scope's words, the page's names and texts) pass
through the run's masker. An entry remembers the rule that found its element (``matched_by`` in its ``target``):
one from a heal or a rule looser than the name as written (a substring, a label, a text, a close name) is used
only when the step's own target does not resolve strictly now (``targets.STRICT``: the exact or normalized
name, a description's role tier; no wait); when it does, that element is used (a miss) and the entry is
overwritten: a heal never outlives the real element's return.

**Healing.** When the target matches nothing (after waiting most of the step's time: the rest is kept for
healing and the action) or several elements, the page's named elements (its aria snapshot, at most
``MAX_ELEMENTS``; inside the scope's one container when the target has a scope, and no healing at all when
the scope is not exactly one container: a heal never leaves the scope) are handed to the healer (``Healer`` port:
``shared/planning/fuzzy.py`` locally, Bedrock in AWS). No proposal is trusted: each is verified, in the
healer's order, and the first that holds is used:

- it is an element of the page the healer was shown;
- its role is one the action can use (a click: button, link, checkbox, radio, tab, menuitem, option; a fill:
  textbox, searchbox, combobox, spinbutton; check: checkbox, radio, switch; select: combobox, listbox; a step
  that only looks: any role, but a role target's own role);
- its name is close to the one the step asked for, by ``shared/planning/fuzzy.py``'s rule (every word pairs
  up, synonyms and filler aside; nothing added but the scope's words; score >= ``MIN_SCORE``) — whatever score
  the healer gave it;
- its structured target (role and exact name, within the step's scope) matches exactly one element, which is
  visible and (for an action) enabled.

A proposal that fails is never acted on: when none holds, the step fails with the original error and every
rejected candidate with why. A target with nothing to match by (a css selector, a test id, a role without a
name) or with ``exact: true`` is not healed, nor is anything when the ``healer`` setting is ``off``. A healer
that raises fails the step ("the healer failed"), never the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from pydantic import TypeAdapter, ValidationError

from runner_container.runner.render import placeholders
from runner_container.runner.targets import (
    STRICT,
    Resolved,
    Structured,
    TargetAmbiguous,
    TargetError,
    TargetNotFound,
    Where,
    expression,
    first_rule,
    locator_for,
    name_of,
    page_elements,
    read_description,
    replacement_for,
    resolve,
    resolve_now,
    resolve_strict,
    scope_text,
    scoped,
    where_of,
)
from shared.ids import utcnow
from shared.models.planning import (
    CachedElement,
    ElementInfo,
    Fingerprint,
    HealProposal,
    HealRequest,
    page_key,
    step_key,
)
from shared.models.plans import DescribedTarget, RoleTarget, Step, Target, describe_target
from shared.models.runs import Heal, RunStats
from shared.observability import logger
from shared.planning.fuzzy import MIN_SCORE, judge, roles_for
from shared.ports import ElementCache, Healer

#: the most of a step's time kept for healing and the action after the target was waited for
HEAL_RESERVE_S = 2.0
#: proposals looked for on the page at most (the rest are judged by their role and name alone)
MAX_VERIFIED = 5
#: rejected candidates a failed step lists
MAX_LISTED_REJECTED = 8
#: actions whose element must be enabled
ACTING = ("click", "fill", "select", "check", "uncheck", "press")
#: an entry found again is written again (its TTL renewed) once it is this old
REFRESH_AFTER = timedelta(days=1)

_TARGET: TypeAdapter[Target] = TypeAdapter(Target)

#: what identifies an element across runs (``Fingerprint``): its role (explicit or implied by its tag), a
#: name as its text reads (textContent: no layout is forced), its tag, a few attributes and the tags of its ancestors
_FINGERPRINT_JS = """e => {
  const tag = e.tagName.toLowerCase();
  const type = (e.getAttribute('type') || '').toLowerCase();
  let role = e.getAttribute('role') || '';
  if (!role) {
    if (tag === 'input') {
      role = {checkbox: 'checkbox', radio: 'radio', button: 'button', submit: 'button', reset: 'button',
              search: 'searchbox', number: 'spinbutton', range: 'slider'}[type] || 'textbox';
    } else {
      const implicit = {button: 'button', textarea: 'textbox', li: 'listitem', tr: 'row', img: 'img',
                        h1: 'heading', h2: 'heading', h3: 'heading', h4: 'heading', h5: 'heading', h6: 'heading',
                        select: (e.multiple || e.size > 1) ? 'listbox' : 'combobox',
                        a: e.hasAttribute('href') ? 'link' : ''};
      role = implicit[tag] || '';
    }
  }
  const byId = (e.getAttribute('aria-labelledby') || '').split(/\\s+/).map(id => id && document.getElementById(id));
  const labelled = byId.filter(Boolean).map(n => n.textContent).join(' ');
  const label = e.labels && e.labels.length ? Array.from(e.labels).map(l => l.textContent).join(' ') : '';
  const field = ['input', 'textarea', 'select'].includes(tag);
  const own = field ? (e.getAttribute('placeholder') || e.getAttribute('title') || '')
                    : (e.textContent || e.getAttribute('title') || e.getAttribute('alt') || '');
  const name = (e.getAttribute('aria-label') || labelled || label || own).replace(/\\s+/g, ' ').trim().slice(0, 200);
  const attributes = {};
  for (const a of ['id', 'name', 'type', 'data-testid']) {
    const v = e.getAttribute(a);
    if (v) attributes[a] = v.slice(0, 200);
  }
  const parents = [];
  for (let p = e.parentElement; p && parents.length < 4; p = p.parentElement) parents.push(p.tagName.toLowerCase());
  return {role, name, tag, attributes, parents};
}"""


@dataclass
class Counters:
    """What the element cache and the healer did over a run (every pass of it)."""

    cache_hits: int = 0
    cache_misses: int = 0
    heals: int = 0
    healer_calls: int = 0

    def added_to(self, stats: RunStats) -> RunStats:
        """``stats`` (the run's, as stored: the planner's calls are counted when the run is created) plus these."""
        return stats.model_copy(
            update={
                "cache_hits": stats.cache_hits + self.cache_hits,
                "cache_misses": stats.cache_misses + self.cache_misses,
                "heals": stats.heals + self.heals,
                "healer_calls": stats.healer_calls + self.healer_calls,
            }
        )


def _refused(request: HealRequest, proposal: HealProposal) -> str | None:
    """Why a proposal is refused before the page is asked (not an element shown, a role the action cannot use,
    a name not close by ``shared/planning/fuzzy.py``'s rule, disabled), or None."""
    if not 0 <= proposal.index < len(request.elements):
        return f"element #{proposal.index}: not an element of the page"
    element: ElementInfo = request.elements[proposal.index]
    shown = element.name or element.text
    label = f"{element.role} {shown!r}"
    if request.roles and element.role not in request.roles:
        return f"{label}: a {element.role} is not what {request.action} acts on ({', '.join(request.roles)})"
    verdict = judge(request.wanted, shown, context=request.context)
    if not verdict.close or verdict.score < MIN_SCORE:
        return f"{label} (score {verdict.score:.2f}): its name is not close to {request.wanted!r}: {verdict.why}"
    if not element.enabled and request.action in ACTING:
        return f"{label}: disabled"
    return None


#: the key of a cache entry's ``target`` that holds the rule that found the element (``matched_by``)
MATCHED_BY_KEY = "matched_by"


def _matched_by(entry: CachedElement) -> str | None:
    value = entry.target.get(MATCHED_BY_KEY)
    return value if isinstance(value, str) else None


def _loose(entry: CachedElement) -> bool:
    """Whether an entry came from a heal or a rule looser than a name as written (a substring, a label, a
    text, a close name; an entry that does not say is taken as loose)."""
    return entry.source == "healed" or _matched_by(entry) not in STRICT


def wanted_of(target: Target) -> str | None:
    """The name a target asks for (a description's name), or None when it has none to heal by."""
    if isinstance(target, str | DescribedTarget):
        text = target if isinstance(target, str) else target.describe
        return read_description(text, None).name or None
    if getattr(target, "exact", False):
        return None  # exact names alone were asked for
    return name_of(target)


def heal_roles(target: Target, action: str) -> tuple[str, ...]:
    """The roles a replacement may have: those the action implies, else a role target's own, else any."""
    implied = roles_for(action)
    if implied:
        return implied
    if isinstance(target, RoleTarget):
        return (target.role,)
    return ()


class TargetFinder:
    """The element of each step of one run: cache, resolution, healing; counting as it goes."""

    def __init__(
        self,
        *,
        healer: Healer | None = None,
        cache: ElementCache | None = None,
        project_id: str = "",
        test_id: str | None = None,
        ttl_days: int = 30,
        clock: Callable[[], Any] = utcnow,
    ) -> None:
        self.healer = healer
        self.cache = cache if test_id else None  # only a saved test's steps are remembered
        self.project_id = project_id
        self.test_id = test_id or ""
        self.ttl = timedelta(days=ttl_days)
        self.clock = clock
        self.counters = Counters()

    # ----------------------------------------------------------------------------- the step's element

    async def find(
        self,
        page: Page,
        target: Target,
        *,
        action: str,
        written: Step,
        timeout_s: float,
        clip: Callable[[str, int], str],
        mask: Callable[[str], str] = lambda text: text,
    ) -> Resolved:
        """The one element ``target`` (rendered) means on the page; ``written``: the step as the test has it.
        ``mask`` masks the run's secrets: what the page shows is masked before a healer sees it, and an element
        whose name or text shows a secret is not remembered."""
        written_target = getattr(written, "target", None)
        variables, secret_refs = placeholders(
            _TARGET.dump_python(written_target, mode="json") if written_target else ""
        )
        # a target naming a secret is neither remembered nor shown to a healer (a model, maybe): it would hold it
        # a target (as rendered) that shows a secret's value (a variable extracted from a page that showed it)
        # is neither remembered nor healed, as a target naming a secret is not
        rendered = json.dumps(_TARGET.dump_python(target, mode="json"), ensure_ascii=False)
        shows_secret = mask(rendered) != rendered
        remember = self.cache is not None and not secret_refs and not shows_secret
        # the step as written (variables elsewhere in it do not change the key), with its target as rendered when
        # the target has placeholders: a cached element is never one another value found
        keyed = written.model_copy(update={"target": target}) if variables else written
        key = (self.project_id, self.test_id, step_key(keyed), mask(page_key(page.url))) if remember else None
        missed = False
        if key is not None:
            entry = await self._get(key)
            if entry is not None:
                # an entry from a heal or a loose rule yields to the step's own target when that is back
                strict = await self._strict(page, target, action) if _loose(entry) else None
                hit = None if strict is not None else await self._cached(page, entry, target, action)
                if hit is not None:
                    self.counters.cache_hits += 1
                    if hit.heal is not None:
                        self.counters.heals += 1
                    if entry.updated_at < self.clock() - REFRESH_AFTER:
                        await self._put(key, hit, page, source=entry.source, matched_by=_matched_by(entry), mask=mask)
                    return hit
                self.counters.cache_misses += 1
                if strict is not None:
                    await self._put(key, strict, page, source="resolved", mask=mask)
                    return dataclasses.replace(strict, cache="miss")
                await self._delete(key)  # stale: the page changed under it
            else:
                self.counters.cache_misses += 1
            missed = True
        healable = self.healer is not None and wanted_of(target) is not None
        healing = healable and not secret_refs and not shows_secret
        wait_s = timeout_s - min(HEAL_RESERVE_S, timeout_s / 2) if healing else timeout_s
        try:
            resolved = await resolve(page, target, timeout_s=wait_s, action=action, clip=clip)
        except TargetError as exc:
            if healable and shows_secret and not secret_refs and isinstance(exc, TargetNotFound | TargetAmbiguous):
                raise type(exc)(
                    f"{exc.message} It was not healed: its target shows a secret's value (through a variable), "
                    "which a healer must not see.",
                    details=exc.details,
                ) from exc
            if not healing or not isinstance(exc, TargetNotFound | TargetAmbiguous):
                raise
            resolved = await self._heal(page, target, action, exc, mask)
        if key is not None:
            await self._put(key, resolved, page, source="healed" if resolved.heal else "resolved", mask=mask)
        return dataclasses.replace(resolved, cache="miss") if missed else resolved

    async def _strict(self, page: Page, target: Target, action: str) -> Resolved | None:
        try:
            return await resolve_strict(page, target, action=action)
        except PlaywrightError:
            return None

    # ---------------------------------------------------------------------------------------- healing

    async def _heal(
        self, page: Page, target: Target, action: str, exc: TargetError, mask: Callable[[str], str]
    ) -> Resolved:
        assert self.healer is not None
        wanted = wanted_of(target) or ""
        reason = (
            "matched nothing" if isinstance(exc, TargetNotFound) else f"matched {exc.details.get('count')} elements"
        )
        where = where_of(page, target)
        try:
            base = await where.heal_base(page)
            if isinstance(base, str):  # healing never looks beyond the step's scope
                raise type(exc)(f"{exc.message} It was not healed: {base}.", details=exc.details)
            elements = [
                e.model_copy(update={"name": mask(e.name), "text": mask(e.text)}) for e in await page_elements(base)
            ]
        except PlaywrightError as error:
            raise type(exc)(f"{exc.message} It could not be healed: the page could not be read ({error}).") from error
        roles = heal_roles(target, action)
        request = HealRequest(
            action=action,
            target=mask(describe_target(target) or ""),
            wanted=wanted,
            roles=list(roles),
            reason=reason,
            url=mask(page_key(page.url)),
            elements=elements,
            context=mask(scope_text(target)),
        )
        self.counters.healer_calls += 1
        try:
            proposals = await asyncio.to_thread(self.healer.propose, request)
        except Exception as error:
            logger.warning("the healer failed", healer=self.healer.name, error=f"{type(error).__name__}: {error}")
            raise type(exc)(
                f"{exc.message} The healer ({self.healer.name}) failed: {type(error).__name__}: {error}"
            ) from error
        rejected: list[str] = []
        checked = 0
        for proposal in proposals:
            refused = _refused(request, proposal)
            if refused is not None:
                rejected.append(refused)
                continue
            if checked >= MAX_VERIFIED:
                break
            checked += 1
            verdict = await self._on_page(page, where, target, request, proposal)
            if isinstance(verdict, str):
                rejected.append(verdict)
                continue
            found, score = verdict
            source: Literal["fuzzy", "bedrock"] = "bedrock" if self.healer.name == "bedrock" else "fuzzy"
            heal = Heal(
                before=describe_target(target) or "",
                after=describe_target(found.target) or "",
                replacement=found.target.model_dump(mode="json", exclude_none=True),
                locator=found.expression,
                score=score,
                source=source,
                reason=reason,
                rejected=rejected,
            )
            self.counters.heals += 1
            return dataclasses.replace(found, matched_by="healed", heal=heal)
        said = (
            "; ".join(f"{i + 1}) {text}" for i, text in enumerate(rejected[:MAX_LISTED_REJECTED]))
            if rejected
            else f"it proposed nothing close to {wanted!r}"
        )
        if len(rejected) > MAX_LISTED_REJECTED:
            said += f"; and {len(rejected) - MAX_LISTED_REJECTED} more"
        raise type(exc)(
            f"{exc.message} The healer ({self.healer.name}) found no replacement that holds: {said}.",
            details={**exc.details, "rejected": rejected},
        )

    async def _on_page(
        self, page: Page, where: Where, target: Target, request: HealRequest, proposal: HealProposal
    ) -> tuple[Resolved, float] | str:
        """The proposal's element found on the page (one, visible, enabled), with its score; or why not."""
        element = request.elements[proposal.index]
        label = f"{element.role} {(element.name or element.text)!r}"
        score = judge(request.wanted, element.name or element.text, context=request.context).score
        replacement: Structured = scoped(replacement_for(element), target)
        loc, expr = where.apply(page, lambda base: locator_for(base, replacement), expression(replacement))
        try:
            count = await loc.count()
            if count != 1:
                where_text = " in the step's scope" if scope_text(target) else ""
                return f"{label}: {count} elements match it{where_text}, not one"
            if not await loc.is_visible():
                return f"{label}: hidden"
            if request.action in ACTING and not await loc.is_enabled():
                return f"{label}: disabled"
        except PlaywrightError as error:
            return f"{label}: could not be checked ({str(error).splitlines()[0]})"
        return Resolved(loc, expr, replacement, "healed"), score

    # ------------------------------------------------------------------------------------ the cache

    async def _cached(self, page: Page, entry: CachedElement, target: Target, action: str) -> Resolved | None:
        """The cached element, when its target still matches one element with the remembered fingerprint."""
        remembered = {k: v for k, v in entry.target.items() if k != MATCHED_BY_KEY}
        try:
            cached = _TARGET.validate_python(remembered)
        except ValidationError:
            return None
        if isinstance(cached, str | DescribedTarget):
            return None  # entries hold structured targets
        try:
            # one round trip when the target's first rule matches one element (as a cached exact name does)
            found: Resolved | None = first_rule(page, cached)
            assert found is not None
            prints = await found.locator.evaluate_all(f"all => all.map({_FINGERPRINT_JS})")
            if len(prints) != 1:
                found = await resolve_now(page, cached, action=action)
                if found is None:
                    return None
                prints = [await found.locator.evaluate(_FINGERPRINT_JS, timeout=2000)]
            now = Fingerprint.model_validate(prints[0])
        except (PlaywrightError, ValidationError):
            return None
        if not entry.fingerprint.matches(now):
            return None
        heal = None
        if entry.source == "healed":
            wanted = wanted_of(target) or ""
            heal = Heal(
                before=describe_target(target) or "",
                after=describe_target(cached) or "",
                replacement=remembered,
                locator=found.expression,
                score=judge(wanted, now.name, context=scope_text(target)).score if wanted else 0.0,
                source="cache",
                reason="healed in an earlier run; remembered by the element cache",
            )
        return dataclasses.replace(found, matched_by="cache", cache="hit", heal=heal)

    async def _get(self, key: tuple[str, str, str, str]) -> CachedElement | None:
        assert self.cache is not None
        try:
            return await asyncio.to_thread(self.cache.get, *key)
        except Exception as exc:
            logger.warning("the element cache could not be read", error=f"{type(exc).__name__}: {exc}")
            return None

    async def _delete(self, key: tuple[str, str, str, str]) -> None:
        assert self.cache is not None
        try:
            await asyncio.to_thread(self.cache.delete, *key)
        except Exception as exc:
            logger.warning("the element cache could not be written", error=f"{type(exc).__name__}: {exc}")

    async def _put(
        self,
        key: tuple[str, str, str, str],
        resolved: Resolved,
        page: Page,
        *,
        source: str,
        matched_by: str | None = None,
        mask: Callable[[str], str] = lambda text: text,
    ) -> None:
        assert self.cache is not None
        try:
            fingerprint = Fingerprint.model_validate(await resolved.locator.evaluate(_FINGERPRINT_JS, timeout=2000))
        except (PlaywrightError, ValidationError):
            return  # the element went away (a click that navigated): nothing to remember it by
        shown = [fingerprint.name, resolved.expression, *fingerprint.attributes.values()]
        if any(mask(text) != text for text in shown):
            return  # it shows a secret: the cache must not hold it
        now = self.clock()
        project_id, test_id, step, page_at = key
        entry = CachedElement(
            project_id=project_id,
            test_id=test_id,
            step_key=step,
            page_key=page_at,
            target={
                **resolved.target.model_dump(mode="json", exclude_none=True),
                MATCHED_BY_KEY: matched_by or resolved.matched_by,
            },
            locator=resolved.expression,
            fingerprint=fingerprint,
            source="healed" if source == "healed" else "resolved",
            updated_at=now,
            expires_at=int((now + self.ttl).timestamp()),
        )
        try:
            await asyncio.to_thread(self.cache.put, entry)
        except Exception as exc:
            logger.warning("the element cache could not be written", error=f"{type(exc).__name__}: {exc}")
