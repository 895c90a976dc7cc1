"""The rules of docs/matching.md as a table: no HTTP, no database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from leads.matching import Action, DupScope, LeadIndex, MatchKeys, Operation, decide

P1 = "11111111-1111-1111-1111-111111111111"
P2 = "22222222-2222-2222-2222-222222222222"
VISITOR = "33333333-3333-3333-3333-333333333333"
UNKNOWN = "44444444-4444-4444-4444-444444444444"


def lead(id, email="", phone="", first_name="", list_id=None, **custom):
    return SimpleNamespace(
        id=id,
        email_normalized=email,
        phone_normalized=phone,
        first_name=first_name,
        custom_fields=custom,
        list_id=list_id,
        _state=SimpleNamespace(adding=False),
    )


ANN = lead(P1, "ann@x.com", "+12015550123", first_name="Ann", mx_City="Pune")
BOB = lead(P2, "bob@x.com", "+12015550199", first_name="Bob", mx_City="Goa")


def index(*leads, visitors=(), search_fields=()):
    idx = LeadIndex()
    idx.search_fields = set(search_fields)
    idx.visitors = {v: object() for v in visitors}
    for item in leads:
        idx.add(item)
    return idx


# (rule, keys, expected action, expected lead id, the new lead's id)
CAPTURE_TABLE = [
    ("1 no key at all creates", MatchKeys(), Action.CREATE, None, ""),
    ("2 email match updates", MatchKeys(email="ann@x.com"), Action.UPDATE, P1, ""),
    ("2 phone match updates", MatchKeys(phone="+12015550123"), Action.UPDATE, P1, ""),
    (
        "2 prospect id wins over email",
        MatchKeys(prospect_id=P2, email="bob@x.com", phone="+12015550123"),
        Action.UPDATE,
        P2,
        "",
    ),
    (
        "2 email wins over phone",
        MatchKeys(email="bob@x.com", phone="+12015550123"),
        Action.UPDATE,
        P2,
        "",
    ),
    (
        "3 visitor id converts to a lead with that id",
        MatchKeys(prospect_id=VISITOR, email="new@x.com"),
        Action.CONVERT,
        None,
        VISITOR,
    ),
    (
        "4 prospect match with another email creates",
        MatchKeys(prospect_id=P1, email="other@x.com"),
        Action.CREATE,
        None,
        "",
    ),
    ("5 prospect match without email updates", MatchKeys(prospect_id=P1), Action.UPDATE, P1, ""),
    (
        "5 prospect and email both match updates",
        MatchKeys(prospect_id=P1, email="ann@x.com"),
        Action.UPDATE,
        P1,
        "",
    ),
    (
        "6 unknown prospect but email match updates",
        MatchKeys(prospect_id=UNKNOWN, email="ann@x.com"),
        Action.UPDATE,
        P1,
        "",
    ),
    (
        "7 nothing matches creates",
        MatchKeys(prospect_id=UNKNOWN, email="new@x.com", phone="+12015550100"),
        Action.CREATE,
        None,
        "",
    ),
    (
        "8 SearchBy phone wins over the email order",
        MatchKeys(
            email="ann@x.com",
            phone="+12015550199",
            search_field="phone_normalized",
            search_value="+12015550199",
        ),
        Action.UPDATE,
        P2,
        "",
    ),
    (
        "8 SearchBy first name",
        MatchKeys(email="new@x.com", search_field="first_name", search_value="Bob"),
        Action.UPDATE,
        P2,
        "",
    ),
    (
        "8 SearchBy custom field",
        MatchKeys(email="ann@x.com", search_field="mx_City", search_value="Goa"),
        Action.UPDATE,
        P2,
        "",
    ),
    (
        "8 SearchBy ignored when prospect id, email and phone are all passed",
        MatchKeys(
            prospect_id=P1,
            email="ann@x.com",
            phone="+12015550199",
            search_field="phone_normalized",
            search_value="+12015550199",
        ),
        Action.UPDATE,
        P1,
        "",
    ),
    (
        "8 SearchBy with no match falls back to the default order",
        MatchKeys(email="ann@x.com", search_field="first_name", search_value="Zed"),
        Action.UPDATE,
        P1,
        "",
    ),
]


@pytest.mark.parametrize(
    ("rule", "keys", "action", "lead_id", "new_id"),
    CAPTURE_TABLE,
    ids=[r[0] for r in CAPTURE_TABLE],
)
def test_capture_rules(rule, keys, action, lead_id, new_id):
    idx = index(ANN, BOB, visitors=[VISITOR], search_fields=["first_name", "mx_City"])
    decision = decide(Operation.CAPTURE, keys, idx)
    assert decision.action == action
    assert (decision.lead.id if decision.lead is not None else None) == lead_id
    assert decision.new_id == new_id


def test_similar_email_rule_rejects_a_creation_when_the_email_is_held():
    # Rule 4 decides to create (prospect P2's email differs) but ann@x.com is already held.
    idx = index(ANN, BOB)
    keys = MatchKeys(prospect_id=P2, email="ann@x.com")
    assert decide(Operation.CAPTURE, keys, idx).action == Action.CREATE
    decision = decide(Operation.CAPTURE, keys, idx, reject_similar_email=True)
    assert decision.action == Action.REJECT
    assert decision.error.code == "duplicate_email"
    assert decision.lead is ANN  # the capture activity goes to the existing lead


def test_similar_email_rule_does_not_touch_updates():
    idx = index(ANN)
    decision = decide(
        Operation.CAPTURE, MatchKeys(email="ann@x.com"), idx, reject_similar_email=True
    )
    assert decision.action == Action.UPDATE


def test_contact_form_creates_a_second_lead_when_the_rule_is_off():
    idx = index(ANN)
    assert decide(Operation.CREATE, MatchKeys(email="ann@x.com"), idx).action == Action.CREATE
    rejected = decide(
        Operation.CREATE, MatchKeys(email="ann@x.com"), idx, reject_similar_email=True
    )
    assert rejected.action == Action.REJECT


@pytest.mark.parametrize(
    ("keys", "code"),
    [
        (MatchKeys(email="ann@x.com"), "duplicate_email"),
        (MatchKeys(email="new@x.com", phone="+12015550123"), "duplicate_phone"),
    ],
)
def test_lead_create_rejects_an_existing_email_or_phone(keys, code):
    decision = decide(Operation.CREATE_UNIQUE, keys, index(ANN))
    assert decision.action == Action.REJECT
    assert decision.error.code == code


def test_lead_update_needs_an_existing_lead():
    idx = index(ANN)
    assert decide(Operation.UPDATE, MatchKeys(lead_id=P1), idx).lead is ANN
    missing = decide(Operation.UPDATE, MatchKeys(lead_id=UNKNOWN), idx)
    assert missing.action == Action.REJECT
    assert missing.error.message == "Lead does not exist in the system"


def test_convert_turns_a_visitor_into_a_lead_with_its_id():
    idx = index(ANN, visitors=[VISITOR])
    assert decide(Operation.CONVERT, MatchKeys(lead_id=VISITOR), idx).new_id == VISITOR
    assert decide(Operation.CONVERT, MatchKeys(lead_id=UNKNOWN), idx).action == Action.REJECT


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (MatchKeys(email="ann@x.com", phone="+12015550199"), P1),
        (MatchKeys(phone="+12015550199"), P2),
        (MatchKeys(email="bob@x.com", search_field="mx_City", search_value="Pune"), P1),
        (MatchKeys(email="ann@x.com", search_field="first_name", search_value="Zed"), None),
    ],
)
def test_create_or_update_uses_email_then_phone_and_searchby_overrides(keys, expected):
    idx = index(ANN, BOB, search_fields=["first_name", "mx_City"])
    decision = decide(Operation.CREATE_OR_UPDATE, keys, idx)
    assert (decision.lead.id if decision.lead is not None else None) == expected


def test_a_lead_created_earlier_in_the_call_is_found_by_the_next_row():
    idx = index()
    new = lead(UNKNOWN, "zed@x.com", "+12015550111")
    new._state.adding = True
    idx.add(new)
    decision = decide(Operation.CREATE_OR_UPDATE, MatchKeys(phone="+12015550111"), idx)
    assert decision.lead is new


def test_index_update_moves_a_lead_to_its_new_keys():
    idx = index(ANN)
    ANN_moved = lead(P1, "ann@new.com", "+12015550123")
    idx.update(ANN_moved)
    assert idx.email("ann@x.com") is None
    assert idx.email("ann@new.com") is ANN_moved


@pytest.mark.parametrize(
    ("scope", "found"),
    [
        (DupScope(kind="account"), True),
        (DupScope(kind="list", list_id=1), True),
        (DupScope(kind="list", list_id=2), False),
        (DupScope(kind="campaign", campaign_id=10), True),
        (DupScope(kind="campaign", campaign_id=20), False),
    ],
)
def test_insert_duplicate_scopes(scope, found):
    held = lead(P1, phone="+12015550123", list_id=1)
    idx = index(held)
    idx.list_campaign = {1: 10, 2: 20}
    decision = decide(Operation.INSERT, MatchKeys(phone="+12015550123"), idx, scope=scope)
    assert (decision.action == Action.REJECT) is found


def test_insert_ignores_archived_lists_unless_asked():
    held = lead(P1, phone="+12015550123", list_id=1)
    idx = index(held)
    idx.list_campaign = {1: 10}
    idx.archived_lists = {1}
    keys = MatchKeys(phone="+12015550123")
    assert decide(Operation.INSERT, keys, idx, scope=DupScope("account")).action == Action.CREATE
    archived = DupScope("account", include_archived=True)
    assert decide(Operation.INSERT, keys, idx, scope=archived).action == Action.REJECT


def test_insert_update_if_found_updates_instead_of_rejecting():
    held = lead(P1, phone="+12015550123", list_id=1)
    scope = DupScope("account", update_if_found=True)
    decision = decide(Operation.INSERT, MatchKeys(phone="+12015550123"), index(held), scope=scope)
    assert decision.action == Action.UPDATE
    assert decision.lead is held


def test_an_updated_lead_is_found_by_its_new_keys_only():
    """A row changes a lead in place; update() refiles it: its old email, phone and searched
    custom field no longer find it, its new ones do, and the other leads under a shared key
    stay where they were."""
    ann = lead(P1, "ann@x.com", "+12015550123", mx_City="Pune")
    twin = lead(P2, "twin@x.com", "+12015550123", mx_City="Pune")  # same phone and city
    idx = index(ann, twin, search_fields={"mx_City"})
    ann.email_normalized, ann.phone_normalized = "ann@new.com", "+12015550777"
    ann.custom_fields["mx_City"] = "Goa"
    idx.update(ann)

    assert idx.email("ann@x.com") is None
    assert idx.email("ann@new.com") is ann
    assert idx.phone("+12015550123") is twin
    assert idx.phone("+12015550777") is ann
    assert idx.search("mx_City", "Pune") is twin
    assert idx.search("mx_City", "Goa") is ann
    assert idx.by_id[P1] is ann

    idx.update(ann)  # refiled twice: still one entry under each key
    assert idx.by_phone["+12015550777"] == [ann]
    assert idx.by_search[("mx_City", "Goa")] == [ann]


def test_a_lead_added_again_under_its_id_replaces_the_old_copy():
    old = lead(P1, "ann@x.com", "+12015550123")
    new = lead(P1, "ann@y.com", "+12015550123")
    idx = index(old)
    idx.add(new)
    assert idx.email("ann@x.com") is None
    assert idx.email("ann@y.com") is new
    assert idx.by_phone["+12015550123"] == [new]
