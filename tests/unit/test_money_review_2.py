"""The money gate under a second adversarial review: each test is a bug found, shown failing
on the code before its fix. Centra is ``FakeCentra``; odd answers are scripted around it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import Call, CallKind
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraUnavailable, ClaimTimeout, OutcomeUnknown, StoreError
from orderflow.flow import State
from orderflow.payment import FailedAction, RedirectAction
from orderflow.service import CheckoutService
from tests import support
from tests.support import GATE_SETTINGS, Script, Scripted

SETTINGS = GATE_SETTINGS
DECLINED_FIELDS = {"centraPaymentMethod": "x"}  # the fake declines these


class CrashesBeforeTheResult(MemoryStore):
    """A store whose process dies (once) between a keyed command's save and its result."""

    crash = False

    def complete(self, key: str, owner: str, result: str) -> bool:
        if self.crash:
            self.crash = False
            raise RuntimeError("killed")
        return super().complete(key, owner, result)


class Shop(support.Shop):
    """The money-gate tests' world, with a checkout declined once."""

    def declined(self) -> Checkout:
        service = self.service()
        pending = service.start_payment(self.confirmed().id)
        declined = service.complete_payment(pending.id, DECLINED_FIELDS)
        assert declined.state is State.PAYMENT_FAILED
        return declined


@pytest.fixture
def shop() -> Shop:
    return Shop(FakeCentra.seeded(), CrashesBeforeTheResult(), ManualClock())


def busy(status: int = 429) -> CentraUnavailable:
    return CentraUnavailable("payment", f"HTTP {status}", status, retry_after=2.0)


def lost_before_centra_acted() -> OutcomeUnknown:
    return OutcomeUnknown("payment_result", "connect timed out")


# --- an unsettled payment result's fields are no decline --------------------------------------


def test_fields_whose_payment_result_reconcile_found_unanswered_are_sent_again(
    shop: Shop,
) -> None:
    declined = shop.declined()
    with pytest.raises(OutcomeUnknown):
        shop.service(payment_result=[lost_before_centra_acted()]).complete_payment(
            declined.id, SEED_PAYMENT_FIELDS
        )
    settled = shop.service().reconcile(declined.id)
    assert settled.state is State.PAYMENT_FAILED and settled.outcome_unknown is None
    calls = shop.fake.calls[CallKind.PAYMENT_RESULT]

    # The shopper posts the same fields again: Centra never answered them, so they are sent.
    paid = shop.service().complete_payment(declined.id, SEED_PAYMENT_FIELDS)

    assert paid.state is State.PAID and len(shop.fake.orders) == 1
    assert shop.fake.calls[CallKind.PAYMENT_RESULT] == calls + 1


def test_fields_whose_retry_after_a_look_up_centra_refused_busy_are_sent_again(
    shop: Shop,
) -> None:
    declined = shop.declined()
    with pytest.raises(OutcomeUnknown):
        shop.service(payment_result=[lost_before_centra_acted()]).complete_payment(
            declined.id, SEED_PAYMENT_FIELDS
        )
    # The retry looks up (no order), calls, and Centra says it is busy: it did not act.
    with pytest.raises(CentraUnavailable):
        shop.service(payment_result=[busy()]).complete_payment(declined.id, SEED_PAYMENT_FIELDS)
    after = shop.store.load(declined.id)
    assert after.state is State.PAYMENT_FAILED and after.outcome_unknown is None

    paid = shop.service().complete_payment(declined.id, SEED_PAYMENT_FIELDS)

    assert paid.state is State.PAID and len(shop.fake.orders) == 1


def test_the_same_declined_fields_again_still_return_the_first_result(shop: Shop) -> None:
    declined = shop.declined()
    calls = shop.fake.calls[CallKind.PAYMENT_RESULT]

    again = shop.service().complete_payment(declined.id, DECLINED_FIELDS)

    assert again == declined and shop.fake.calls[CallKind.PAYMENT_RESULT] == calls


# --- a key taken over after its caller died once its payment call was settled ------------------


def test_a_start_payment_key_taken_over_after_its_caller_died_returns_the_first_result(
    shop: Shop,
) -> None:
    confirmed = shop.confirmed()
    shop.store.crash = True
    with pytest.raises(StoreError):
        shop.service().start_payment(confirmed.id, idempotency_key="pay-1")
    pending = shop.store.load(confirmed.id)
    assert pending.state is State.PAYMENT_PENDING
    shop.clock.advance(SETTINGS.claim_lease.total_seconds() + 1)

    resumed = shop.service().start_payment(confirmed.id, idempotency_key="pay-1")

    assert resumed == pending and shop.fake.calls[CallKind.START_PAYMENT] == 1
    assert shop.service().start_payment(confirmed.id, idempotency_key="pay-1") == pending


