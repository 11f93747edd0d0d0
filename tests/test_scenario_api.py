"""The whole loop through the API only: a study is set up, two coders code blind, both submit."""

from __future__ import annotations

import re
from pathlib import Path

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.assignments.models import Assignment
from tests.factories import manifest_csv, timed_vtt

PACS_FILE = Path(__file__).resolve().parents[1] / "apps" / "codebooks" / "data" / "pacs-2.0.yaml"


def ok(response, status: int = 200):
    assert response.status_code == status, response.content[:2000]
    return response.json()


def transcript_upload() -> dict:
    return {
        "files": [
            SimpleUploadedFile("P01-s01.vtt", timed_vtt(10), content_type="text/vtt"),
            SimpleUploadedFile("P02-s03.vtt", timed_vtt(8), content_type="text/vtt"),
        ],
        "manifest": SimpleUploadedFile(
            "manifest.csv",
            manifest_csv("P01-s01.vtt,P01,1,2026-04-01,F,", "P02-s03.vtt,P02,3,2026-04-09,Ds,"),
            content_type="text/csv",
        ),
    }


def code_pacs(
    client,
    assignment_id: int,
    codebook: dict,
    turns: list[dict],
    *,
    category: str,
    scores: dict[str, int],
    markers: list[tuple[str, int]],
) -> None:
    """Record markers, five scale scores and the classification, each with its revision."""
    revision = ok(client.get(f"/api/assignments/{assignment_id}/coding/"))["revision"]
    marker_ids = {m["code"]: m["id"] for m in codebook["markers"]}
    for code, turn_number in markers:
        saved = ok(
            client.post(
                f"/api/assignments/{assignment_id}/markers/",
                {
                    "marker": marker_ids[code],
                    "turn": turns[turn_number - 1]["id"],
                    "base_revision": revision,
                },
                format="json",
            ),
            201,
        )
        revision = saved["revision"]
    for item in codebook["rating_items"]:
        saved = ok(
            client.put(
                f"/api/assignments/{assignment_id}/ratings/",
                {"item": item["id"], "value": scores[item["code"]], "base_revision": revision},
                format="json",
            )
        )
        revision = saved["revision"]
    [attachment] = codebook["classifications"]
    category_id = next(c["id"] for c in attachment["categories"] if c["code"] == category)
    saved = ok(
        client.put(
            f"/api/assignments/{assignment_id}/classification/",
            {
                "classification": attachment["id"],
                "category": category_id,
                "base_revision": revision,
            },
            format="json",
        )
    )
    submitted = ok(
        client.post(
            f"/api/assignments/{assignment_id}/submit/",
            {"base_revision": saved["revision"]},
            format="json",
        )
    )
    assert submitted["state"] == "submitted"


def test_a_study_from_creation_to_two_blind_submitted_codings(
    client_for, lead, coder_a, coder_b, django_capture_on_commit_callbacks
):
    pi = client_for(lead)

    project = ok(pi.post("/api/projects/", {"name": "PACS pilot"}, format="json"), 201)
    base = f"/api/projects/{project['id']}/"
    assert project["my_role"] == "lead"

    codebook = ok(
        pi.post(
            base + "coding-systems/",
            {"file": SimpleUploadedFile("pacs-2.0.yaml", PACS_FILE.read_bytes())},
            format="multipart",
        ),
        201,
    )
    assert (codebook["key"], codebook["version"], len(codebook["markers"])) == ("pacs", "2.0", 17)

    preview = ok(
        pi.post(
            base + "transcripts/import/",
            transcript_upload() | {"dry_run": "true"},
            format="multipart",
        )
    )
    assert (preview["committed"], preview["transcript_count"]) == (False, 2)
    assert ok(pi.get(base + "transcripts/")) == []
    imported = ok(
        pi.post(base + "transcripts/import/", transcript_upload(), format="multipart"), 201
    )
    assert (imported["committed"], imported["cases_created"], imported["turns"]) == (True, 2, 18)
    transcript_id = next(
        t["transcript_id"] for t in imported["transcripts"] if t["file"] == "P01-s01.vtt"
    )

    # Coders are invited; each joins by accepting the emailed link with their own account.
    for email in ("coder.a@example.org", "coder.b@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            invited = ok(
                pi.post(base + "members/", {"email": email, "role": "coder"}, format="json"),
                201,
            )
        assert (invited["email"], invited["role"]) == (email, "coder")
    for coder, message in zip((coder_a, coder_b), mail.outbox, strict=True):
        [token] = re.findall(r"/invitations/([\w-]+)/", message.body)
        joined = ok(client_for(coder).post(f"/api/invitations/{token}/accept/"), 201)
        assert (joined["email"], joined["role"]) == (coder.email, "coder")
    assignments = {}
    for email in ("coder.a@example.org", "coder.b@example.org"):
        assigned = ok(
            pi.post(
                base + "assignments/",
                {"transcript": transcript_id, "coding_system": codebook["id"], "coder": email},
                format="json",
            ),
            201,
        )
        assignments[email] = assigned["id"]

    a_client, b_client = client_for(coder_a), client_for(coder_b)
    turns = ok(a_client.get(f"/api/transcripts/{transcript_id}/"))["turns"]
    assert [t["speaker_role"] for t in turns[:2]] == ["therapist", "patient"]
    assert ok(b_client.get(base + "transcripts/"))[0]["id"] == transcript_id

    code_pacs(
        a_client,
        assignments["coder.a@example.org"],
        codebook,
        turns,
        category="secure",
        scores={
            "proximity_seeking_score": 7,
            "contact_maintaining_score": 6,
            "exploring_score": 5,
            "avoidance_score": 2,
            "resistance_score": 2,
        },
        markers=[("m01", 2), ("m05", 6)],
    )
    code_pacs(
        b_client,
        assignments["coder.b@example.org"],
        codebook,
        turns,
        category="avoidant",
        scores={
            "proximity_seeking_score": 3,
            "contact_maintaining_score": 3,
            "exploring_score": 4,
            "avoidance_score": 7,
            "resistance_score": 2,
        },
        markers=[("m25", 2), ("m01", 4), ("m28", 8)],
    )

    # The lead sees both codings in full.
    listed = ok(pi.get(base + "assignments/"))
    assert {(a["coder_email"], a["state"]) for a in listed} == {
        ("coder.a@example.org", "submitted"),
        ("coder.b@example.org", "submitted"),
    }
    a_coding = ok(pi.get(f"/api/assignments/{assignments['coder.a@example.org']}/coding/"))
    b_coding = ok(pi.get(f"/api/assignments/{assignments['coder.b@example.org']}/coding/"))
    assert [m["turn_number"] for m in a_coding["markers"]] == [2, 6]
    assert [m["turn_number"] for m in b_coding["markers"]] == [2, 4, 8]
    assert b_coding["derived"][0]["category_code"] == "avoidant"

    # Each coder sees only their own.
    for client, own, other in (
        (a_client, "coder.a@example.org", "coder.b@example.org"),
        (b_client, "coder.b@example.org", "coder.a@example.org"),
    ):
        assert [a["id"] for a in ok(client.get(base + "assignments/"))] == [assignments[own]]
        assert ok(client.get(f"/api/assignments/{assignments[own]}/coding/"))["state"] == (
            "submitted"
        )
        hidden = client.get(f"/api/assignments/{assignments[other]}/coding/")
        assert hidden.status_code == 404
    assert Assignment.objects.filter(state="submitted").count() == 2
