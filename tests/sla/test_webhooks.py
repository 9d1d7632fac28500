"""Standard Webhooks signing checked by the reference library's verifier and by a
hand-made HMAC, and the retry schedule's bounds."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import random

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sla.webhooks import Outcome, RetryPolicy, new_secret, outcome_of, signed_headers

BODY = b'{"type":"slo.alert.firing","slo":"exception-rate"}'


def test_a_receiver_verifies_what_we_sign() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    now = dt.datetime.now(dt.UTC)
    headers = signed_headers(secret, "msg_2Kj9", now, BODY)
    assert Webhook(secret).verify(BODY, headers) == {"type": "slo.alert.firing", "slo": "exception-rate"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)  # another route's secret
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)  # a changed body


def test_the_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    sent = dt.datetime(2026, 12, 7, 12, 0, 30, tzinfo=dt.UTC)
    headers = signed_headers(secret, "msg_1", sent, BODY)
    assert headers["webhook-timestamp"] == str(int(sent.timestamp()))
    expected = hmac.new(
        b"k" * 32, b"msg_1." + headers["webhook-timestamp"].encode() + b"." + BODY, hashlib.sha256
    )
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected.digest()).decode()


def test_the_id_stays_the_same_across_attempts() -> None:
    secret = new_secret()
    first = signed_headers(secret, "msg_7", dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC), BODY)
    again = signed_headers(secret, "msg_7", dt.datetime(2026, 12, 7, 12, 5, tzinfo=dt.UTC), BODY)
    assert first["webhook-id"] == again["webhook-id"]
    assert first["webhook-signature"] != again["webhook-signature"]  # the timestamp is signed


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_headers(new_secret(), "m", dt.datetime(2026, 12, 7), BODY)


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    policy = RetryPolicy(attempts=8, base=dt.timedelta(seconds=5), cap=dt.timedelta(minutes=5))
    chance = random.Random(1)
    for failures in range(1, 9):
        ceiling = min(5 * 2 ** (failures - 1), 300)
        delays = [policy.delay(failures, chance).total_seconds() for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > 0.8 * ceiling  # spread over the whole range, not fixed
        assert len(set(delays)) > 150


@pytest.mark.parametrize(
    ("status", "failures", "outcome"),
    [
        (200, 0, Outcome.DELIVERED),
        (204, 3, Outcome.DELIVERED),
        (410, 1, Outcome.DISABLED),
        (500, 1, Outcome.RETRY),
        (429, 7, Outcome.RETRY),
        (None, 7, Outcome.RETRY),
        (503, 8, Outcome.DEAD),
        (None, 8, Outcome.DEAD),
    ],
)
def test_what_an_answer_means(status: int | None, failures: int, outcome: Outcome) -> None:
    assert outcome_of(status, failures, RetryPolicy(attempts=8)) is outcome
