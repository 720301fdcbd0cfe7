"""Miget: the client (client.py, wire.py, checks.py, addons.py) and its simulator (sim.py)."""
