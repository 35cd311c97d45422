"""Thing ids as Bubble writes them: milliseconds, `x`, 18 random digits from the OS's randomness
(read for many ids at once), never the same in two processes."""

from __future__ import annotations

import os
import re
import time
import warnings

from wfkit.core.store import models
from wfkit.core.store.models import new_thing_id

ID = re.compile(r"^(\d{13})x(\d{18})$")


def test_ids_are_milliseconds_then_18_random_digits() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_thing_id() for _ in range(3 * models._DRAWS_A_READ)]  # past several reads
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    parts = [ID.match(thing_id) for thing_id in ids]
    assert all(parts), ids
    assert all(before <= int(m.group(1)) <= after for m in parts if m)
    assert len({m.group(2)[0] for m in parts if m}) == 10  # every leading digit


def test_a_forked_process_draws_digits_of_its_own() -> None:
    """A child forked with draws left over would give the parent's next ids again."""
    models._random_digits()  # the parent holds draws for the next ids
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # (fork in a process with threads)
        pid = os.fork()
    if pid == 0:  # the child
        try:
            os.write(write, b" ".join(str(models._random_digits()).encode() for _ in range(4)))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        child = [int(x) for x in f.read().split()]
    os.waitpid(pid, 0)
    parent = [models._random_digits() for _ in range(4)]
    assert len(child) == 4 and child != parent
