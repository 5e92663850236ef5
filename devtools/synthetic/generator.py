"""Synthetic job applicants for demos, tests and benchmarks.

Everything here is invented: names are drawn from mixed first/last name lists, companies and
universities are made-up words, e-mail addresses use only example.com / example.org and phone
numbers use the fictional +1-XXX-555-01xx range.

Row ``i`` is generated from its own ``random.Random`` seeded from ``(seed, i)``, so a run is
deterministic for a seed and the first K rows of a large file equal those of a small one. The
only state carried between rows is the set of e-mail addresses already handed out, which keeps
them unique (a numeric suffix is added on a clash); that state depends only on earlier rows, so
the prefix property still holds.
"""

from __future__ import annotations

import csv
import os
import sys
import unicodedata
from bisect import bisect
from collections.abc import Iterator, Sequence
from random import Random
from typing import IO, TypeVar

__all__ = [
    "COLUMNS",
    "MAX_POSITIONS",
    "REFERENCE_YEAR",
    "generate_candidates",
    "position_titles",
    "write_candidates_csv",
]

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "email",
    "phone",
    "position",
    "years_experience",
    "skills",
    "education",
    "work_history",
    "cover_note",
)

# Work history and graduation years count back from here; fixed so output never depends on
# the date the generator runs.
REFERENCE_YEAR = 2025

_MASK64 = (1 << 64) - 1
T = TypeVar("T")

# --------------------------------------------------------------------------------------------
# Positions: "title | family | core skills". The order is curated so that any prefix (in
# particular the default 50) is a realistic mix across families.
# --------------------------------------------------------------------------------------------
_CATALOG_SPEC = """
Senior Backend Engineer | engineering | Python; Django; PostgreSQL; REST APIs; Redis; Docker
HR Business Partner | hr | Employee relations; Performance management; Workforce planning; \
Employment law; Coaching
Data Analyst | data | SQL; Excel; Tableau; Python; Data visualization; A/B testing
Customer Success Manager | support | Account management; Onboarding; Renewals; Gainsight; \
Churn reduction
Account Executive | sales | Salesforce; Prospecting; Negotiation; Pipeline management; \
Solution selling
Frontend Engineer | engineering | TypeScript; React; CSS; Accessibility; Webpack; Jest
Marketing Manager | marketing | Campaign management; Budget planning; HubSpot; Google Analytics; \
Brand strategy
Financial Analyst | finance | Financial modeling; Excel; Forecasting; Variance analysis; \
PowerPoint
Operations Manager | operations | Process improvement; Lean; KPI tracking; Vendor management; \
Budgeting
Product Designer | design | Figma; Prototyping; User research; Interaction design; \
Design systems
Product Manager | product | Roadmapping; User stories; Prioritization; Jira; Product analytics
DevOps Engineer | engineering | Kubernetes; Terraform; AWS; CI/CD; Linux; Prometheus
Sales Development Representative | sales | Cold calling; Outreach.io; Lead qualification; \
Salesforce; Email prospecting
Technical Recruiter | hr | Sourcing; Boolean search; LinkedIn Recruiter; Greenhouse; \
Technical screening
Customer Support Specialist | support | Zendesk; Ticket triage; Troubleshooting; \
Written communication; De-escalation
Data Engineer | data | Python; Apache Spark; Airflow; SQL; dbt; Kafka
Content Marketing Specialist | marketing | Copywriting; SEO writing; WordPress; \
Content strategy; Editing
Senior Accountant | finance | GAAP; Month-end close; Reconciliations; NetSuite; Audit support
Full Stack Developer | engineering | JavaScript; Node.js; React; PostgreSQL; REST APIs; Docker
Project Manager | operations | Project planning; Risk management; MS Project; Agile; \
Stakeholder management
UX Researcher | design | Usability testing; User interviews; Survey design; \
Qualitative analysis; Dovetail
Site Reliability Engineer | engineering | Kubernetes; Go; Observability; Incident response; \
Linux; Terraform
Enterprise Account Manager | sales | Key account management; Upselling; Salesforce; \
Contract negotiation; Executive presence
Talent Acquisition Specialist | hr | Full-cycle recruiting; Greenhouse; Interviewing; \
Employer branding; Sourcing
Technical Support Engineer | support | Troubleshooting; Linux; SQL; APIs; Jira; Log analysis
Data Scientist | data | Python; Machine learning; Statistics; pandas; scikit-learn; \
Experiment design
SEO Specialist | marketing | Technical SEO; Keyword research; Google Search Console; Ahrefs; \
Link building
Payroll Specialist | finance | Payroll processing; ADP; Tax compliance; Excel; Workday
iOS Engineer | engineering | Swift; SwiftUI; Xcode; Core Data; REST APIs; Unit testing
Supply Chain Analyst | operations | Demand planning; SAP; Inventory optimization; Excel; SQL
Senior UX Designer | design | Figma; Interaction design; User research; Wireframing; \
Accessibility
Senior Product Manager | product | Product strategy; Roadmapping; Stakeholder management; \
Product analytics; Pricing
QA Automation Engineer | engineering | Selenium; Playwright; Python; Test automation; CI/CD; \
API testing
Sales Manager | sales | Sales coaching; Forecasting; Salesforce; Territory planning; Hiring
HR Generalist | hr | HRIS; Onboarding; Benefits administration; Employee relations; \
Policy writing
Support Team Lead | support | Team leadership; Zendesk; Quality assurance; Workforce management; \
Coaching
Machine Learning Engineer | data | Python; PyTorch; MLOps; Feature engineering; Kubernetes; \
Model deployment
Product Marketing Manager | marketing | Positioning; Messaging; Go-to-market strategy; \
Competitive analysis; Sales enablement
Accounts Payable Specialist | finance | Invoice processing; Vendor reconciliation; NetSuite; \
Excel; Three-way matching
Engineering Manager | engineering | People management; Hiring; Agile; System design; \
Roadmapping; Mentoring
Logistics Coordinator | operations | Shipping coordination; Freight forwarding; Excel; \
Inventory tracking; ERP systems
Graphic Designer | design | Adobe Illustrator; Adobe Photoshop; InDesign; Typography; Branding
Junior Software Developer | engineering | Python; JavaScript; Git; SQL; HTML; Unit testing
Solutions Engineer | sales | Technical demos; Solution architecture; APIs; Discovery calls; \
Proof of concept
People Operations Manager | hr | HRIS; Compensation; Policy writing; Workday; \
Employee engagement
Implementation Consultant | support | Project delivery; Data migration; Client training; \
SQL; Requirements gathering
Business Intelligence Developer | data | Power BI; SQL; Data modeling; DAX; ETL
Growth Marketing Manager | marketing | Paid acquisition; A/B testing; Google Ads; \
Funnel analysis; Lifecycle marketing
FP&A Manager | finance | Budgeting; Forecasting; Financial modeling; Anaplan; \
Board reporting
Security Engineer | engineering | Threat modeling; Penetration testing; AWS security; SIEM; \
Python; Incident response
Program Manager | operations | Program planning; Cross-functional leadership; \
Risk management; Reporting; Agile
UI Designer | design | Figma; Visual design; Design systems; Iconography; Prototyping
Technical Product Manager | product | APIs; System design; Roadmapping; SQL; User stories
Android Developer | engineering | Kotlin; Android SDK; Jetpack Compose; Gradle; REST APIs
Business Development Manager | sales | Partnerships; Lead generation; Negotiation; \
Market research; CRM
Compensation and Benefits Analyst | hr | Compensation benchmarking; Excel; \
Benefits administration; Workday; Pay equity analysis
Customer Onboarding Specialist | support | Onboarding; Client training; Product demos; \
Zendesk; Documentation
Senior Data Analyst | data | SQL; Looker; Python; Statistics; Stakeholder management; \
Data modeling
Social Media Coordinator | marketing | Social media management; Canva; Hootsuite; \
Community management; Copywriting
Controller | finance | GAAP; Financial reporting; Audit; Internal controls; Team leadership
Staff Software Engineer | engineering | System design; Distributed systems; Java; Go; \
Mentoring; Performance tuning
Procurement Specialist | operations | Sourcing; Supplier negotiation; Contract management; \
SAP; Spend analysis
Design Systems Lead | design | Design systems; Figma; Design tokens; React; Accessibility; \
Documentation
Sales Operations Analyst | sales | Salesforce administration; Sales forecasting; Excel; \
Territory planning; Reporting
Learning and Development Coordinator | hr | Training coordination; LMS administration; \
Instructional design; Needs analysis; Facilitation
Analytics Engineer | data | dbt; SQL; Snowflake; Data modeling; Git; Looker
Brand Manager | marketing | Brand strategy; Market research; Creative direction; \
Budget planning; Consumer insights
Tax Associate | finance | Tax preparation; Corporate tax; Excel; Research; Tax compliance
Cloud Infrastructure Engineer | engineering | AWS; Azure; Terraform; Networking; Linux; \
Cost optimization
Office Manager | operations | Facilities management; Vendor management; Budgeting; \
Event planning; Office administration
Embedded Software Engineer | engineering | C; C++; RTOS; Embedded Linux; Microcontrollers; \
Debugging
Backend Engineer | engineering | Java; Spring Boot; PostgreSQL; REST APIs; Microservices; Kafka
Marketing Operations Specialist | marketing | Marketo; HubSpot; Marketing automation; \
Salesforce; Reporting
Business Operations Analyst | operations | SQL; Excel; Process mapping; KPI tracking; \
Financial modeling
Product Owner | product | Scrum; Backlog management; User stories; Acceptance criteria; Jira
"""

