"""`log_in` throttling: after `MAX_FAILURES` failed attempts for one email within `WINDOW`, every
attempt for it is refused at once (the right password too) until the window has passed; a success
resets the count. Counted in the database, so every server process and worker sees the same count.

The window starts at the first failure; the email is stored as its sha256 (unknown addresses are
counted too, or the throttle would tell which ones exist)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

from wfkit.core.errors import RateLimitedError

from .codec import iso, parse_iso
from .database import Database

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)
PRUNE_EVERY_S = 3600.0


def _key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class LoginThrottle:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pruned_at = time.monotonic()

    async def check(self, email: str) -> None:
        """Raise RateLimitedError when this email has used up its failures for the window."""
        d = self.db.dialect
        rows = await self.db.query(
            f'SELECT "failures", "since" FROM "login_failures" WHERE "key" = {d.param(1)}', [_key(email)]
        )
        if not rows or int(rows[0]["failures"]) < MAX_FAILURES:
            return
        left = (parse_iso(rows[0]["since"]) + WINDOW - datetime.now(UTC)).total_seconds()
        if left > 0:
            minutes = max(1, round(left / 60))
            raise RateLimitedError(
                f"too many failed log-ins for this email: try again in {minutes} minute{'s' * (minutes > 1)}",
                retry_after=left,
            )

    async def failed(self, email: str) -> None:
        """Count a failure, in one statement (two processes failing at once both count): a window
        that has passed starts again at this failure."""
        d = self.db.dialect
        now = datetime.now(UTC)
        await self.db.execute(
            f'INSERT INTO "login_failures" ("key", "failures", "since") VALUES ({d.param(1)}, 1, {d.param(2)}) '
            'ON CONFLICT ("key") DO UPDATE SET '
            f'"failures" = CASE WHEN "login_failures"."since" < {d.param(3)} THEN 1 '
            'ELSE "login_failures"."failures" + 1 END, '
            f'"since" = CASE WHEN "login_failures"."since" < {d.param(3)} THEN excluded."since" '
            'ELSE "login_failures"."since" END',
            [_key(email), iso(now), iso(now - WINDOW)],
        )
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:  # emails nobody tries again
            self._pruned_at = time.monotonic()
            await self.prune()

    async def succeeded(self, email: str) -> None:
        await self.db.execute(f'DELETE FROM "login_failures" WHERE "key" = {self.db.dialect.param(1)}', [_key(email)])

    async def prune(self) -> int:
        """Drop the counts of windows that have passed."""
        cutoff = iso(datetime.now(UTC) - WINDOW)
        d = self.db.dialect
        return await self.db.execute(f'DELETE FROM "login_failures" WHERE "since" < {d.param(1)}', [cutoff])
