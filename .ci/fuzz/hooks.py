"""Schemathesis hooks of `.ci/fuzz/run`: the check that a request the
OpenAPI document allows is refused only for reasons no schema can state."""

import re

import schemathesis

# Error and detail codes of refusals that depend on stored data or on
# business rules, never on the request's shape.
BUSINESS_DETAILS = {
    "rule",  # a business rule's error()
    "rule_failed",
    "not_found",  # a reference to a record that does not exist
    "reference",
    "lookup_filter",  # a reference the field's picker would not offer
    "unique",  # a value another record has
    "duplicate",  # a pick-list code the list has
    "not_before",  # an end before its start (another field)
    "not_a_permutation",  # a pick-list order that is not the list's codes
    "not_available",  # a command whose `when` the record does not meet
}
BUSINESS_ERRORS = {
    "type_refused",  # a file whose bytes are not of an accepted type
    "invalid_metadata",  # a package whose YAML or scripts are not valid
    "not_available",
}


@schemathesis.check
def business_refusals_only(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (415, 422):
        return None
    try:
        error = response.json()["error"]
    except Exception:  # noqa: BLE001 - any other body is itself a failure
        raise AssertionError(f"{response.status_code} without the error envelope")
    if error.get("code") in BUSINESS_ERRORS:
        return None
    details = error.get("details")
    codes = [d.get("code") for d in details] if isinstance(details, list) else []
    stated = [c for c in codes if c not in BUSINESS_DETAILS]
    if not codes or stated:
        raise AssertionError(
            f"a request the document allows was refused for what a schema can state: "
            f"{error.get('code')} {stated or error.get('message')}"
        )
    return None


CURSOR = re.compile(r"[A-Za-z0-9_-]+")


@schemathesis.hook
def map_query(context, query):
    """A cursor is opaque: only a `next_cursor` the server gave is one (any
    other is refused with 400, as it must be). A generated cursor that has
    the shape of one is replaced by the empty cursor (the first page)."""
    if query and isinstance(query.get("cursor"), str) and CURSOR.fullmatch(query["cursor"]):
        query["cursor"] = ""
    return query