def test_a_payment_result_key_taken_over_after_its_caller_died_posts_nothing_again(
    shop: Shop,
) -> None:
    pending = shop.service().start_payment(shop.confirmed().id)
    redirect = RedirectAction("https://psp.example/3ds")

    def acted_and_redirected(call: Call[Any]) -> Any:
        return redirect

    shop.store.crash = True
    with pytest.raises(StoreError):
        shop.service(payment_result=[acted_and_redirected]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS, idempotency_key="return-1"
        )
    redirected = shop.store.load(pending.id)
    assert redirected.payment_action == redirect and redirected.outcome_unknown is None
    shop.clock.advance(SETTINGS.claim_lease.total_seconds() + 1)
    posted = shop.fake.calls[CallKind.PAYMENT_RESULT]

    resumed = shop.service().complete_payment(
        pending.id, SEED_PAYMENT_FIELDS, idempotency_key="return-1"
    )

    assert resumed == redirected
    assert shop.fake.calls[CallKind.PAYMENT_RESULT] == posted  # "once per order"


# --- erase racing a payment call in flight ------------------------------------------------------


def test_an_erase_while_a_payment_call_is_in_flight_waits_and_stays_erased(
    shop: Shop,
) -> None:
    confirmed = shop.confirmed()
    erased: list[Checkout | Exception] = []

    def erase_meanwhile(call: Call[Any]) -> Any:
        try:
            erased.append(shop.service().erase(confirmed.id))
        except Exception as error:
            erased.append(error)
        return shop.fake.send(call)

    pending = shop.service(start_payment=[erase_meanwhile]).start_payment(confirmed.id)

    assert pending.state is State.PAYMENT_PENDING and pending.outcome_unknown is None
    # The erase did not go through under the payment call: it waited for the claim and gave up.
    assert [type(e).__name__ for e in erased] == ["ClaimTimeout"]
    after = shop.service().erase(confirmed.id)
    assert after.payment_action is None and after.state is State.PAYMENT_PENDING


def test_a_busy_refusal_after_an_erase_clears_the_marker_it_kept(shop: Shop) -> None:
    confirmed = shop.confirmed()

    def erased_then_busy(call: Call[Any]) -> Any:
        # Erasing under an unsettled call must not turn Centra's "did not act" into a conflict:
        # the erase waits for the claim instead, and gives up.
        with pytest.raises(ClaimTimeout):
            shop.service().erase(confirmed.id)
        raise busy()

    with pytest.raises(CentraUnavailable):
        shop.service(start_payment=[erased_then_busy]).start_payment(confirmed.id)

    after = shop.store.load(confirmed.id)
    assert after.state is State.CONFIRMED and after.outcome_unknown is None
    assert shop.service().start_payment(confirmed.id).state is State.PAYMENT_PENDING


# --- a caller that outlived its claim --------------------------------------------------------


def test_a_stale_decline_leaves_the_marker_of_the_caller_that_took_over(shop: Shop) -> None:
    checkout = shop.confirmed("klarna-playground")
    taken_over: list[OutcomeUnknown] = []

    def outlives_its_claim(call: Call[Any]) -> Any:
        shop.clock.advance(SETTINGS.claim_lease.total_seconds() + 1)
        # The second caller looks up (no order yet), writes its own marker, and its answer
        # is lost: whether Centra took money on its call is unknown.
        lost = OutcomeUnknown("start_payment", "read timed out")
        with pytest.raises(OutcomeUnknown) as raised:
            shop.service(start_payment=[lost]).start_payment(checkout.id)
        taken_over.append(raised.value)
        return FailedAction({"paymentMethod": "failed"})  # the first caller's stale answer

    shop.service(start_payment=[outlives_its_claim]).start_payment(checkout.id)

    stored = shop.store.load(checkout.id)
    assert taken_over
    assert (stored.state, stored.outcome_unknown) == (State.CONFIRMED, CallKind.START_PAYMENT)
    assert stored.last_error is None


# --- reconcile of a checkout another caller settled paid --------------------------------------


