"""Alert delivery by the Standard Webhooks specification: what to send and when to retry.

Pure decisions, no I/O: the signed headers of a message (signed by the ``standardwebhooks``
package itself, so receivers can verify with any Standard Webhooks library), the moment of
each retry (exponential backoff with full jitter, so many routes failing at once do not
retry in step), and what an answer means for the route. The same ``webhook-id`` goes with
every attempt of a message, so a receiver can drop the repeats.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import secrets
from dataclasses import dataclass
from enum import StrEnum

from standardwebhooks.webhooks import Webhook

__all__ = [
    "Outcome",
    "RetryPolicy",
    "new_secret",
    "outcome_of",
    "signed_headers",
]


def new_secret() -> str:
    """A route's signing secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, message_id: str, sent_at: dt.datetime, body: bytes) -> dict[str, str]:
    """The headers of one attempt: ``webhook-signature`` is ``v1,`` and the HMAC-SHA256 of
    ``id.timestamp.body`` under the route's secret."""
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
        "content-type": "application/json",
    }


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"  # retries exhausted: kept as a dead letter, replayable from the API
    DISABLED = "disabled"  # the receiver answered 410 Gone: the route is switched off


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt ``n`` (1-based) after a failure waits a random time up to
    ``min(base × 2^(n-1), cap)``; after ``attempts`` failures the message is dead."""

    attempts: int = 8
    base: dt.timedelta = dt.timedelta(seconds=5)
    cap: dt.timedelta = dt.timedelta(hours=1)

    def delay(self, failures: int, chance: random.Random) -> dt.timedelta:
        ceiling: dt.timedelta = min(self.base * 2 ** (failures - 1), self.cap)
        return ceiling * chance.random()


def outcome_of(status: int | None, failures: int, policy: RetryPolicy) -> Outcome:
    """What an attempt's answer means: ``status`` None when no answer came (refused,
    timed out); ``failures`` counts this attempt if it failed."""
    if status is not None and 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.DISABLED
    return Outcome.RETRY if failures < policy.attempts else Outcome.DEAD
