"""Advice from memory: ranked, explained templates, patterns and failure guards for a
project, and a compact context brief (formulas: docs/advice.md). No printing here.

    from memkb.advice import make_query, recommend
    advice = recommend(Path("."), make_query(domains=["e-commerce"], phases=["security_first"]))
"""

from __future__ import annotations

from memkb.advice.brief import brief
from memkb.advice.items import Advice, Brief, Item, Posterior
from memkb.advice.query import Query, make_query
from memkb.advice.recommend import recommend

__all__ = ["Advice", "Brief", "Item", "Posterior", "Query", "brief", "make_query", "recommend"]
