"""The console and the demo: loaded only by `cronops console`, `cronops simulate` and tests."""
