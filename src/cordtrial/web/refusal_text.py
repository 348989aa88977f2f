"""Refusals in words for the people who meet them: at the bedside, in the cell-processing
centre and in QA. The store's refusal codes are stable identifiers for programs (the API answers
them in ``code``); a page shows the store's message and the sentence here for the rule behind
it, never the code. Pure: code in, sentence out."""

from __future__ import annotations

RULES: dict[str, str] = {
    # chain of identity and the product (cell-product.md steps 7-8)
    "identity_mismatch": "Chain of identity: the wristband must be this patient's and the "
    "product label the number of a lot made for this patient.",
    "wrong_patient_lot": "A cell product is given only to the patient it was made from "
    "(autologous use): this lot was made for another patient.",
    "wrong_patient_serum": "The culture uses serum from this patient's own blood draws only.",
    "lot_not_released": "Only a lot released by QA (and not yet infused) can be given, on or "
    "after the day of its release.",
    "lot_expired": "A lot past its expiry date cannot be given or released.",
    "lot_transition": "The lot is not at a step of its life that allows this action.",
    "infusion_limit": "The patient has had every infusion the protocol allows.",
    "dose_above_maximum": "The dose per kilogram of body weight is above the protocol's "
    "maximum: check the cell count and the weight.",
    "dose_out_of_range": "The total dose is outside the protocol's range, or more cells than "
    "the lot holds.",
    "release_tests_incomplete": "A lot is released only when every required release test has "
    "a result within its limit.",
    "no_consent": "Raw material is taken only on a day with a positive eligibility decision and "
    "a valid consent.",
    # electronic signatures (21 CFR 11.200)
    "second_person_required": "A second person, not you, must confirm the patient's and the "
    "product's identity.",
    "invalid_second_person": "The second person must be another active account at this site "
    "allowed to confirm an infusion.",
    "authentication_failed": "A signature needs the signer's own password: the one entered is "
    "wrong (wrong passwords count toward locking the account).",
    "account_locked": "The account is locked after too many wrong passwords: wait, or ask an "
    "administrator.",
    "account_inactive": "The account is deactivated: it cannot sign.",
    "invalid_input": "A value is not allowed: see the field marked below.",
}


def rule_text(code: str | None) -> str:
    """The sentence for a refusal code (a code without one reads as words, never as an id)."""
    if not code:
        return ""
    return RULES.get(code) or code.replace("_", " ").capitalize() + "."
