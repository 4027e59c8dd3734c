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

#: Each demo topic's Spanish name and description, by slug (``Topic.translations["es"]``).
DEMO_TOPICS_ES: dict[str, tuple[str, str]] = {
    "human-trafficking": (
        "Trata de personas",
        "Cómo identificar, atender y proteger a niños y jóvenes en riesgo de trata.",
    ),
    "child-abuse-prevention": (
        "Prevención del maltrato infantil",
        "Estrategias, datos y campañas que protegen a los niños antes de que sufran daño.",
    ),
    "foster-care": (
        "Cuidado de crianza",
        "Apoyo para familias de crianza, familiares cuidadores y los profesionales que "
        "trabajan con ellos.",
    ),
    "adoption": (
        "Adopción",
        "Permanencia, apoyo después de la adopción y el Mes Nacional de la Adopción.",
    ),
    "youth-wellbeing": (
        "Bienestar juvenil",
        "Salud mental, prevención de fugas y jóvenes adultos que prosperan.",
    ),
    "monthly-digest": (
        "Resumen mensual de práctica",
        "Un correo al mes con las mejores investigaciones, herramientas y capacitaciones nuevas.",
    ),
}

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

#: The Spanish edition of ``SPOTLIGHT_ISSUE``: the same blocks (same ids), translated.
SPOTLIGHT_ISSUE_ES: dict[str, Any] = {
    **SPOTLIGHT_ISSUE,
    "title": "Proteger a los jóvenes de la trata",
    "kicker": "En foco...",
    "subject": "En foco: cómo proteger a los jóvenes de la trata",
    "preheader": (
        "Enero es el Mes Nacional de Prevención de la Trata de Personas: lo que los equipos "
        "de bienestar infantil pueden hacer ahora."
    ),
    "date_label": "Enero de 2027",
    "language": "es",
    "theme": {"accent": "#1f4e8c", "banner": "Mes Nacional de Prevención de la Trata de Personas"},
    "blocks": [
        {
            "id": "intro-1",
            "type": "paragraph",
            "text": (
                "Cada enero, el Mes Nacional de Prevención de la Trata de Personas invita a las "
                "agencias de bienestar infantil a renovar un compromiso compartido: fijarse en "
                "los jóvenes que corren más riesgo, responder con un cuidado que sane en lugar de "
                "dañar y **detener la explotación antes de que empiece**."
            ),
        },
        {
            "id": "intro-2",
            "type": "paragraph",
            "text": (
                "El riesgo rara vez tiene una sola causa. Crece donde se juntan la historia "
                "personal, las relaciones tensas, los pocos apoyos de la comunidad y las "
                "presiones sociales más amplias; por eso la prevención funciona mejor cuando "
                "llega a toda la familia."
            ),
            "refs": [1],
        },
        {
            "id": "key-points",
            "type": "bullets",
            "items": [
                {
                    "text": (
                        "Los jóvenes que salen del cuidado temporal sin un plan, o que cambian a "
                        "menudo de hogar, pueden perder a los adultos que notarían las señales "
                        "de alerta."
                    ),
                    "refs": [2],
                },
                {
                    "text": (
                        "Los sobrevivientes y sus familias suelen necesitar varios servicios a la "
                        "vez: atención médica y de salud mental, un lugar seguro donde vivir, "
                        "escuela, ayuda legal y alguien que los defienda."
                    ),
                    "refs": [3],
                },
                {
                    "text": (
                        "Trabajar con las familias y las comunidades, y no solo con cada joven, "
                        "suele hacer que la recuperación dure."
                    ),
                    "refs": [4],
                },
            ],
        },
        {
            "id": "approach",
            "type": "callout",
            "title": "Un enfoque a considerar",
            "body": (
                "Un **enfoque centrado en toda la familia** planifica los servicios de un "
                "sobreviviente junto con sus cuidadores y sus hijos. La vivienda estable, el "
                "apoyo económico y la atención de salud mental para la familia reducen la "
                "probabilidad de que el trauma pase a la siguiente generación, y por eso también "
                "sirven de prevención."
            ),
            "refs": [5],
        },
        {
            "id": "training",
            "type": "resources",
            "title": "Capacitación",
            "intro": (
                "Cursos gratuitos, a su propio ritmo, para trabajadores sociales y supervisores."
            ),
            "items": [
                {
                    "title": "Cómo reconocer las señales de la trata infantil (curso a su ritmo)",
                    "url": "https://training.example.org/courses/recognising-trafficking",
                    "description": (
                        "Noventa minutos sobre conversaciones de detección y derivaciones."
                    ),
                    "kind": "training",
                },
                {
                    "title": "Entrevistas informadas sobre el trauma para el personal",
                    "url": "https://training.example.org/courses/trauma-informed-interviewing",
                    "kind": "training",
                },
            ],
        },
        {
            "id": "publications",
            "type": "resources",
            "title": "Publicaciones",
            "items": [
                {
                    "title": (
                        "Guía práctica para atender a jóvenes víctimas de trata en cuidado temporal"
                    ),
                    "url": "https://library.example.org/briefs/serving-trafficked-youth.pdf",
                    "description": (
                        "Detección, plan de seguridad y estabilidad del hogar (en inglés)."
                    ),
                    "kind": "pdf",
                    "size": "412 KB",
                },
                {
                    "title": "Colaborar con sobrevivientes para diseñar programas de prevención",
                    "url": "https://library.example.org/articles/partnering-with-survivors",
                    "kind": "publication",
                },
            ],
        },
        {
            "id": "organizations",
            "type": "resources",
            "title": "Organizaciones",
            "items": [
                {
                    "title": "Línea nacional contra la trata (24 horas, confidencial)",
                    "url": "https://hotline.example.org/",
                    "kind": "organization",
                },
            ],
        },
        {
            "id": "references",
            "type": "references",
            "title": "Referencias",
            "items": [
                {"number": 1, "text": "Resumen de investigación sobre factores de riesgo, 2024."},
                {"number": 2, "text": "Estudio sobre cambios de hogar y fugas, 2023."},
                {"number": 3, "text": "Encuesta sobre servicios que necesitan los jóvenes, 2022."},
                {
                    "number": 4,
                    "text": "Revisión de tratamientos centrados en familia y comunidad, 2023.",
                },
                {
                    "number": 5,
                    "text": "Evaluación de modelos de servicios para dos generaciones, 2021.",
                },
            ],
        },
    ],
}
#: Every how many demo readers one reads in Spanish (and gets the Spanish edition).
SPANISH_READER_EVERY = 10
