"""Cronhub: the client (client.py, wire.py) and its simulator (sim.py)."""
