"""Demo content for a first look at Pinwheel: topics, readers and one spotlight issue."""

from __future__ import annotations

from typing import Any

#: (slug, name, category, description, opt-in)
DEMO_TOPICS: list[tuple[str, str, str, str, str]] = [
    (
        "human-trafficking",
        "Human trafficking",
        "Child welfare practice",
        "Identifying, serving and protecting children and youth at risk of trafficking.",
        "double",
    ),
    (
        "child-abuse-prevention",
        "Child abuse prevention",
        "Child welfare practice",
        "Strategies, data and campaigns that keep children safe before harm occurs.",
        "double",
    ),
    (
        "foster-care",
        "Foster care",
        "Child welfare practice",
        "Support for foster families, kin caregivers and the professionals who work with them.",
        "double",
    ),
    (
        "adoption",
        "Adoption",
        "Child welfare practice",
        "Permanency, post-adoption support and National Adoption Month.",
        "double",
    ),
    (
        "youth-wellbeing",
        "Youth well-being",
        "Child welfare practice",
        "Mental health, runaway prevention and thriving young adults.",
        "double",
    ),
    (
        "monthly-digest",
        "Monthly practice digest",
        "Digests",
        "One email a month with the best new research, tools and training.",
        "single",
    ),
]

FIRST_NAMES = [
    "Avery", "Jordan", "Maya", "Luis", "Priya", "Samuel", "Grace", "Noah", "Imani", "Chen",
    "Rosa", "Dmitri", "Fatima", "Owen", "Keisha", "Tomás", "Hana", "Elijah", "Nadia", "Quinn",
    "Aaliyah", "Ben", "Carmen", "Devon", "Esther",
]  # fmt: skip
LAST_NAMES = ["Rivera", "Okafor", "Nguyen", "Hughes", "Patel", "Walker", "Bennett", "Silva"]
ROLES = ["caseworker", "supervisor", "foster parent", "administrator", "advocate"]
STATES = ["OH", "TX", "WA", "GA", "NY", "MN", "AZ"]

SPOTLIGHT_ISSUE: dict[str, Any] = {
    "title": "Protecting Youth From Trafficking",
    "kicker": "Spotlight On...",
    "subject": "Spotlight On: protecting youth from trafficking",
    "preheader": (
        "January is National Human Trafficking Prevention Month: what child welfare teams "
        "can do now."
    ),
    "date_label": "January 2027",
    "layout": "spotlight",
    "language": "en",
    "theme": {"accent": "#1f4e8c", "banner": "National Human Trafficking Prevention Month"},
    "blocks": [
        {
            "id": "intro-1",
            "type": "paragraph",
            "text": (
                "Each January, National Human Trafficking Prevention Month invites child welfare "
                "agencies to renew a shared promise: notice the young people most at risk, "
                "respond with care that heals rather than harms, and **stop exploitation before "
                "it starts**."
            ),
        },
        {
            "id": "intro-2",
            "type": "paragraph",
            "text": (
                "Risk rarely has a single cause. It builds where personal history, strained "
                "relationships, thin community supports and wider social pressures meet, which "
                "is why prevention works best when it reaches the whole family."
            ),
            "refs": [1],
        },
        {
            "id": "key-points",
            "type": "bullets",
            "items": [
                {
                    "text": (
                        "Young people who leave foster care without a plan, or who move often "
                        "between placements, can lose the adults who would notice warning signs."
                    ),
                    "refs": [2],
                },
                {
                    "text": (
                        "Survivors and their families usually need several services at once: "
                        "health and mental health care, a safe place to live, schooling, legal "
                        "help and someone to advocate for them."
                    ),
                    "refs": [3],
                },
                {
                    "text": (
                        "Working with families and communities, not only with the individual "
                        "young person, tends to make recovery last."
                    ),
                    "refs": [4],
                },
            ],
        },
        {
            "id": "approach",
            "type": "callout",
            "title": "Approach to Consider",
            "body": (
                "A **whole-family approach** plans services for a survivor together with their "
                "caregivers and children. Stable housing, income support and mental health care "
                "for the family lower the chance that trauma passes to the next generation, and "
                "so also work as prevention."
            ),
            "refs": [5],
        },
        {
            "id": "training",
            "type": "resources",
            "title": "Training",
            "intro": "Free self-paced courses for caseworkers and supervisors.",
            "items": [
                {
                    "title": "Recognising the signs of child trafficking (self-paced course)",
                    "url": "https://training.example.org/courses/recognising-trafficking",
                    "description": "Ninety minutes on screening conversations and referrals.",
                    "kind": "training",
                },
                {
                    "title": "Trauma-informed interviewing for child welfare staff",
                    "url": "https://training.example.org/courses/trauma-informed-interviewing",
                    "kind": "training",
                },
            ],
        },
        {
            "id": "publications",
            "type": "resources",
            "title": "Publications",
            "items": [
                {
                    "title": "A practice brief on serving trafficked youth in foster care",
                    "url": "https://library.example.org/briefs/serving-trafficked-youth.pdf",
                    "description": "Screening, safety planning and placement stability.",
                    "kind": "pdf",
                    "size": "412 KB",
                },
                {
                    "title": "Partnering with survivors to design prevention programs",
                    "url": "https://library.example.org/articles/partnering-with-survivors",
                    "kind": "publication",
                },
            ],
        },
        {
            "id": "organizations",
            "type": "resources",
            "title": "Organizations",
            "items": [
                {
                    "title": "National trafficking hotline (24/7, confidential)",
                    "url": "https://hotline.example.org/",
                    "kind": "organization",
                },
            ],
        },
        {
            "id": "references",
            "type": "references",
            "title": "References",
            "items": [
                {"number": 1, "text": "Prevention research summary on layered risk factors, 2024."},
                {"number": 2, "text": "Study of placement moves and runaway episodes, 2023."},
                {"number": 3, "text": "Survey of services needed by young survivors, 2022."},
                {"number": 4, "text": "Review of family- and community-centred treatment, 2023."},
                {"number": 5, "text": "Evaluation of two-generation service models, 2021."},
            ],
        },
    ],
}