# Beyond the base catalog, titles get a qualifier: "Data Analyst (Remote)".
_QUALIFIERS: tuple[str, ...] = (
    "Remote",
    "EMEA",
    "APAC",
    "North America",
    "LATAM",
    "Contract",
    "Part-time",
    "Enterprise",
    "SMB",
    "Platform",
    "Internal Tools",
    "Healthcare",
)

_FAMILY_SKILLS: dict[str, tuple[str, ...]] = {
    "engineering": (
        "Python",
        "Java",
        "Go",
        "TypeScript",
        "JavaScript",
        "SQL",
        "Git",
        "Docker",
        "Kubernetes",
        "AWS",
        "Linux",
        "REST APIs",
        "GraphQL",
        "CI/CD",
        "Microservices",
        "Unit testing",
        "Code review",
        "System design",
        "Rust",
        "C#",
    ),
    "data": (
        "SQL",
        "Python",
        "R",
        "pandas",
        "Statistics",
        "Tableau",
        "Power BI",
        "Looker",
        "Snowflake",
        "BigQuery",
        "dbt",
        "Airflow",
        "Machine learning",
        "Data modeling",
        "Excel",
        "A/B testing",
        "Data visualization",
        "ETL",
    ),
    "sales": (
        "Salesforce",
        "Prospecting",
        "Negotiation",
        "Cold calling",
        "Pipeline management",
        "Account management",
        "HubSpot CRM",
        "Closing",
        "Discovery calls",
        "Forecasting",
        "Relationship building",
        "MEDDIC",
        "Gong",
        "LinkedIn Sales Navigator",
    ),
    "marketing": (
        "SEO",
        "Google Analytics",
        "HubSpot",
        "Copywriting",
        "Content strategy",
        "Email marketing",
        "Social media",
        "Google Ads",
        "Paid social",
        "Marketo",
        "Brand strategy",
        "Market research",
        "Canva",
        "Campaign management",
        "Event marketing",
    ),
    "finance": (
        "Excel",
        "Financial modeling",
        "GAAP",
        "Forecasting",
        "Budgeting",
        "NetSuite",
        "QuickBooks",
        "SAP",
        "Reconciliations",
        "Variance analysis",
        "Audit",
        "Accounts payable",
        "Accounts receivable",
        "Power BI",
        "Cash flow management",
    ),
    "hr": (
        "Recruiting",
        "Onboarding",
        "Workday",
        "Employee relations",
        "HRIS",
        "Greenhouse",
        "Compensation",
        "Benefits administration",
        "Performance management",
        "Labor law compliance",
        "Interviewing",
        "Employee engagement",
        "BambooHR",
        "Diversity and inclusion",
    ),
    "operations": (
        "Process improvement",
        "Lean",
        "Six Sigma",
        "Vendor management",
        "Excel",
        "SAP",
        "Project management",
        "Inventory management",
        "Logistics",
        "KPI tracking",
        "Budgeting",
        "Procurement",
        "Asana",
        "Smartsheet",
    ),
    "design": (
        "Figma",
        "Sketch",
        "Adobe XD",
        "Prototyping",
        "Wireframing",
        "User research",
        "Usability testing",
        "Visual design",
        "Typography",
        "Adobe Photoshop",
        "Adobe Illustrator",
        "Design systems",
        "Interaction design",
        "Information architecture",
    ),
    "support": (
        "Zendesk",
        "Intercom",
        "Freshdesk",
        "Troubleshooting",
        "Ticket triage",
        "Customer empathy",
        "Onboarding",
        "Knowledge base writing",
        "Salesforce Service Cloud",
        "De-escalation",
        "SLA management",
        "Live chat support",
        "Jira",
        "Renewals",
    ),
    "product": (
        "Roadmapping",
        "User stories",
        "Prioritization",
        "Jira",
        "Product analytics",
        "Amplitude",
        "A/B testing",
        "Customer interviews",
        "Go-to-market strategy",
        "SQL",
        "Wireframing",
        "Agile",
        "OKRs",
        "Market research",
    ),
}

