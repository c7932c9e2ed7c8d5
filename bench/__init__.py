"""Benchmarks and their data generator; each prints its figures as plain text."""
