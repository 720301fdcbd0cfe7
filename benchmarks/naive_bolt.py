"""The call-then-ack baseline: a minimal Bolt app that calls the provider, then acks with it.

The pattern Bolt's docs warn against (Slack waits 3 s for the ack); the fair baseline is
``benchmarks.plain_bolt``. Run as a child process by ``bench_ack``::

    python -m benchmarks.naive_bolt --port 3001

Environment: ``SLACK_SIGNING_SECRET``, ``SLACK_API_URL``, ``PROVIDER_URL`` (cron-job.org's
``/jobs`` on the simulator) and ``SIM_KEY``.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from benchmarks.bolt_serve import bolt_app, provider, serve


def build() -> AsyncApp:
    app = bolt_app("xoxb-naive")
    http, url = provider()

    @app.command("/cron")
    async def cron(ack: AsyncAck) -> None:
        jobs = (await http.get(url)).json()["jobs"]  # the provider first...
        lines = [f"• {job['jobId']} {job['title']}" for job in jobs[:20]]
        await ack(text=f"{len(jobs)} jobs\n" + "\n".join(lines))  # ...then the ack

    return app


if __name__ == "__main__":
    serve(build())
