"""The fair ack baseline: plain Bolt as its docs teach, ack first, then the provider, then respond.

No custom machinery: Bolt's default ack-first mode, one shared ``httpx.AsyncClient`` for the
provider and Bolt's own ``respond()`` (a POST to the command's response_url). Run as a child
process by ``bench_ack``::

    python -m benchmarks.plain_bolt --port 3002

Environment: ``SLACK_SIGNING_SECRET``, ``SLACK_API_URL``, ``PROVIDER_URL`` (cron-job.org's
``/jobs`` on the simulator) and ``SIM_KEY``.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from benchmarks.bolt_serve import bolt_app, provider, serve


def build() -> AsyncApp:
    app = bolt_app("xoxb-plain")
    http, url = provider()

    @app.command("/cron")
    async def cron(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()  # first, as Bolt's docs say: Slack waits 3 s at most
        jobs = (await http.get(url)).json()["jobs"]
        lines = [f"• {job['jobId']} {job['title']}" for job in jobs[:20]]
        await respond(text=f"{len(jobs)} jobs\n" + "\n".join(lines))

    return app


if __name__ == "__main__":
    serve(build())
