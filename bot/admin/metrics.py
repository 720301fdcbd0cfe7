"""Prometheus metrics (prometheus-client), one registry per process so tests stay independent.

Counters and histograms are updated where things happen (provider requests through the HTTP
layer's observer, polls, Slack calls, commands); gauges that live in the database (open
incidents, outbox depth, budget left) are refreshed by ``refresh`` after each poll.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("cronops_polls", "Polls per account and outcome",
                             ["account", "outcome"], registry=r)  # fmt: skip
        self.poll_seconds = Histogram("cronops_poll_seconds", "Poll duration",
                                      ["account"], buckets=POLL_BUCKETS, registry=r)  # fmt: skip
        self.provider_requests = Counter(
            "cronops_provider_requests", "Provider requests by status (or failure)",
            ["account", "status"], registry=r,
        )  # fmt: skip
        self.provider_seconds = Histogram(
            "cronops_provider_request_seconds", "Provider latency", ["account"],
            buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.budget_remaining = Gauge("cronops_budget_remaining", "Requests left today",
                                      ["account"], registry=r)  # fmt: skip
        self.open_incidents = Gauge("cronops_open_incidents", "Open incidents", registry=r)
        self.outbox_depth = Gauge("cronops_outbox_depth", "Slack messages waiting", registry=r)
        self.slack_errors = Counter("cronops_slack_api_errors", "Slack API errors",
                                    ["method", "error"], registry=r)  # fmt: skip
        self.leases_held = Gauge("cronops_leases_held", "Accounts this process polls (leases)",
                                 registry=r)  # fmt: skip
        self.lease_takeovers = Counter(
            "cronops_lease_takeovers", "Accounts taken over from another process", registry=r
        )
        self.command_seconds = Histogram("cronops_command_seconds", "Slash command handling",
                                         ["command"], buckets=FAST_BUCKETS, registry=r)  # fmt: skip

    def observe_provider(self, account: str, outcome: str, seconds: float) -> None:
        """The HTTP layer's observer: one call per provider request."""
        self.provider_requests.labels(account, outcome).inc()
        self.provider_seconds.labels(account).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
