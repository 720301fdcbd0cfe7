"""The one secret registry: what it keeps, for how long, and what it masks."""

from __future__ import annotations

from providers.redact import MASK, SecretRegistry


def test_learnt_secrets_are_kept_up_to_a_bound_the_oldest_forgotten_first() -> None:
    registry = SecretRegistry(learnt_kept=100)
    registry.add("configured-credential")
    for n in range(20_000):  # a day of add-on passwords churning through a provider
        registry.learn(f"password-{n:05d}")
    assert len(registry) == 101
    assert registry.scrub("password-19999 password-00000") == f"{MASK} password-00000"
    assert registry.scrub("configured-credential") == MASK  # configured ones are never dropped


def test_a_secret_learnt_again_is_the_newest() -> None:
    registry = SecretRegistry(learnt_kept=2)
    registry.learn("first-secret")
    registry.learn("second-secret")
    registry.learn("first-secret")
    registry.learn("third-secret")
    assert registry.scrub("first-secret second-secret") == f"{MASK} second-secret"