def test_reconcile_of_a_checkout_settled_paid_since_it_was_found_returns_it(shop: Shop) -> None:
    pending = shop.service().start_payment(shop.confirmed().id)
    with pytest.raises(OutcomeUnknown):
        lost = OutcomeUnknown("payment_result", "read timed out")
        shop.service(payment_result=[lost]).complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    (found,) = shop.store.find(outcome_unknown=True)  # what `checkouts reconcile` runs on
    paid = shop.service().complete_payment(found.id, SEED_PAYMENT_FIELDS)  # the shopper's return
    assert paid.state is State.PAID
    reads = shop.fake.calls[CallKind.READ_SELECTION]

    # The job reconciles what it found: the checkout is paid now, which is no failure.
    reconciled = shop.service().reconcile(found.id)

    assert reconciled == paid and shop.fake.calls[CallKind.READ_SELECTION] == reads


# --- a payment call abandoned by its caller (asyncio cancellation, KeyboardInterrupt) ---------


def test_a_cancelled_async_payment_call_keeps_its_marker_and_frees_the_claim(shop: Shop) -> None:
    import asyncio

    from orderflow.adapters.stores.memory import AsyncMemoryStore
    from orderflow.service import AsyncCheckoutService

    confirmed = shop.confirmed()

    class Hangs:
        async def send(self, call: Call[Any]) -> Any:
            if call.kind is CallKind.START_PAYMENT:
                await asyncio.sleep(60)  # the request handler is cancelled meanwhile
            return shop.fake.send(call)

    async def abandoned() -> None:
        service = AsyncCheckoutService(
            transport=Hangs(), store=AsyncMemoryStore(shop.store), clock=shop.clock
        )
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(service.start_payment(confirmed.id), 0.05)

    asyncio.run(abandoned())

    after = shop.store.load(confirmed.id)
    assert after.outcome_unknown is CallKind.START_PAYMENT  # the call may have reached Centra
    claim = shop.store.acquire_claim(confirmed.id, "next", shop.clock.now(), SETTINGS.claim_lease)
    assert claim.owner == "next"  # the next caller looks up at once, not after the lease


def test_an_interrupted_payment_call_keeps_its_marker_and_frees_the_claim(shop: Shop) -> None:
    confirmed = shop.confirmed()

    def interrupted(call: Call[Any]) -> Any:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        shop.service(start_payment=[interrupted]).start_payment(confirmed.id)

    assert shop.store.load(confirmed.id).outcome_unknown is CallKind.START_PAYMENT
    claim = shop.store.acquire_claim(confirmed.id, "next", shop.clock.now(), SETTINGS.claim_lease)
    assert claim.owner == "next"
    shop.store.release_claim(confirmed.id, "next")
    pending = shop.service().start_payment(confirmed.id)  # looks up, then calls
    assert pending.state is State.PAYMENT_PENDING and pending.outcome_unknown is None


def test_an_interrupt_stands_when_giving_up_the_claim_fails_too(shop: Shop) -> None:
    confirmed = shop.confirmed()

    class ReleaseFails(CrashesBeforeTheResult):
        def release_claim(self, checkout_id: str, owner: str) -> None:
            raise StoreError("the database went away")

    shop.store = ReleaseFails()
    shop.store.save(confirmed, 0)

    def interrupted(call: Call[Any]) -> Any:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        shop.service(start_payment=[interrupted]).start_payment(confirmed.id)


# --- the session token a look-up's answer carries ----------------------------------------------


def fresh_token(shop: Shop, token: str) -> Scripted:
    """Centra's selection, answered with a new session token (the session dialects)."""

    def read(call: Call[Any]) -> Any:
        return attrs.evolve(shop.fake.send(call), token=token)

    return read


def test_reconcile_keeps_the_session_token_centras_answer_carried(shop: Shop) -> None:
    pending = shop.service().start_payment(shop.confirmed().id)

    settled = shop.service(read_selection=[fresh_token(shop, "t-fresh")]).reconcile(pending.id)

    assert settled.state is State.PAYMENT_PENDING
    assert settled.token == "t-fresh" and shop.store.load(pending.id).token == "t-fresh"


def test_the_payment_call_after_a_look_up_sends_the_token_the_look_up_got(shop: Shop) -> None:
    pending = shop.service().start_payment(shop.confirmed().id)
    with pytest.raises(OutcomeUnknown):
        shop.service(payment_result=[lost_before_centra_acted()]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS
        )
    transport = Script(shop.fake, {CallKind.READ_SELECTION: [fresh_token(shop, "t-fresh")]})
    service = CheckoutService(
        transport=transport, store=shop.store, clock=shop.clock, settings=SETTINGS
    )

    paid = service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)

    assert paid.state is State.PAID
    assert [c.token for c in transport.sent if c.kind is CallKind.PAYMENT_RESULT] == ["t-fresh"]


