"""Shared mechanisms every layer may use: atomic files and hashes, column checks, small-cell suppression.

Nothing here knows about households, indicators or pages; each module owns one mechanism.
"""