_GENERIC_SKILLS: tuple[str, ...] = (
    "Communication",
    "Teamwork",
    "Time management",
    "Problem solving",
    "Microsoft Office",
    "Google Workspace",
    "Customer service",
    "Public speaking",
    "Attention to detail",
    "Leadership",
    "Mentoring",
    "Confluence",
    "Notion",
    "Slack",
    "Bilingual (English/Spanish)",
    "Bilingual (English/French)",
    "Data entry",
    "Organization",
    "Adaptability",
    "Multitasking",
)

_FAMILY_AREA: dict[str, str] = {
    "engineering": "software engineering",
    "data": "data analytics",
    "sales": "B2B sales",
    "marketing": "marketing",
    "finance": "finance and accounting",
    "hr": "human resources",
    "operations": "operations",
    "design": "product design",
    "support": "customer support",
    "product": "product management",
}

# Relative applicant volume per family (some roles simply attract more applications).
_FAMILY_WEIGHT: dict[str, float] = {
    "engineering": 1.4,
    "data": 1.1,
    "sales": 1.2,
    "marketing": 1.0,
    "finance": 0.8,
    "hr": 0.8,
    "operations": 0.9,
    "design": 0.8,
    "support": 1.3,
    "product": 0.7,
}

_FAMILY_FIELDS: dict[str, tuple[str, ...]] = {
    "engineering": (
        "Computer Science",
        "Software Engineering",
        "Electrical Engineering",
        "Mathematics",
        "Physics",
        "Information Systems",
    ),
    "data": (
        "Statistics",
        "Mathematics",
        "Economics",
        "Computer Science",
        "Data Science",
        "Physics",
    ),
    "sales": ("Business Administration", "Communications", "Marketing", "Psychology", "Economics"),
    "marketing": (
        "Marketing",
        "Communications",
        "Journalism",
        "English Literature",
        "Business Administration",
    ),
    "finance": ("Accounting", "Finance", "Economics", "Business Administration", "Mathematics"),
    "hr": (
        "Human Resources Management",
        "Psychology",
        "Sociology",
        "Organizational Behavior",
        "Business Administration",
    ),
    "operations": (
        "Supply Chain Management",
        "Industrial Engineering",
        "Business Administration",
        "Logistics",
        "Economics",
    ),
    "design": (
        "Graphic Design",
        "Human-Computer Interaction",
        "Fine Arts",
        "Industrial Design",
        "Cognitive Science",
    ),
    "support": (
        "Communications",
        "Information Systems",
        "Business Administration",
        "English",
        "Psychology",
    ),
    "product": (
        "Computer Science",
        "Business Administration",
        "Economics",
        "Human-Computer Interaction",
        "Engineering Management",
    ),
}
_UNRELATED_FIELDS: tuple[str, ...] = (
    "History",
    "Philosophy",
    "Biology",
    "Music",
    "Political Science",
    "Chemistry",
    "Anthropology",
    "Theatre Arts",
    "Geography",
    "Nursing",
    "Environmental Science",
    "Linguistics",
)
_TECH_BACHELORS = ("B.Sc.", "B.S.", "B.Eng.")
_BUSINESS_BACHELORS = ("B.A.", "B.S.", "B.B.A.")
_ARTS_BACHELORS = ("B.A.", "B.A.", "B.F.A.", "B.Sc.")
_BACHELORS: dict[str, tuple[str, ...]] = {
    "engineering": _TECH_BACHELORS,
    "data": _TECH_BACHELORS,
    "sales": _BUSINESS_BACHELORS,
    "marketing": _ARTS_BACHELORS,
    "finance": _BUSINESS_BACHELORS,
    "hr": _ARTS_BACHELORS,
    "operations": _BUSINESS_BACHELORS,
    "design": _ARTS_BACHELORS,
    "support": _BUSINESS_BACHELORS,
    "product": ("B.Sc.", "B.A.", "B.S."),
}
_TECH_MASTERS = ("M.Sc.", "M.S.", "M.Eng.")
_BUSINESS_MASTERS = ("MBA", "M.Sc.", "M.A.")
_MASTERS: dict[str, tuple[str, ...]] = {
    family: _TECH_MASTERS if family in ("engineering", "data") else _BUSINESS_MASTERS
    for family in _BACHELORS
}

_FAMILY_ACHIEVEMENTS: dict[str, tuple[str, ...]] = {
    "engineering": (
        "cut p95 latency by {pct}% by reworking the {skill1} layer",
        "led the migration of a legacy monolith to {skill1} with zero downtime",
        "mentored {num} junior engineers and introduced our code review guidelines",
        "reduced cloud spend by {pct}% through better autoscaling",
        "rewrote the flaky test suite, bringing CI time down from {num}0 to {num} minutes",
    ),
    "data": (
        "built a {skill1} pipeline that replaced {num} manual spreadsheets",
        "designed a churn model that improved retention forecasts by {pct}%",
        "created executive dashboards used by {num} teams every week",
        "ran the analysis behind a pricing change worth ${money}k a year",
    ),
    "sales": (
        "exceeded quota by {pct}% for {num} consecutive quarters",
        "closed the largest deal in my region, worth ${money}k ARR",
        "built an outbound sequence that doubled our meeting rate",
        "grew my territory's pipeline by {pct}% in one year",
    ),
    "marketing": (
        "grew organic traffic by {pct}% in a year",
        "launched a campaign that generated {num}00 qualified leads",
        "rebuilt the email nurture program, lifting conversion by {pct}%",
        "managed a ${money}k quarterly paid budget at a steady CAC",
    ),
    "finance": (
        "shortened the month-end close by {num} days",
        "built the {skill1} forecasting model used for the annual budget",
        "identified ${money}k in duplicate vendor payments",
        "prepared the audit files for {num} consecutive clean audits",
    ),
    "hr": (
        "cut time-to-hire by {pct}%",
        "rolled out a new performance review process for {num}00 employees",
        "ran hiring for {num}0 roles in a single year",
        "redesigned onboarding, which reduced first-year attrition by {pct}%",
    ),
    "operations": (
        "reduced fulfillment costs by {pct}%",
        "coordinated a warehouse move with no missed shipments",
        "introduced a vendor scorecard that cut late deliveries by {pct}%",
        "standardized {num} regional processes into one playbook",
    ),
    "design": (
        "redesigned the onboarding flow, lifting activation by {pct}%",
        "built a design system now used by {num} product teams",
        "ran {num}0 usability sessions that reshaped the roadmap",
        "led the accessibility overhaul of our customer portal",
    ),
    "support": (
        "kept first-response time under {num} hours on a busy queue",
        "reduced churn in my book of business by {pct}%",
        "wrote {num}0 help-center articles that deflected a large share of tickets",
        "raised our CSAT score by {num} points in two quarters",
    ),
    "product": (
        "launched {num} features that lifted weekly active users by {pct}%",
        "ran discovery interviews with {num}0 customers to reprioritize the roadmap",
        "owned the pricing page experiment that raised conversion by {pct}%",
        "took a new product from idea to ${money}k ARR",
    ),
}

