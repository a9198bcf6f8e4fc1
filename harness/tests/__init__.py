"""Unit tests of the capOS host harness (run: python3 -m unittest discover -s tests -t . in harness/)."""
