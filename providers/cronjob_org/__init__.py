"""cron-job.org: the client (client.py, schedule.py, wire.py) and its simulator (sim.py)."""
