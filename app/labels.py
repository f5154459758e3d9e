"""Human names of enumerated values, marked for translation (GLOSSARY.md wording)."""

from __future__ import annotations

from enum import Enum

from app.i18n import N_, gettext

LABELS: dict[str, str] = {
    # organisation types
    "municipality": N_("Municipality"),
    "employment_authority": N_("Employment authority"),
    "wellbeing_county": N_("Wellbeing services county"),
    "service_provider": N_("Service provider"),
    # roles
    "integration_officer": N_("Integration officer"),
    "manager": N_("Team lead or manager"),
    "administrator": N_("Administrator"),
    "county_team_member": N_("County team member"),
    "interpreter": N_("Interpreter"),
    # how the municipality learned of the person
    "client_contact": N_("The person contacted us"),
    "kela_list": N_("Kela list"),
    "immigration_service_list": N_("Finnish Immigration Service list"),
    "population_register": N_("Population register"),
    "authority_referral": N_("Referral by another authority"),
    "municipal_placement": N_("Municipal placement"),
    "quota_selection": N_("Quota refugee selection"),
    "other": N_("Other"),
    # permit types
    "international_protection": N_("International protection"),
    "temporary_protection": N_("Temporary protection"),
    "quota_refugee": N_("Quota refugee"),
    "family": N_("Family ties"),
    "work": N_("Work"),
    "study": N_("Study"),
    "eu_registration": N_("EU registration"),
    "residence_card": N_("Residence card (family member of an EU citizen)"),
    "trafficking_victim": N_("Victim of human trafficking"),
    # status and end reasons
    "active": N_("Active"),
    "ended": N_("Ended"),
    "moved_away": N_("Moved away"),
    "services_completed": N_("Services completed"),
    "employed": N_("Employed"),
    "no_need": N_("No further need"),
    "transferred": N_("Transferred to another authority"),
    "deceased": N_("Deceased"),
    # family
    "guardian": N_("Guardian"),
    "child": N_("Child"),
    "spouse": N_("Spouse"),
    # consents
    "wellbeing_county_sharing": N_("Sharing data with the wellbeing services county"),
    "employment_authority_sharing": N_("Sharing data with the employment authority"),
    "guidance_records": N_("Keeping records of guidance and counselling"),
    "electronic_messages": N_("Receiving messages electronically"),
    "family_overview": N_("Family integration overview"),
    "feedback_contact": N_("Being contacted for feedback"),
    # integration programme (service types)
    "civic_orientation": N_("Multilingual civic orientation"),
    "integration_training": N_("Integration training"),
    "literacy_training": N_("Literacy training"),
    "adult_basic_education": N_("Basic education for adults"),
    "other_language_training": N_("Other Finnish or Swedish language training"),
    "guidance_and_counselling": N_("Guidance and counselling"),
    "ngo_activity": N_("NGO activity"),
    "other_service": N_("Other service"),
    # origins of texts and translations
    "original": N_("Original"),
    "officer": N_("Translated by an officer"),
    "translator": N_("Translated by a translator"),
    "machine": N_("Machine translation, not checked"),
    # assessment
    "draft": N_("Draft"),
    "completed": N_("Completed"),
    "superseded": N_("Replaced by an amendment"),
    "literate_latin": N_("Reads and writes the Latin alphabet"),
    "literate_other_script": N_("Reads and writes, but not the Latin alphabet"),
    "partially_literate": N_("Partly literate"),
    "not_literate": N_("Cannot read or write yet"),
    "none": N_("No skills yet"),
    "reading": N_("Reading"),
    "writing": N_("Writing"),
    "listening": N_("Listening"),
    "speaking": N_("Speaking"),
    "no_schooling": N_("No schooling"),
    "primary": N_("Primary school"),
    "lower_secondary": N_("Lower secondary school"),
    "upper_secondary": N_("Upper secondary school"),
    "vocational": N_("Vocational qualification"),
    "bachelor": N_("Bachelor's degree or equivalent"),
    "master": N_("Master's degree or equivalent"),
    "doctorate": N_("Doctorate"),
    "client_interview": N_("Interview with the client"),
    "client_documents": N_("The client's documents"),
    "employment_authority_data": N_("Employment authority"),
    "kela_data": N_("Kela"),
    "immigration_service_data": N_("Finnish Immigration Service"),
    "wellbeing_county_data": N_("Wellbeing services county"),
    "education_provider_data": N_("Education provider"),
    "refining_measure": N_("Refining measure"),
    "plan_needed": N_("An integration plan is needed"),
    "plan_not_needed": N_("No integration plan is needed"),
    "language_level_test": N_("Language level test"),
    "literacy_check": N_("Literacy check"),
    "recognition_of_competence": N_("Recognition of competence"),
    "study_skills_assessment": N_("Assessment of study skills"),
    "working_life_assessment": N_("Assessment of working-life skills"),
    "other_measure": N_("Other refining measure"),
    "ordered": N_("Ordered"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
    # integration plan
    "in_force": N_("In force"),
    "interrupted": N_("Interrupted"),
    "employment": N_("Employment"),
    "studies": N_("Studies"),
    "period_ended": N_("The plan period ended"),
    "low_education": N_("Low level of education"),
    "multi_sector_needs": N_("Multi-sector needs that require special measures"),
    "part_time_home_care_allowance": N_("Part-time participation while on child home-care allowance"),
    "illness": N_("Illness"),
    "disability": N_("Disability"),
    "pregnancy_parental_leave": N_("Pregnancy or parental leave"),
    "long_term": N_("Long-term goal"),
    "plan_period": N_("Goal for the plan period"),
    "employment_goal": N_("Employment"),
    "entrepreneurship": N_("Entrepreneurship"),
    "working_life_readiness": N_("Readiness for working life"),
    "upper_secondary_education": N_("At least upper secondary education"),
    "language_skills_goal": N_("Finnish or Swedish skills"),
    "other_goal": N_("Other goal"),
    "programme": N_("Service of the integration programme"),
    "ngo": N_("NGO activity"),
    "planned": N_("Planned"),
    "referred": N_("Referred"),
    "started": N_("Started"),
    "passkey_in_app": N_("With a passkey in the app"),
    "signed_on_paper": N_("Signed on paper"),
    "orally_in_person": N_("Approved orally in person"),
    "scheduled": N_("Scheduled review"),
    "client_request": N_("At the client's request"),
    "material_change": N_("Material change in the situation"),
    "after_transfer": N_("After a transfer from another authority"),
    # language levels
    "native": N_("Mother tongue level"),
    # audit actions
    "view": N_("Viewed"),
    "search": N_("Searched"),
    "create": N_("Created"),
    "update": N_("Changed"),
    "delete": N_("Deleted"),
    "export": N_("Exported"),
    "sign_in": N_("Signed in"),
    "sign_in_failed": N_("Failed sign-in"),
    "sign_out": N_("Signed out"),
    "passkey_added": N_("Passkey added"),
    "passkey_removed": N_("Passkey removed"),
    # audited object types
    "consent": N_("consent"),
    "family_link": N_("family link"),
    "health_information": N_("health information"),
    "access_history": N_("access history"),
    "passkey": N_("passkey"),
    "staff": N_("staff account"),
    "organisation": N_("organisation"),
    "audit_event": N_("audit log"),
}

SEGMENTS = {
    1: N_("1 – moved on their own (work, study, family)"),
    2: N_("2 – municipal placement after asylum or temporary protection"),
    3: N_("3 – quota refugee"),
}


def label(value: Enum | str | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, Enum):
        return gettext(SEGMENTS.get(value, str(value)))
    key = str(value.value if isinstance(value, Enum) else value)
    return gettext(LABELS[key]) if key in LABELS else key


FIELD_LABELS = {
    "segment": N_("Segment"),
    "known_on": N_("Date the municipality learned of the person"),
    "known_how": N_("How the municipality learned of the person"),
    "first_names": N_("First names"),
    "last_name": N_("Last name"),
    "native_name": N_("Name in the person's own script"),
    "date_of_birth": N_("Date of birth"),
    "identity_code": N_("Personal identity code"),
    "temporary_identifier": N_("Temporary identifier"),
    "citizenship": N_("Citizenship"),
    "mother_tongue": N_("Mother tongue"),
    "interpreter_needed": N_("Needs an interpreter"),
    "interpreter_language": N_("Interpreter's language"),
    "phone": N_("Phone number"),
    "email": N_("E-mail address"),
    "street_address": N_("Street address"),
    "postal_code": N_("Postal code"),
    "post_office": N_("Post office"),
    "municipality_of_residence": N_("Municipality of residence"),
    "first_permit_date": N_("Date of the first residence permit, card or registration"),
    "permit_type": N_("Permit type"),
    "languages": N_("Other languages and level"),
    "basic": N_("Basic data"),
    "family": N_("Family"),
    "consents": N_("Consents"),
    "health": N_("Health and functional capacity"),
    "duplicates": N_("Probable duplicates"),
    "name": N_("Name"),
    "status": N_("Status"),
    "ended_on": N_("End date"),
    "end_reason": N_("Reason for ending"),
    "end_note": N_("Note"),
}


def field_label(name: str) -> str:
    return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def options(enum: type[Enum]) -> list[tuple[str, str]]:
    """(value, translated label) pairs for a select."""
    return [(str(member.value), label(member)) for member in enum]
