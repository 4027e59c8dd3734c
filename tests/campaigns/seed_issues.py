# ruff: noqa: E501, RUF001
"""The five sample issues in ../shared/seeds/, modelled as issue content dicts (test fixtures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SEED_DIR = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def _res(title: str, slug: str, kind: str = "webpage", **extra: str) -> dict[str, str]:
    return {"title": title, "url": f"https://resources.example.org/{slug}", "kind": kind, **extra}


SPOTLIGHT_000: dict[str, Any] = {
    "title": "Addressing Sex Trafficking",
    "kicker": "Spotlight On...",
    "subject": "Spotlight on Addressing Sex Trafficking",
    "preheader": "January is National Human Trafficking Prevention Month: resources for child welfare.",
    "layout": "spotlight",
    "theme": {"accent": "#0b5a6e", "banner": "National Human Trafficking Prevention Month"},
    "blocks": [
        {
            "id": "intro-1",
            "type": "paragraph",
            "text": "January is National Human Trafficking Prevention Month. This month offers an opportunity to reaffirm our commitment in child welfare to identifying children and youth who have been trafficked or are at risk, connecting survivors and their families with trauma-informed services, and helping to stop sex trafficking before it occurs.",
        },
        {
            "id": "intro-2",
            "type": "paragraph",
            "text": "While sex trafficking can occur in a variety of family situations and across socioeconomic and racial groups, a combination of factors contributes to risk at four levels: individual (e.g., child maltreatment, substance use), relationships (e.g., social isolation), community (e.g., poverty, limited resources), and society (e.g., sexualization of children)[^1].",
        },
        {
            "id": "intro-3",
            "type": "paragraph",
            "text": "Holistic strategies support survivors and address the needs of parents, caregivers, and children to stop multigenerational cycles of trauma. Approaches that intervene early to strengthen families and communities bolster protective factors and reduce inequities, which may reduce opportunities for trafficking.",
        },
        {
            "id": "facts",
            "type": "bullets",
            "items": [
                {
                    "text": "Given histories of abuse and trauma, isolation from family and friends, impermanent living situations, and emotional needs, children and youth in foster care—and those who run away from care—can be especially vulnerable to trafficking[^2].",
                },
                {
                    "text": "Children and youth who have experienced trafficking and their families often require individualized, trauma-informed, and coordinated services in the areas of mental health, health care, education, employment, safe housing, reconnection with family and community, legal assistance, life skills, and victim advocacy[^3].",
                },
                {
                    "text": "Because sex trafficking affects individuals, their families, and communities, services may have greater impact when engaging families and communities in addition to individual treatment[^4].",
                },
            ],
        },
        {
            "id": "approach",
            "type": "callout",
            "title": "Approach to Consider",
            "items": [
                {
                    "text": "A two-generation (or whole family) approach provides holistic services for survivors, their parents or caregivers, and/or their children and extended family. Services that focus on the whole family seek to ensure that survivors are not retraumatized and help prevent unaddressed trauma from permeating across family relationships. By providing families with more opportunities for economic stability, housing, mental health care, and social supports, two-generation programs address risk and protective factors and, in turn, serve as sex trafficking prevention strategies[^5].",
                },
            ],
        },
        {
            "id": "center",
            "type": "paragraph",
            "text": "The Capacity Building Center for States (Center) provides services and resources that build capacity for identifying survivors of sex trafficking and collaborating to provide comprehensive and trauma-informed services. In addition, the Center offers supports and resources for strengthening families and advancing sex trafficking prevention.",
        },
        {
            "id": "training",
            "type": "resources",
            "title": "Training Resources on Sex Trafficking",
            "intro": "To access the training resources below, login to CapLEARN or create a free CapLEARN account",
            "items": [
                _res(
                    "Sex Trafficking Prevention and Response: Foundations",
                    "training-foundations",
                    "training",
                    description="A self-paced course for caseworkers.",
                ),
                _res("Working With Survivors and Their Families", "training-families", "training"),
            ],
        },
        {
            "id": "publications",
            "type": "resources",
            "title": "Article and Publications on Sex Trafficking",
            "items": [
                _res(
                    "Engaging Families in Trafficking Prevention",
                    "publication-families",
                    "publication",
                ),
                _res(
                    "Identifying Youth at Risk: A Practice Brief", "brief.pdf", "pdf", size="301 KB"
                ),
            ],
        },
        {
            "id": "series",
            "type": "resources",
            "title": "Series Focused on Strengthening Families",
            "items": [_res("Strengthening Families Series", "series", "toolkit")],
        },
        {
            "id": "related",
            "type": "resources",
            "title": "Related Resources",
            "items": [
                _res("Prevention Month Toolkit", "prevention-toolkit", "toolkit"),
                _res("Survivor Voices", "survivor-voices", "video"),
            ],
        },
        {
            "id": "organizations",
            "type": "resources",
            "title": "Related Organizations",
            "items": [_res("National Human Trafficking Hotline", "hotline", "organization")],
        },
        {
            "id": "notes",
            "type": "references",
            "title": "References",
            "items": [
                {
                    "number": n,
                    "text": f"Source [{n}] cited in the Spotlight On... bulletin.",
                    "url": f"https://resources.example.org/ref-{n}",
                }
                for n in range(1, 6)
            ],
        },
    ],
}

_DIGEST_RESOURCES = [
    _res("Collaboration Toolkit", "collaboration", "toolkit"),
    _res("Task Force Profiles", "task-forces", "publication"),
]

DIGEST_001: dict[str, Any] = {
    "title": "Continuing to Move Forward With Lessons From a National Convening on Trafficking and Child Welfare",
    "subject": "Lessons From a National Convening on Trafficking",
    "preheader": "Critical action steps that are as relevant today in responding to sex trafficking as in 2015.",
    "layout": "digest",
    "date_label": "December/January 2022",
    "volume": 22,
    "number": 11,
    "blocks": [
        {"id": "toc", "type": "toc"},
        {
            "id": "byline",
            "type": "paragraph",
            "text": "*Written by the Capacity Building Center for States*",
        },
        {
            "id": "intro",
            "type": "paragraph",
            "text": "Children and youth involved with child welfare-particularly those who run away from foster homes and congregate care facilities-are at increased risk of sex trafficking (Latzman & Gibbs, 2020). In 2015, responding to growing concern over this issue, the White House and the Children's Bureau within the Administration for Children and Families of the U.S. Department of Health and Human Services hosted the National Convening on Trafficking in Child Welfare. This event brought together trafficking survivors, program innovators, and leaders from child welfare, the courts, and law enforcement to advance collaborative solutions and plan for implementing the Preventing Sex Trafficking and Strengthening Families Act (Capacity Building Center for States, 2015). The convening pointed to critical action steps, highlighted below, that are as relevant today in responding to sex trafficking as they were in 2015.",
        },
        {
            "id": "collaborate",
            "type": "heading",
            "level": 2,
            "text": "Collaborate Through Cross-System Partnerships",
        },
        {
            "id": "collaborate-1",
            "type": "paragraph",
            "text": "Preventing, identifying, and responding to sex trafficking requires a collaborative approach that leverages diverse expertise and coordinates efforts among the following:",
        },
        {
            "id": "partners",
            "type": "bullets",
            "items": [
                {"text": "Child welfare agencies"},
                {
                    "text": "System partners (e.g., law enforcement, juvenile justice systems, family courts, health-care and mental health service agencies, housing services, schools)"
                },
                {
                    "text": "Local service providers (e.g., runaway and homeless shelters, local businesses, recreation services, community groups, victim advocates)"
                },
                {
                    "text": "Youth and young adults who have lived experience in child welfare and sex trafficking"
                },
                {"text": "Caregivers"},
            ],
        },
        {
            "id": "collaborate-2",
            "type": "paragraph",
            "text": "Since 2015, many jurisdictions have formed or strengthened multidisciplinary task forces and work groups that facilitate information sharing, make recommendations for coordinated responses, align policies and practices, or share protocols for identifying and serving trafficking victims (Gibbs et al., 2019).",
        },
        {
            "id": "collaborate-res",
            "type": "resources",
            "title": "",
            "intro": "To advance collaborative partnerships in your state or community, explore the following resources:",
            "items": _DIGEST_RESOURCES,
        },
        {
            "id": "engage",
            "type": "heading",
            "level": 2,
            "text": "Engage Survivors Meaningfully in Planning",
        },
        {
            "id": "engage-1",
            "type": "paragraph",
            "text": "As with all planning efforts, involving those most familiar with the problem leads to the most insightful solutions. Survivors of sex trafficking offer vital perspectives to the development of effective approaches for preventing and responding to sex trafficking for other youth involved with child welfare.",
        },
        {
            "id": "engage-2",
            "type": "paragraph",
            "text": 'To hear powerful firsthand accounts and insights from survivors of sex trafficking, listen to ["Child Welfare Response to Child and Youth Sex Trafficking, Part 3"](https://resources.example.org/digital-stories-3) (CBC for States digital stories; free registration required). To learn more on approaches for meaningful engagement, read [Strategies for Authentic Integration of Family and Youth Voice in Child Welfare](https://resources.example.org/authentic-integration) (CBC for States brief).',
        },
        {"id": "data", "type": "heading", "level": 2, "text": "Use Data to Inform Planning"},
        {
            "id": "data-1",
            "type": "paragraph",
            "text": "States and counties can better understand the needs and characteristics of youth who are vulnerable to sex trafficking by examining administrative data on youth who run away and are reported to the Adoption and Foster Care Analysis and Reporting System and on sex trafficking cases reported to the National Child Abuse and Neglect Data System. Jurisdictions can delve further by analyzing data collected across systems and by holding conversations to better understand the stories behind the numbers.",
        },
        {
            "id": "data-res",
            "type": "resources",
            "title": "",
            "intro": "For more information on using data to inform responses, see the following resources:",
            "items": [_res("Using Data to Respond to Trafficking", "data-brief", "publication")],
        },
        {"id": "trauma", "type": "heading", "level": 2, "text": "Ensure Trauma-Informed Responses"},
        {
            "id": "trauma-1",
            "type": "paragraph",
            "text": "Screening, assessment, and services should be trauma informed and promote individualized and culturally appropriate care. Policies and practices that reflect understanding of the experiences of youth who have been exposed to trafficking and the impact of trauma can help support survivors in taking steps toward healing.",
        },
        {
            "id": "trauma-res",
            "type": "resources",
            "title": "",
            "intro": "Use the following resources to help build capacity for identifying sex trafficking victims and delivering trauma-informed services:",
            "items": [_res("Trauma-Informed Screening Guide", "screening", "training")],
        },
        {"id": "learn", "type": "heading", "level": 2, "text": "Learn and Borrow From Others"},
        {
            "id": "learn-res",
            "type": "resources",
            "title": "",
            "intro": "States and localities can learn from and build on what's already been done elsewhere. Find out more below:",
            "items": [_res("State Practice Profiles", "profiles", "publication")],
        },
        {
            "id": "references",
            "type": "references",
            "style": "citation",
            "items": [
                {
                    "number": 1,
                    "text": "Capacity Building Center for States. (2015). Summary: National Convening on Child Welfare. U.S. Department of Health and Human Services, Administration for Children and Families, Children's Bureau.",
                },
                {
                    "number": 2,
                    "text": "Gibbs, D. A., Feinberg, R. K., Dolan, M., Latzman, N. E., Misra, S., & Domanico, R. (2019). Report to Congress: The child welfare system response to sex trafficking of children. U.S. Department of Health and Human Services, Administration for Children and Families.",
                },
                {
                    "number": 3,
                    "text": "Latzman, N. E., & Gibbs, D. (2020). Examining the link: Foster care runaway episodes and human trafficking (OPRE Report No. 2020-143). U.S. Department of Health and Human Services, Administration for Children and Families, Office of Planning, Research, and Evaluation.",
                },
            ],
        },
    ],
}

DIGEST_002: dict[str, Any] = {
    "title": "Sex Trafficking and Child Welfare",
    "subject": "Sex Trafficking and Child Welfare",
    "preheader": "A research brief on the children and youth most vulnerable to sexual exploitation.",
    "layout": "digest",
    "date_label": "December/January 2015",
    "volume": 15,
    "number": 11,
    "blocks": [
        {
            "id": "p1",
            "type": "paragraph",
            "text": "Child welfare professionals are increasingly coming in contact with children and youth who may have been victims of sex trafficking, making it important that these professionals receive training to identify the signs and symptoms of trafficking. On December 31, 2013, President Obama declared January as National Slavery and Human Trafficking Prevention Month. Recognizing the growing confluence of child welfare and human trafficking, the State Policy and Advocacy Reform Center (SPARC) and FirstFocus produced a research brief that explores the characteristics that make certain groups of children and youth vulnerable to becoming victims of sexual exploitation.",
        },
        {
            "id": "p2",
            "type": "paragraph",
            "text": "The brief outlines existing trafficking laws and current efforts from Congress and States to address the issue and provide services for sexually exploited children and youth. The authors note that a top characteristic of trafficking victims is a history of child abuse or sexual abuse. This history of trauma may explain the prevalence of trafficking victims with current or previous involvement with child welfare. Other child and youth populations that tend to be trafficked include children and youth who identify as lesbian, gay, bisexual, transgender, or questioning (LGBTQ), runaway youth, and American Indian and Alaska Native children and youth—populations also disproportionately represented in child welfare.",
        },
        {
            "id": "p3",
            "type": "paragraph",
            "text": "In addition to providing information on effective screening practices and appropriate services for victims, the brief outlines the following recommendations for policies and best practices for serving victims:",
        },
        {
            "id": "recommendations",
            "type": "bullets",
            "items": [
                {"text": "Decriminalizing prostitution by minors"},
                {"text": "Increasing penalties against traffickers and customers"},
                {"text": "Increasing coordination among victim-serving agencies"},
                {"text": "Increasing funding resources to victim services"},
                {"text": "Providing incentives for training and reporting"},
            ],
        },
        {
            "id": "brief",
            "type": "resources",
            "title": "",
            "intro": "*Child Sex Trafficking and the Child Welfare System*, by Elliott Gluck and Rricha Mathur, is available on the SPARC website:",
            "items": [
                _res(
                    "Child Sex Trafficking and the Child Welfare System",
                    "sparc-brief.pdf",
                    "pdf",
                    size="301 KB",
                )
            ],
        },
        {
            "id": "related",
            "type": "resources",
            "title": "Related Items",
            "intro": "This year, Children's Bureau Express featured several resources related to the issue of human trafficking and child welfare. For more information, see the following articles:",
            "items": [
                _res('"Guide to Safe Harbor for Trafficking Victims" (April 2014)', "cbx/2014-04"),
                _res('"Data on the Commercial Sex Economy" (June 2014)', "cbx/2014-06"),
                _res(
                    '"Addressing the Sexual Exploitation of Minors" (September 2014)', "cbx/2014-09"
                ),
                _res('"Identifying Human Trafficking Victims" (October 2014)', "cbx/2014-10"),
            ],
        },
    ],
}

ARTICLE_003: dict[str, Any] = {
    "title": "Preventing Child Trafficking With Purpose",
    "kicker": "Child Abuse Prevention Month",
    "subject": "Preventing child trafficking, with purpose",
    "preheader": "Moving beyond awareness to deliberate action on the risk factors for abuse and trafficking.",
    "layout": "article",
    "date_label": "April 2022",
    "theme": {"accent": "#1d4f91", "banner": "April is Child Abuse Prevention Month"},
    "blocks": [
        {
            "id": "p1",
            "type": "paragraph",
            "text": "Every year, the U.S. Department of Health and Human Services (HHS) Office on Trafficking in Persons (OTIP) assists thousands of children who have experienced human trafficking. OTIP child protection specialists review requests for assistance on behalf of children who have experienced forced labor, commercial sexual exploitation, and debt bondage. Sometimes the traffickers are involved in criminal organizations; more commonly, the trafficker is a family member or someone else the child knows. OTIP funds the National Human Trafficking Hotline, which identified more than 2,600 cases referencing one or more child trafficking victims in 2020. Other OTIP grant recipients provide comprehensive case management services to hundreds of survivors of child trafficking each year.",
        },
        {
            "id": "p2",
            "type": "paragraph",
            "text": "During Child Abuse Prevention Month , OTIP joins organizations across the country to prevent child abuse. This year’s theme— “Thriving Children and Families: Prevention with Purpose”—emphasizes the importance of moving beyond awareness and taking deliberate action to address the underlying risk factors for abuse. Children who experience human trafficking often have a history of abuse, neglect, and trauma. Traffickers exploit these adverse childhood experiences to target children through common online and offline schemes. When the Justice for Victims of Trafficking Act of 2015 changed the definition of child abuse to include child sex trafficking, child welfare agencies began increasing training, screening, and response to this form of maltreatment.",
        },
        {
            "id": "p3",
            "type": "paragraph",
            "text": "[In 2019 (PDF)](https://resources.example.org/cm2019.pdf), 29 state child welfare systems reported 877 victims of sex trafficking. Of those victims, 89 percent were female and half of the trafficking victims experienced another form of maltreatment. While there are no national prevalence measures on child trafficking, this emerging data from child welfare systems point to opportunities to intervene earlier in a child’s life. [In 2020 (PDF)](https://resources.example.org/cm2020.pdf), 35 states reported 953 victims of sex trafficking. As more states strengthen training, screening, and reporting of child sex trafficking, future data may provide more information for critical prevention actions.",
        },
        {
            "id": "p4",
            "type": "paragraph",
            "text": "Preventing child abuse before it occurs requires proactively addressing potential vulnerabilities using a whole-family approach. It is important to meet families where they are at. Providing direct support to parents bolsters prevention for children by reducing the likelihood of abuse, entry into the child welfare system, and the risk of human trafficking. Child welfare professionals and others can partner with parents to build strengths and resilience, develop coping strategies, and establish social connections. They can also identify areas where families need assistance, including expanding access to necessities like housing and employment opportunities. Promoting these protective factors targets the root causes of maltreatment. The [2021/2022 Prevention Resource Guide (PDF)](https://resources.example.org/prevention-guide.pdf) from the HHS Children’s Bureau outlines other prevention strategies that encourage sustainable wellbeing.",
        },
        {
            "id": "p5",
            "type": "paragraph",
            "text": "Children who have experienced trafficking may not self-identify due to complex trauma or distrust of service providers and/or law enforcement. Child welfare agencies should develop trauma-informed and person-centered screening tools and training so child welfare professionals can build rapport and establish the trust needed to address the complex and unique needs of this population. Children who have experienced trafficking may need medical and mental health services, a safe place to live, safety planning, and specialized counseling. Without proper acknowledgment and intervention, human trafficking can profoundly impact children, both their immediate and long-term developmental success.",
        },
        {
            "id": "hhs",
            "type": "resources",
            "title": "",
            "intro": "Additional HHS-funded resources for states or organizations seeking to strengthen the prevention of child trafficking include:",
            "items": [
                _res(
                    "Recommendations and best practices for states on strengthening the prevention of child and youth sex trafficking provided by the National Advisory Committee",
                    "nac-recommendations",
                    "publication",
                ),
                _res(
                    "Resources on child sex trafficking produced by the National Child Traumatic Stress Network and the Centers for Disease Control and Prevention",
                    "nctsn-cdc",
                ),
                _res(
                    "Toolkits for assisting foreign national child and youth victims of trafficking from OTIP and grant recipients",
                    "otip-toolkits",
                    "toolkit",
                ),
                _res(
                    "Prevention education programs in schools and communities",
                    "prevention-education.pdf",
                    "pdf",
                    size="1.2 MB",
                ),
                _res(
                    "Reports on state responses to child trafficking from investigations conducted by the HHS Office of Inspector General",
                    "oig-reports.pdf",
                    "pdf",
                    size="845 KB",
                ),
            ],
        },
        {
            "id": "p6",
            "type": "paragraph",
            "text": "Our efforts to protect children from human trafficking and other forms of child abuse must be directly linked with wider strategies to advance [racial equity](https://resources.example.org/racial-equity) . Black, Indigenous, and other families of color who have been historically underserved and excluded often have inequitable access to protective factors and resources needed to mitigate susceptibility to abuse. We must challenge systemic racism by infusing equity throughout family support services and providing meaningful support to families of color who disproportionately experience housing instability, persistent poverty, and other risk factors. Because these inequities lead to an overrepresentation of children of color in child welfare systems and other forms of institutional care, we must also ensure equitable intervention and that these children receive appropriate assistance. Learn more about what the HHS Administration for Children and Families (ACF) is doing to integrate these principles through our [Equity in Action plan](https://resources.example.org/equity-in-action).",
        },
        {
            "id": "p7",
            "type": "paragraph",
            "text": "At ACF, we look forward to coordinating strategies to achieve a collective impact. By doing so, we can prevent human trafficking and other forms of child abuse by uplifting families and providing the support they need to thrive.",
        },
    ],
}

COLLECTION_004: dict[str, Any] = {
    "title": "Partnering to Prevent Human Trafficking",
    "kicker": "Resource Collection",
    "subject": "Partnering to Prevent Human Trafficking",
    "preheader": "Collaborating across sectors and tribal nations to build prevention initiatives that work.",
    "layout": "resource_collection",
    "theme": {"accent": "#3d2f6b", "banner": "National Human Trafficking Prevention Month"},
    "blocks": [
        {
            "id": "p1",
            "type": "paragraph",
            "text": "Young people involved with child welfare are vulnerable to trafficking. Child welfare caseworkers must be at the forefront of efforts to identify, respond to, and prevent human trafficking.",
        },
        {
            "id": "p2",
            "type": "paragraph",
            "text": "National Human Trafficking Prevention Month is an opportunity to highlight the importance of collaborating across multiple sectors and tribal nations to build human trafficking prevention initiatives that work.",
        },
        {"id": "d1", "type": "divider"},
        {
            "id": "p3",
            "type": "paragraph",
            "text": "Children in foster care or congregate care are at higher risk of experiencing trafficking and sexual exploitation. Youth who identify as LGBTQIA2S+ (lesbian, gay, bisexual, transgender, questioning, intersex, asexual, Two-Spirit, or other gender or sexual identity), are homeless, or run away from care are most vulnerable. Among the diverse populations affected by human trafficking, Indigenous peoples worldwide, particularly American Indian, Alaska Native, Native Hawaiian, and Pacific Islander women and girls, are at the highest risk.",
        },
        {
            "id": "p4",
            "type": "paragraph",
            "text": "Strengthening social connections and improving access to economic and concrete supports can create healthier communities and prevent risk factors for human trafficking. When individuals and families are well-connected within their communities, their health and well-being improve.",
        },
        {
            "id": "p5",
            "type": "paragraph",
            "text": "Implementing trauma-informed and healing-centered practices that acknowledge and address the impact of trauma on children and caregivers can lead to the best outcomes for family safety. By supporting entire families, these approaches can help promote their well-being and security.",
        },
        {
            "id": "quote",
            "type": "quote",
            "text": "While addressing the root causes that contribute to human trafficking is not easy, we know what can move us in the right direction: keeping families together and strengthening communities to keep children and youth safe. We also know that it wouldn’t be possible without active collaboration across federal, state, and local agencies, as well as the leadership and dedication of child welfare professionals at all levels.",
            "attribution": "Commissioner Rebecca Jones Gaston in Children's Bureau Express (CBX)",
        },
        {
            "id": "p6",
            "type": "paragraph",
            "text": "Federal laws, such as the Preventing Sex Trafficking and Strengthening Families Act, the Justice for Victims of Trafficking Act, and the Trafficking Victims Prevention and Protection Reauthorization Act, help lay the groundwork for how child welfare and other agencies should respond and collaborate to establish prevention programs.",
        },
        {
            "id": "p7",
            "type": "paragraph",
            "text": "During National Human Trafficking Prevention Month, use these resources from Child Welfare Information Gateway to learn more about the risk factors and signs of trafficking and sexual exploitation and best practices in identifying, responding, and supporting children who are or are at risk of experiencing trafficking or sexual exploitation as well as their families.",
        },
        {
            "id": "publications",
            "type": "resources",
            "title": "Publications",
            "items": [
                _res(
                    "Human Trafficking and Child Welfare: A Guide for Caseworkers",
                    "caseworker-guide.pdf",
                    "pdf",
                    size="512 KB",
                ),
                _res("Child Welfare and Human Trafficking", "issue-brief", "publication"),
            ],
        },
        {
            "id": "resources",
            "type": "resources",
            "title": "Resources",
            "items": [
                _res("Preventing Human Trafficking of Children and Youth", "prevention-topic"),
                _res("Screening and Assessment Tools", "screening-tools", "toolkit"),
            ],
        },
        {
            "id": "partners",
            "type": "resources",
            "title": "Partner Resources",
            "items": [
                _res(
                    "National Human Trafficking Training and Technical Assistance Center",
                    "nhttac",
                    "organization",
                )
            ],
        },
        {"id": "d2", "type": "divider"},
        {
            "id": "about",
            "type": "paragraph",
            "text": "News From CB is sent by Child Welfare Information Gateway on behalf of the Children’s Bureau to support child welfare professionals in strengthening the well-being of children and families.",
        },
        {
            "id": "signup",
            "type": "paragraph",
            "text": "[Sign up to receive other important news digests from Information Gateway and the Children’s Bureau.](https://resources.example.org/subscriptions)",
        },
    ],
}

SEEDS: dict[str, dict[str, Any]] = {
    "000_4d3826f911b046c4.txt": SPOTLIGHT_000,
    "001_dbc7b398651e7fd4.txt": DIGEST_001,
    "002_fc2c3581881552cb.txt": DIGEST_002,
    "003_89342d8e81b0a00a.txt": ARTICLE_003,
    "004_943bfdb49416324e.txt": COLLECTION_004,
}


def seed_text(name: str) -> str:
    """Read one seed document as published (the test is skipped where the seeds are absent)."""
    path = SEED_DIR / name
    if not path.is_file():
        pytest.skip(f"the published seed {name} is not beside this checkout ({SEED_DIR})")
    return path.read_text(encoding="utf-8")