# --------------------------------------------------------------------------------------------
# People, companies, universities (all invented combinations).
# --------------------------------------------------------------------------------------------
_FIRST_NAMES: tuple[str, ...] = (
    "James",
    "Maria",
    "Wei",
    "Aisha",
    "Carlos",
    "Priya",
    "Oluwaseun",
    "Hiroshi",
    "Fatima",
    "Dmitri",
    "Sofia",
    "Kwame",
    "Mei",
    "Ahmed",
    "Elena",
    "Rahul",
    "Chiara",
    "Tomasz",
    "Ngozi",
    "Diego",
    "Yuki",
    "Amara",
    "Lars",
    "Mateo",
    "Leila",
    "Sanjay",
    "Hannah",
    "Kofi",
    "Ana",
    "Minh",
    "Javier",
    "Zainab",
    "Erik",
    "Aaliyah",
    "Ravi",
    "Isabella",
    "Chen",
    "Omar",
    "Grace",
    "Luca",
    "Nadia",
    "Samuel",
    "Mariam",
    "Kenji",
    "Olivia",
    "Tariq",
    "Emma",
    "Arjun",
    "Chloe",
    "Daniel",
    "Ayesha",
    "Noah",
    "Jin",
    "Lucia",
    "Emeka",
    "Sara",
    "Viktor",
    "Mohammed",
    "Anya",
    "Felipe",
    "Keisha",
    "Ibrahim",
    "Rosa",
    "Andrei",
    "Tanvi",
    "Marcus",
    "Eun-ji",
    "Pedro",
    "Lina",
    "Gabriel",
    "Zara",
    "Hamza",
    "Ingrid",
    "Thandiwe",
    "Camila",
    "Ethan",
    "Folake",
    "Nikhil",
    "Julia",
    "Kai",
    "Amani",
    "Bogdan",
    "Mai",
    "Rafael",
    "Deepa",
    "Liam",
    "Yara",
    "Oscar",
    "Imani",
    "Hyun-woo",
    "Naomi",
    "Sebastian",
    "Adaeze",
    "Rohan",
    "Eva",
    "Tenzin",
    "Lauren",
    "Malik",
    "Alejandro",
    "Kavya",
    "Patrick",
    "Lerato",
    "Stefan",
    "Ming",
    "Valentina",
    "Jamal",
    "Astrid",
    "Juan",
    "Nia",
    "Arash",
    "Beatriz",
    "Connor",
    "Shreya",
    "Ali",
    "Freya",
    "Hugo",
    "Esi",
    "Marisol",
    "Tobias",
    "Farah",
    "Yusuf",
    "Keiko",
    "Declan",
    "Ama",
    "Nils",
    "Paloma",
    "Siddharth",
    "Rania",
    "Mikhail",
    "Leilani",
    "Kalani",
    "Ewa",
)
_LAST_NAMES: tuple[str, ...] = (
    "Okafor",
    "Chen",
    "Patel",
    "Garcia",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Tanaka",
    "Mensah",
    "Rossi",
    "Kim",
    "Johansson",
    "Silva",
    "Nwosu",
    "Adeyemi",
    "Schmidt",
    "Novak",
    "Santos",
    "Fernandez",
    "Kaur",
    "Singh",
    "Sharma",
    "Rahman",
    "Hassan",
    "Yilmaz",
    "Petrov",
    "Kovacs",
    "Horvath",
    "Andersen",
    "Lindqvist",
    "O'Brien",
    "Murphy",
    "Walsh",
    "MacLeod",
    "Dubois",
    "Moreau",
    "Bianchi",
    "Romano",
    "Costa",
    "Oliveira",
    "Pereira",
    "Watanabe",
    "Suzuki",
    "Park",
    "Choi",
    "Lee",
    "Wong",
    "Liu",
    "Zhang",
    "Huang",
    "Tran",
    "Pham",
    "Bui",
    "Reyes",
    "Cruz",
    "Ramos",
    "Torres",
    "Morales",
    "Castillo",
    "Ortiz",
    "Mendoza",
    "Alvarez",
    "Khan",
    "Qureshi",
    "Iqbal",
    "Chaudhry",
    "Nair",
    "Iyer",
    "Reddy",
    "Menon",
    "Das",
    "Bose",
    "Mukherjee",
    "Gupta",
    "Mehta",
    "Joshi",
    "Okonkwo",
    "Eze",
    "Boateng",
    "Asante",
    "Owusu",
    "Diallo",
    "Traore",
    "Keita",
    "Abebe",
    "Tesfaye",
    "Kamau",
    "Otieno",
    "Banda",
    "Phiri",
    "Dlamini",
    "Naidoo",
    "Van der Berg",
    "Jansen",
    "De Vries",
    "Bakker",
    "Visser",
    "Nowak",
    "Lewandowski",
    "Popescu",
    "Ionescu",
    "Georgiou",
    "Papadopoulos",
    "Cohen",
    "Levi",
    "Friedman",
    "Hughes",
    "Bennett",
    "Carter",
    "Brooks",
    "Foster",
    "Hayes",
    "Price",
    "Sullivan",
    "Fischer",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Richter",
    "Klein",
    "Lambert",
    "Fontaine",
    "Mercier",
    "Esposito",
    "Ricci",
    "Marino",
    "Greco",
    "Delgado",
    "Vega",
    "Herrera",
    "Medina",
    "Aguilar",
    "Rojas",
    "Nakamura",
    "Kobayashi",
    "Yamamoto",
    "Yoshida",
    "Ahmadi",
    "Hosseini",
    "Karimi",
    "Farouk",
    "Mansour",
    "Saleh",
    "Aziz",
    "Hossain",
    "Islam",
    "Perera",
    "Fernando",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
)
# Used for about 1 row in 200.
_FIRST_NAMES_NON_ASCII: tuple[str, ...] = (
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Björn",
    "Anaïs",
    "Chloé",
    "Hélène",
    "Jürgen",
    "Małgorzata",
    "Renée",
    "Íñigo",
    "Ramón",
    "Çağla",
    "Thảo",
    "Åsa",
    "Inês",
    "Noémie",
    "Dóra",
    "Mário",
)
_LAST_NAMES_NON_ASCII: tuple[str, ...] = (
    "Müller",
    "Núñez",
    "Wiśniewska",
    "García",
    "Gómez",
    "Dvořák",
    "Şahin",
    "Öztürk",
    "Jørgensen",
    "Björklund",
    "Lefèvre",
    "Håkansson",
    "Nguyễn",
    "Pérez",
    "Šimić",
    "Kovačević",
    "Ibáñez",
    "Łęcka",
    "Brontë",
    "Sæther",
)
_MIDDLE_INITIALS = "ABCDEFGHJKLMNPRSTW"

