"""`AuthThrottle`: the delay before a failed login is answered, per connection and account."""

from __future__ import annotations

import pytest

from postier.server.auth_throttle import MAX_ACCOUNTS, AuthThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock | None = None) -> AuthThrottle:
    return AuthThrottle(base=1.0, cap=16.0, window=900.0, clock=clock or Clock())


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (50, 16.0)]
)
def test_the_delay_doubles_up_to_the_cap(failures: int, delay: float) -> None:
    assert throttle().delay(failures) == delay


def test_one_connection_failing_slows_itself_down() -> None:
    table = throttle()
    delays = [table.failed("alice", n) for n in range(1, 5)]
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_guesses_spread_over_connections_slow_down_as_one() -> None:
    table = throttle()
    # Each guess on a fresh connection (its own first failure), all on one account.
    delays = [table.failed("alice", 1) for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0]


def test_guesses_a_few_seconds_apart_still_add_up() -> None:
    clock = Clock()
    table = throttle(clock)
    delays = []
    for _ in range(4):
        delays.append(table.failed("alice", 1))
        clock.now += 3.0  # a real clock: each failure has faded a little by the next
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_other_accounts_are_not_slowed() -> None:
    table = throttle()
    for _ in range(6):
        table.failed("alice", 1)
    assert table.failed("bob", 1) == 1.0  # bob's first mistake, behind the same NAT or not


def test_the_right_password_clears_the_account() -> None:
    table = throttle()
    for _ in range(4):
        table.failed("alice", 1)
    table.succeeded("alice")
    assert table.failed("alice", 1) == 1.0


def test_failures_are_forgotten_with_time() -> None:
    clock = Clock()
    table = throttle(clock)
    for _ in range(5):
        table.failed("alice", 1)
    assert table.recent_failures("alice") == 5.0
    clock.now += 90 * 3  # one failure forgotten per 90 s (a tenth of the window)
    assert table.recent_failures("alice") == pytest.approx(2.0)
    clock.now += 10_000
    assert table.failed("alice", 1) == 1.0


def test_a_zero_base_turns_the_delay_off() -> None:
    table = AuthThrottle(base=0.0, cap=0.0)
    assert table.failed("alice", 9) == 0.0


def test_remembered_accounts_are_bounded() -> None:
    table = throttle()
    for n in range(MAX_ACCOUNTS + 50):
        table.failed(f"user{n}", 1)
    assert len(table._accounts) == MAX_ACCOUNTS
    assert table.recent_failures("user0") == 0.0  # the longest unseen went first
    assert table.recent_failures(f"user{MAX_ACCOUNTS + 49}") == 1.0
