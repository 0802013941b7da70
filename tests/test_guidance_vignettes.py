"""Written cases, each built from a passage of the documents, with the expected level and causes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kneeemg.guidance import LEVELS, load_kb, triage
from kneeemg.guidance.kb import PSEUDO_HEADINGS
from test_guidance_kb import docs, document_headings  # noqa: F401  (docs is a fixture)

VIGNETTES = json.loads((Path(__file__).resolve().parent / "vignettes" / "cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("v", VIGNETTES, ids=[v["name"] for v in VIGNETTES])
def test_vignette(v):
    case = v["case"]
    res = triage(case.get("profile"), case.get("diary", []), case.get("nights", []))
    ranked = [(c.id, round(c.score, 3)) for c in res.causes]
    assert res.level == v["level"], (res.reasons, v.get("why"))
    top3 = [c.id for c in res.causes[:3]]
    for cid in v["top3"]:
        assert cid in top3, ranked
    for cid in v["not_top3"]:
        assert cid not in top3, ranked
    for cid in v.get("not_listed", []):
        assert cid not in [c.id for c in res.causes], ranked
    advice = " ".join(a["text"] for a in res.advice).lower()
    for words in v.get("advice_includes", []):
        assert words.lower() in advice
    for words in v.get("advice_excludes", []):
        assert words.lower() not in advice, v.get("why")
    # what a person reads: reasons, causes with their evidence, advice
    shown = " ".join(res.reasons + [f"{c.label}: {'; '.join(c.reasons())}" for c in res.causes] + [a["text"] for a in res.advice])
    for words in v.get("shown_includes", []):
        assert words in shown, v.get("why")
    for words in v.get("shown_excludes", []):
        assert words not in shown, v.get("why")
    assert "not a diagnosis" in res.disclaimer and res.reasons


def test_there_are_at_least_forty_vignettes_from_both_documents_at_every_level():
    assert len(VIGNETTES) >= 40
    assert len({v["name"] for v in VIGNETTES}) == len(VIGNETTES)
    assert {v["passage"]["doc"] for v in VIGNETTES} == {d["title"] for d in load_kb().documents.values()}
    assert {v["level"] for v in VIGNETTES} == set(LEVELS)
    expected = {cid for v in VIGNETTES for cid in v["top3"]}
    assert expected == set(load_kb().causes)  # every cause is expected near the top in some case


def test_every_vignette_passage_exists(docs):  # noqa: F811
    kb = load_kb()
    by_title = {d["title"]: k for k, d in kb.documents.items()}
    headings = {k: document_headings(t) for k, t in docs.items()}
    for v in VIGNETTES:
        doc = by_title[v["passage"]["doc"]]
        h = v["passage"]["heading"]
        assert h in headings[doc] or (doc == "D1" and h in PSEUDO_HEADINGS), v["name"]