_AREA_CODES: tuple[str, ...] = (
    "202",
    "206",
    "212",
    "213",
    "303",
    "305",
    "312",
    "404",
    "415",
    "503",
    "512",
    "602",
    "617",
    "646",
    "702",
    "713",
    "718",
    "773",
    "801",
    "808",
    "857",
    "917",
    "919",
    "971",
)

_COMPANY_STEMS: tuple[str, ...] = (
    "Lumora",
    "Quillon",
    "Vantrell",
    "Tallowmere",
    "Zephyrine",
    "Halcyra",
    "Norvane",
    "Ostrova",
    "Belkora",
    "Marivel",
    "Trennix",
    "Solvane",
    "Kavetta",
    "Driftwell",
    "Orrinby",
    "Fennmoor",
    "Calderine",
    "Brisklane",
    "Pellavo",
    "Moravik",
    "Glintmark",
    "Tessaro",
    "Ambervale",
    "Corvallia",
    "Nimbrel",
    "Suthrow",
    "Wrenfield",
    "Kelvane",
    "Oxbryn",
    "Petravo",
    "Rivenmoor",
    "Sablewick",
    "Thistlecor",
    "Ulverin",
    "Veloria",
    "Yarrowick",
)
_COMPANY_KINDS: tuple[str, ...] = (
    "Systems",
    "Labs",
    "Logistics",
    "Analytics",
    "Health",
    "Retail Group",
    "Software",
    "Partners",
    "Financial",
    "Foods",
    "Robotics",
    "Media",
    "Consulting",
    "Energy",
    "Insurance",
    "Manufacturing",
    "Bank",
    "Telecom",
    "Games",
    "Biotech",
)
_COMPANY_LEGAL: tuple[str, ...] = (", Inc.", " LLC", ", Ltd.", " Group", " Co.")

_UNI_PLACES: tuple[str, ...] = (
    "Aldermoor",
    "Quillfield",
    "Eastmere",
    "Harrowvale",
    "Lindmere",
    "Ostbrook",
    "Marrowdale",
    "Ravensholm",
    "Calderwick",
    "Tallis Bay",
    "Verrinford",
    "Hollowmere",
    "Suncrest Valley",
    "Norrow",
    "Pellham Ridge",
    "Westfarrow",
    "Kessington",
    "Brinmoor",
)
_UNI_FORMS: tuple[str, ...] = (
    "University of {p}",
    "{p} University",
    "{p} State University",
    "{p} Institute of Technology",
    "{p} College",
    "{p} Polytechnic",
)

_PROJECT_CODENAMES: tuple[str, ...] = (
    "Atlas",
    "Bluebird",
    "Nightjar",
    "Keystone",
    "Mosaic",
    "Lighthouse",
    "Tidewater",
    "Copper",
    "Falcon",
    "Orchard",
    "Northstar",
    "Granite",
)

# --------------------------------------------------------------------------------------------
# Cover note building blocks.
# --------------------------------------------------------------------------------------------
_OPENERS: tuple[str, ...] = (
    "I am applying for the {position} role.",
    "I'd like to be considered for the {position} position.",
    "Please accept my application for the {position} opening.",
    "I'm excited to apply for your {position} opening.",
    "I saw the {position} posting and wanted to reach out directly.",
    "After following your team for a while, I'm applying for the {position} role.",
    "A former colleague suggested I apply for the {position} position.",
    "I'm writing about the {position} vacancy.",
)
_EXPERIENCE: tuple[str, ...] = (
    "I have {yrs} of experience in {area}, most recently at {company}.",
    "Over the past {yrs} I have worked mostly with {skill1} and {skill2}.",
    "My {yrs} in {area} taught me to balance speed with quality.",
    "For {yrs} I have worked in {area}, and I'm at my best on small, focused teams.",
    "I bring {yrs} of hands-on {area} experience, including {skill1}.",
)
_EXPERIENCE_NEW: tuple[str, ...] = (
    "I recently graduated and am looking for my first full-time role.",
    "I'm early in my career, but my internship at {company} gave me real exposure to {skill1}.",
    "I finished my degree last year and have been building projects with {skill1} since.",
)
_ACHIEVEMENT_LEADS: tuple[str, ...] = (
    "At {company} I {achievement}.",
    "Most recently I {achievement}.",
    "One thing I'm proud of: I {achievement}.",
    'In my current role I {achievement}, which my manager called "the quiet win of the year".',
)
_MOTIVATION: tuple[str, ...] = (
    "I'm drawn to your focus on craftsmanship and long-term customer relationships.",
    "Your recent growth is exactly the kind of environment where I learn fastest.",
    "I want to work somewhere that takes {target_area} seriously rather than as an afterthought.",
    "I like that the role mixes hands-on work with {skill2}.",
    "What appeals to me most is the chance to own problems end to end.",
    "I'm looking for a team where I can grow into more responsibility over time.",
)
_CAREER_CHANGE: tuple[str, ...] = (
    "Although my background is in {area}, I've been teaching myself {target_skill} at night.",
    "I'm moving over from {area}, so some of this would be new to me, but I learn fast.",
    "My experience is mostly in {area}; I believe the skills transfer well.",
)
_GAPS: tuple[str, ...] = (
    "I haven't used {target_skill} professionally yet, but I pick things up quickly.",
    "I know I don't tick every box in the posting, but I'm a hard worker.",
    "I don't have much hands-on {target_area} experience yet, but I'm eager to learn.",
)
_CLOSERS: tuple[str, ...] = (
    "I can start within {weeks} weeks.",
    "Thank you for your time and consideration.",
    "I'm happy to share references on request.",
    "I'm open to relocation for the right role.",
    "I'm looking for a fully remote position, but could travel occasionally.",
    "I'd welcome the chance to talk about how I could help your team.",
    "My portfolio and references are available on request.",
)
_TERSE_LEADS: tuple[str, ...] = (
    "Interested in the {position} role.",
    "Applying for {position}.",
    "Hi, I want to apply for the {position} job.",
    "I have experience with {skill1}.",
    "Experienced with {skill1} and {skill2}.",
    "{yrs_cap} in {area}.",
    "Currently at {company}.",
    "Applying as {position}, {yrs} of experience.",
    "Good with {skill1}, see resume for details.",
    "please consider me for the {position} job.",
)
_TERSE: tuple[str, ...] = (
    "see attached resume.",
    "CV attached.",
    "Available immediately.",
    "Looking for new opportunities.",
    "Can start next week.",
    "Open to full-time or contract.",
    "Thanks.",
    "Let me know.",
    "Remote preferred.",
    "Salary negotiable.",
    "References available.",
    "Happy to talk anytime.",
    "I can start in {weeks} weeks.",
)
_SIGNOFFS: tuple[str, ...] = ("Best,", "Thanks,", "Kind regards,", "Sincerely,", "Cheers,")