def test_a_refused_payment_result_keeps_the_token_of_the_look_up_after_it(shop: Shop) -> None:
    from orderflow.errors import CentraError

    pending = shop.service().start_payment(shop.confirmed().id)
    refused = CentraError(400, {"paymentMethod": "declined"})
    refused.token = "t-refusal"  # older than the look-up's that follows

    declined = shop.service(
        payment_result=[refused], read_selection=[fresh_token(shop, "t-newest")]
    ).complete_payment(pending.id, SEED_PAYMENT_FIELDS)

    assert declined.state is State.PAYMENT_FAILED and declined.token == "t-newest"


def test_a_payment_result_key_whose_caller_died_before_posting_still_posts_its_fields(
    shop: Shop,
) -> None:
    from orderflow.commands import _fingerprint
    from orderflow.flow import Event
    from orderflow.ports import IdempotencyRecord

    pending = shop.service().start_payment(shop.confirmed().id)
    now = shop.clock.now()
    # The shopper's return reserved its key, then died before its payment result was posted.
    shop.store.reserve(
        IdempotencyRecord(
            "return-1",
            _fingerprint(Event.COMPLETE_PAYMENT, pending.id, {"fields": SEED_PAYMENT_FIELDS}),
            "died",
            lease_until=now + timedelta(seconds=1),
            expires_at=now + SETTINGS.idempotency_ttl,
            checkout_id=pending.id,
        ),
        now,
    )
    shop.clock.advance(1)
    # Meanwhile another answer of the provider was posted, and declined.
    assert (
        shop.service().complete_payment(pending.id, DECLINED_FIELDS).state is State.PAYMENT_FAILED
    )
    shop.clock.advance(5)

    paid = shop.service().complete_payment(
        pending.id, SEED_PAYMENT_FIELDS, idempotency_key="return-1"
    )

    assert paid.state is State.PAID and len(shop.fake.orders) == 1


def test_a_confirm_refused_for_shipping_keeps_the_session_token_centras_answer_carried(
    shop: Shop,
) -> None:
    from orderflow.errors import GuardRefused

    service = shop.service()
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    before = shop.store.load(checkout.id)

    def cannot_ship(call: Call[Any]) -> Any:
        cart = shop.fake.send(call)
        assert cart.location is not None
        location = attrs.evolve(cart.location, ship_to=False)
        return attrs.evolve(cart, location=location, token="t-fresh")

    with pytest.raises(GuardRefused):
        shop.service(set_checkout_fields=[cannot_ship]).confirm(checkout.id, seed_details())

    after = shop.store.load(checkout.id)
    assert after.state is State.SELECTION and after.token == "t-fresh"
    assert attrs.evolve(after, token=before.token, version=before.version) == before


# --- the async service's waits with a clock of the service's own ---------------------------------


def test_the_async_service_waits_for_a_claim_without_blocking_the_loop_on_any_clock(
    shop: Shop,
) -> None:
    import asyncio
    import time
    from datetime import UTC, datetime

    from orderflow.adapters.stores.memory import AsyncMemoryStore
    from orderflow.errors import ClaimTimeout
    from orderflow.service import AsyncCheckoutService
    from tests.support import Awaited

    class OffsetClock:  # a service's own clock (the port's): real time, shifted
        def now(self) -> datetime:
            return datetime.now(UTC) + timedelta(hours=1)

        def sleep(self, seconds: float) -> None:
            time.sleep(seconds)

    clock = OffsetClock()
    confirmed = shop.confirmed()
    shop.store.acquire_claim(confirmed.id, "another-caller", clock.now(), timedelta(minutes=5))
    settings = ServiceSettings(claim_wait=timedelta(seconds=0.4), claim_poll=0.1)

    async def waiting() -> int:
        service = AsyncCheckoutService(
            transport=Awaited(shop.fake),
            store=AsyncMemoryStore(shop.store),
            clock=clock,
            settings=settings,
        )
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beating = asyncio.create_task(heartbeat())
        with pytest.raises(ClaimTimeout):
            await service.start_payment(confirmed.id)
        beating.cancel()
        return ticks

    assert asyncio.run(waiting()) >= 15  # ~40 while it waited 0.4 s, ~4 when the loop blocked