# --------------------------------------------------------------------------------------------
# Derived tables (built once at import).
# --------------------------------------------------------------------------------------------
def _ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Łukasz' -> 'lukasz', "O'Brien" -> 'obrien'."""
    special = {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "Ae",
        "ß": "ss",
        "\u0131": "i",
        "đ": "d",
        "Đ": "D",
        "œ": "oe",
        "Œ": "Oe",
    }
    text = "".join(special.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _level(title: str) -> str:
    words = title.split()
    if words[0] in {"Junior", "Associate"} or words[-1] in {"Representative", "Coordinator"}:
        return "junior"
    if words[0] in {"Senior", "Staff", "Principal"} or words[-1] in {
        "Manager",
        "Lead",
        "Controller",
        "Partner",
    }:
        return "senior"
    return "mid"


def _plain_title(title: str) -> str:
    for prefix in ("Senior ", "Junior ", "Staff ", "Principal "):
        if title.startswith(prefix):
            return title[len(prefix) :]
    return title


class _Position:
    __slots__ = ("core", "fam_rest", "family", "generic", "level", "off_by_family", "title")

    def __init__(self, title: str, family: str, core: tuple[str, ...]) -> None:
        self.title = title
        self.family = family
        self.level = _level(title)
        self.core = core
        fam = _FAMILY_SKILLS[family]
        self.fam_rest = tuple(s for s in fam if s not in core)
        own = set(core) | set(fam)
        self.generic = tuple(s for s in _GENERIC_SKILLS if s not in own)
        # Skills of each other family that are not relevant to this position.
        self.off_by_family = {
            other: tuple(s for s in skills if s not in own)
            for other, skills in _FAMILY_SKILLS.items()
            if other != family
        }


def _parse_catalog() -> tuple[_Position, ...]:
    spec = _CATALOG_SPEC.replace("\\\n", "")
    out = []
    for line in spec.strip().splitlines():
        title, family, skills = (part.strip() for part in line.split("|"))
        out.append(_Position(title, family, tuple(s.strip() for s in skills.split(";"))))
    return tuple(out)


_CATALOG = _parse_catalog()
MAX_POSITIONS = len(_CATALOG) * (1 + len(_QUALIFIERS))
_FAMILIES = tuple(_FAMILY_SKILLS)
_FAMILY_TITLES: dict[str, tuple[str, ...]] = {
    fam: tuple(dict.fromkeys(_plain_title(p.title) for p in _CATALOG if p.family == fam))
    for fam in _FAMILIES
}
_FAMILY_MID_TITLES: dict[str, tuple[str, ...]] = {
    fam: tuple(t for t in titles if _level(t) == "mid") or titles
    for fam, titles in _FAMILY_TITLES.items()
}
_GENERIC_SET = frozenset(_GENERIC_SKILLS)
_YEARS_PHRASE: tuple[str, ...] = (
    "less than a year",
    "1 year",
    *(f"{y} years" for y in range(2, 31)),
)
_OTHER_FAMILIES: dict[str, tuple[str, ...]] = {
    fam: tuple(f for f in _FAMILIES if f != fam) for fam in _FAMILIES
}
_FIRST_SLUGS = {n: _ascii_slug(n) for n in _FIRST_NAMES + _FIRST_NAMES_NON_ASCII}
_LAST_SLUGS = {n: _ascii_slug(n) for n in _LAST_NAMES + _LAST_NAMES_NON_ASCII}
_COMPANIES: tuple[str, ...] = tuple(
    f"{stem} {kind}" for stem in _COMPANY_STEMS for kind in _COMPANY_KINDS
)
_UNIVERSITIES: tuple[str, ...] = tuple(
    form.format(p=place) for place in _UNI_PLACES for form in _UNI_FORMS
)
_PHONES: tuple[str, ...] = tuple(
    f"+1-{area}-555-01{xx:02d}" for area in _AREA_CODES for xx in range(100)
)
_LEVEL_YEARS: dict[str, tuple[float, float, float]] = {
    # (low, high, mode) for random.triangular
    "junior": (0.0, 5.0, 1.0),
    "mid": (2.0, 12.0, 4.0),
    "senior": (5.0, 22.0, 9.0),
}


# --------------------------------------------------------------------------------------------
# Fast random helpers. random.Random.choice/randint/sample go through _randbelow (several Python
# calls each); indexing with random() is 3-4x cheaper and just as deterministic, which matters
# at ~40 draws per row.
# --------------------------------------------------------------------------------------------
def _choice(rng: Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _randint(rng: Random, low: int, high: int) -> int:
    """Uniform integer in [low, high], both inclusive."""
    return low + int(rng.random() * (high - low + 1))


def _sample(rng: Random, seq: Sequence[T], k: int) -> list[T]:
    """``k`` distinct elements of ``seq`` (partial Fisher-Yates)."""
    if k <= 0:
        return []
    pool = list(seq)
    n = len(pool)
    rnd = rng.random
    for j in range(k):
        r = j + int(rnd() * (n - j))
        pool[j], pool[r] = pool[r], pool[j]
    return pool[:k]


def _shuffle(rng: Random, items: list[T]) -> None:
    rnd = rng.random
    for j in range(len(items) - 1, 0, -1):
        r = int(rnd() * (j + 1))
        items[j], items[r] = items[r], items[j]


def position_titles(positions: int = 50) -> list[str]:
    """The first ``positions`` job titles (the pool candidates are spread over)."""
    return [p.title for p in _positions(positions)]


def _positions(positions: int) -> list[_Position]:
    if not 1 <= positions <= MAX_POSITIONS:
        raise ValueError(f"positions must be between 1 and {MAX_POSITIONS}, got {positions}")
    out = list(_CATALOG[:positions])
    for qualifier in _QUALIFIERS:
        if len(out) >= positions:
            break
        for base in _CATALOG[: positions - len(out)]:
            out.append(_Position(f"{base.title} ({qualifier})", base.family, base.core))
    return out


# --------------------------------------------------------------------------------------------
# Row generation.
# --------------------------------------------------------------------------------------------
def _years_experience(rng: Random, level: str) -> int:
    r = rng.random()
    if r < 0.75:  # fits the level of the role
        low, high, mode = _LEVEL_YEARS[level]
        years = int(rng.triangular(low, high, mode))
    elif r < 0.97:  # anyone applies to anything: long-tailed
        years = int(rng.expovariate(1 / 6))
    else:  # veterans
        years = _randint(rng, 20, 30)
    return min(years, 30)


def _pick_skills(rng: Random, pos: _Position, match: int, background: str) -> str:
    """3-8 skills; how many fit the position depends on ``match`` (2 strong, 1 partial, 0 weak).

    Off-target skills come from the candidate's ``background`` family (a career changer lists
    what they actually did) or, for same-family weak matches, from generic office skills.
    """
    k = _randint(rng, 3, 8)
    off = pos.off_by_family.get(background, ())
    if match == 2:
        n_core = min(len(pos.core), _randint(rng, 2, max(2, k - 1)))
        n_fam = min(len(pos.fam_rest), k - n_core)
        picked = _sample(rng, pos.core, n_core) + _sample(rng, pos.fam_rest, n_fam)
        if len(picked) < k:
            picked += _sample(rng, pos.generic, k - len(picked))
    elif match == 1:
        n_core = _randint(rng, 1, 2)
        n_fam = _randint(rng, 0, 1)
        rest = max(0, k - n_core - n_fam)
        n_off = min(len(off), _randint(rng, 0, rest))
        picked = (
            _sample(rng, pos.core, n_core)
            + _sample(rng, pos.fam_rest, n_fam)
            + _sample(rng, off, n_off)
            + _sample(rng, pos.generic, rest - n_off)
        )
    else:
        n_fam = 1 if rng.random() < 0.3 else 0
        n_off = min(len(off), _randint(rng, max(1, k // 2), k - n_fam))
        picked = (
            _sample(rng, pos.fam_rest, n_fam)
            + _sample(rng, off, n_off)
            + _sample(rng, pos.generic, k - n_fam - n_off)
        )
    if match != 2:
        _shuffle(rng, picked)
    return "; ".join(picked)


def _education(rng: Random, family: str, years: int) -> str:
    fields = _UNRELATED_FIELDS if rng.random() < 0.12 else _FAMILY_FIELDS[family]
    field = _choice(rng, fields)
    grad = REFERENCE_YEAR - 1 - years - _randint(rng, 0, 2)
    uni = _choice(rng, _UNIVERSITIES)
    d = rng.random()
    if (family == "data" and d > 0.85) or d > 0.96:
        return f"Ph.D. in {field}, {uni} ({grad})"
    if d < 0.07:
        degree = _choice(rng, ("A.S.", "A.A."))
        return f"{degree} in {field}, {uni} ({grad})"
    bachelor = _choice(rng, _BACHELORS[family])
    if d > 0.72 and years >= 2:
        master = _choice(rng, _MASTERS[family])
        field2 = field if rng.random() < 0.6 else _choice(rng, _FAMILY_FIELDS[family])
        uni2 = _choice(rng, _UNIVERSITIES)
        return (
            f"{master} in {field2}, {uni2} ({grad}); "
            f"{bachelor} in {field}, {uni} ({grad - _randint(rng, 2, 6)})"
        )
    return f"{bachelor} in {field}, {uni} ({grad})"


def _company(rng: Random) -> str:
    name = _choice(rng, _COMPANIES)
    if rng.random() < 0.35:
        name += _choice(rng, _COMPANY_LEGAL)
    return name


def _work_history(
    rng: Random, family: str, years: int, companies: list[str], background: str
) -> tuple[str, int]:
    """Return the history text and the number of roles in it (companies are used in order)."""
    titles = _FAMILY_TITLES[background]
    mid_titles = _FAMILY_MID_TITLES[background]
    if years == 0:
        role = _choice(rng, mid_titles)
        kind = _choice(rng, ("a summer internship", "a six-month co-op", "a part-time internship"))
        return f"{role} Intern at {companies[0]} ({REFERENCE_YEAR - 1}), {kind}.", 1
    n_roles = 1 if years < 3 else min(_choice(rng, (1, 2, 2, 3, 3)), years)
    # Split the years into n_roles positive parts, most recent role last.
    cuts = sorted(_sample(rng, range(1, years), n_roles - 1))
    bounds = [0, *cuts, years]
    current = rng.random() < 0.7
    end_year = REFERENCE_YEAR if current else REFERENCE_YEAR - _randint(rng, 0, 1)
    start_all = end_year - years
    parts = []
    for idx in range(n_roles):
        last = idx == n_roles - 1
        if idx == 0 and years >= 8 and rng.random() < 0.5:
            role = f"Junior {_choice(rng, mid_titles)}"
        elif last and years >= 6 and rng.random() < 0.6:
            role = f"Senior {_choice(rng, mid_titles)}"
        else:
            role = _choice(rng, titles if years >= 5 else mid_titles)
        end = "present" if last and current else str(start_all + bounds[idx + 1])
        parts.append(f"{role} at {companies[idx]} ({start_all + bounds[idx]}-{end})")
    if n_roles == 1:
        text = parts[0]
    elif rng.random() < 0.5:
        text = "; ".join(parts)
    else:
        text = ", then ".join(parts)
    r = rng.random()
    if r < 0.15:
        text += f'. Led the "{_choice(rng, _PROJECT_CODENAMES)}" initiative, end to end.'
    elif r < 0.22 and not current:
        text += f". Left after the company was acquired by {_choice(rng, _COMPANIES)}, Inc."
    elif r < 0.28:
        text += '. Known to colleagues as "the fixer" for hard escalations.'
    elif r < 0.34:
        text += ". Also mentors at a local nonprofit, two evenings a month."
    elif r < 0.40 and n_roles == 1 and years >= 4:
        text += f". Promoted twice in {years} years."
    else:
        text += "."
    if background != family and rng.random() < 0.5:
        text += f" Moving into {_FAMILY_AREA[family]}."
    return text, n_roles


def _cover_note(
    rng: Random,
    pos: _Position,
    background: str,
    years: int,
    match: int,
    skills: str,
    company: str,
    first: str,
) -> str:
    skill_list = skills.split("; ")
    # Name concrete skills in the prose ("Python and Airflow", not "Teamwork and Slack").
    specific = [s for s in skill_list if s not in _GENERIC_SET]
    skill1, skill2 = _sample(rng, specific if len(specific) >= 2 else skill_list, 2)
    ctx = {
        "position": pos.title,
        "yrs": _YEARS_PHRASE[years],
        "area": _FAMILY_AREA[background],
        "target_area": _FAMILY_AREA[pos.family],
        "target_skill": _choice(rng, pos.core),
        "company": company,
        "skill1": skill1,
        "skill2": skill2.lower() if " " in skill2 and skill2[1:].islower() else skill2,
        "weeks": _randint(rng, 2, 8),
    }
    style = rng.random()
    if style < 0.2:  # terse, low effort
        ctx["yrs_cap"] = ctx["yrs"].capitalize()
        return f"{_choice(rng, _TERSE_LEADS)} {_choice(rng, _TERSE)}".format(**ctx)
    sentences = [_choice(rng, _OPENERS)]
    sentences.append(_choice(rng, _EXPERIENCE_NEW if years == 0 else _EXPERIENCE))
    if background != pos.family and (match == 0 or rng.random() < 0.5):
        sentences.append(_choice(rng, _CAREER_CHANGE))
    elif match == 0:
        sentences.append(_choice(rng, _GAPS))
    rich = style > 0.55
    if rich and years > 0:
        achievement = _choice(rng, _FAMILY_ACHIEVEMENTS[background]).format(
            pct=_randint(rng, 8, 60),
            num=_randint(rng, 2, 9),
            money=_randint(rng, 40, 900),
            skill1=skill1,
        )
        sentences.append(_choice(rng, _ACHIEVEMENT_LEADS).replace("{achievement}", achievement))
    if rich or rng.random() < 0.4:
        sentences.append(_choice(rng, _MOTIVATION))
    if len(sentences) < 5 and rng.random() < 0.6:
        sentences.append(_choice(rng, _CLOSERS))
    sentences = [t.format(**ctx) for t in sentences[:5]]
    r = rng.random()
    if r < 0.07:  # a paragraph break inside the note
        cut = _randint(rng, 1, len(sentences) - 1)
        sep = "\n\n" if rng.random() < 0.5 else "\n"
        text = " ".join(sentences[:cut]) + sep + " ".join(sentences[cut:])
    else:
        text = " ".join(sentences)
    if r > 0.9:
        text += f"\n{_choice(rng, _SIGNOFFS)} {first}"
    elif r > 0.8:
        text += f" - {first}"
    return text


def _strip_legal(company: str) -> str:
    for suffix in _COMPANY_LEGAL:
        if company.endswith(suffix):
            return company[: -len(suffix)]
    return company


def generate_candidates(n: int, *, seed: int = 0, positions: int = 50) -> Iterator[dict[str, str]]:
    """Yield ``n`` synthetic applicants as dicts keyed by :data:`COLUMNS` (all values str).

    Arguments are validated immediately (``ValueError``), rows are produced lazily.
    """
    rows = _generate_rows(n, seed=seed, positions=positions)
    return (dict(zip(COLUMNS, row, strict=True)) for row in rows)


def _generate_rows(n: int, *, seed: int, positions: int) -> Iterator[tuple[str, ...]]:
    """Rows as tuples in :data:`COLUMNS` order (what the CSV writer wants)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return _rows(n, seed, _positions(positions))


def _rows(n: int, seed: int, pool: list[_Position]) -> Iterator[tuple[str, ...]]:
    cum: list[float] = []
    total = 0.0
    level_weight = {"junior": 1.4, "mid": 1.0, "senior": 0.8}
    for pos in pool:
        total += _FAMILY_WEIGHT[pos.family] * level_weight[pos.level]
        cum.append(total)

    base = (seed & _MASK64) << 64
    used_emails: set[str] = set()
    rng = Random()
    first_ascii, last_ascii = _FIRST_NAMES, _LAST_NAMES
    for i in range(n):
        rng.seed(base | i)
        # Name
        if rng.random() < 0.005:
            k = int(rng.random() * 3)
            first = _choice(rng, _FIRST_NAMES_NON_ASCII if k != 1 else first_ascii)
            last = _choice(rng, _LAST_NAMES_NON_ASCII if k != 0 else last_ascii)
        else:
            first = _choice(rng, first_ascii)
            last = _choice(rng, last_ascii)
        middle = _choice(rng, _MIDDLE_INITIALS) if rng.random() < 0.12 else ""
        name = f"{first} {middle}. {last}" if middle else f"{first} {last}"

        # E-mail derived from the name, unique across the file.
        f_slug, l_slug = _FIRST_SLUGS[first], _LAST_SLUGS[last]
        style = int(rng.random() * 6)
        if style == 0:
            local = f"{f_slug}.{l_slug}"
        elif style == 1:
            local = f"{f_slug[0]}{l_slug}"
        elif style == 2:
            local = f"{f_slug}_{l_slug}"
        elif style == 3:
            local = f"{f_slug}{l_slug[0]}"
        elif style == 4:
            local = f"{f_slug}.{l_slug}{_randint(rng, 1970, 2004) % 100:02d}"
        else:
            local = f"{l_slug}.{f_slug}"
        domain = "example.com" if rng.random() < 0.7 else "example.org"
        email = f"{local}@{domain}"
        if email in used_emails:  # clash with an earlier row: jane.doe2, jane.doe85_2, ...
            if local[-1].isdigit():
                local += "_"
            suffix = 2
            while f"{local}{suffix}@{domain}" in used_emails:
                suffix += 1
            email = f"{local}{suffix}@{domain}"
        used_emails.add(email)

        phone = _choice(rng, _PHONES)
        pos = pool[bisect(cum, rng.random() * total)]
        years = _years_experience(rng, pos.level)
        # How well the applicant fits: 2 strong, 1 partial, 0 weak. The background family
        # drives the work history, education and off-target skills (career changers).
        m = rng.random()
        match = 2 if m < 0.45 else (1 if m < 0.8 else 0)
        b = rng.random()
        if (match == 1 and b < 0.4) or (match == 0 and b < 0.75):
            background = _choice(rng, _OTHER_FAMILIES[pos.family])
        else:
            background = pos.family
        skills = _pick_skills(rng, pos, match, background)
        education = _education(rng, background, years)
        companies = [_company(rng), _company(rng), _company(rng)]
        history, n_roles = _work_history(rng, pos.family, years, companies, background)
        recent = _strip_legal(companies[n_roles - 1])  # the most recent employer is listed last
        note = _cover_note(rng, pos, background, years, match, skills, recent, first)
        yield (
            f"C{i + 1:06d}",
            name,
            email,
            phone,
            pos.title,
            str(years),
            skills,
            education,
            history,
            note,
        )


def write_candidates_csv(
    path: str | os.PathLike[str] | IO[str],
    n: int,
    *,
    seed: int = 0,
    positions: int = 50,
) -> int:
    """Write ``n`` candidates as CSV (UTF-8, no BOM, header row); return the row count.

    ``path`` may be a filesystem path, ``"-"`` for stdout, or an open text file (which should
    have been opened with ``newline=""``).
    """
    rows = _generate_rows(n, seed=seed, positions=positions)
    if isinstance(path, str) and path == "-":
        return _write(sys.stdout, rows)
    if hasattr(path, "write"):
        return _write(path, rows)  # type: ignore[arg-type]
    with open(path, "w", encoding="utf-8", newline="") as fh:  # type: ignore[arg-type]
        return _write(fh, rows)


def _write(fh: IO[str], rows: Iterator[tuple[str, ...]]) -> int:
    writer = csv.writer(fh)
    writer.writerow(COLUMNS)
    count = 0
    batch: list[tuple[str, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 1000:
            writer.writerows(batch)
            count += len(batch)
            batch.clear()
    writer.writerows(batch)
    return count + len(batch)
