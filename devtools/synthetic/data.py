"""The vocabulary of the synthetic applicants: positions, skills, names, companies,
universities and cover-note phrases (all invented). Pure data; the generator in
:mod:`devtools.synthetic.generator` combines them.

Changing anything here changes the generated files for every seed (a test pins their hash).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Positions: "title | family | core skills". The order is curated so that any prefix (in
# particular the default 50) is a realistic mix across families, healthcare included.
# --------------------------------------------------------------------------------------------
CATALOG_SPEC = """
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
Registered Nurse | healthcare | Patient assessment; Medication administration; \
Electronic health records; Care planning; BLS certification
Supply Chain Analyst | operations | Demand planning; SAP; Inventory optimization; Excel; SQL
Medical Assistant | healthcare | Vital signs; Phlebotomy; Patient intake; \
Electronic health records; Appointment scheduling
Medical Billing Specialist | healthcare | Medical coding; ICD-10; CPT coding; \
Insurance claims; Epic
QA Automation Engineer | engineering | Selenium; Playwright; Python; Test automation; CI/CD; \
API testing
Sales Manager | sales | Sales coaching; Forecasting; Salesforce; Territory planning; Hiring
HR Generalist | hr | HRIS; Onboarding; Benefits administration; Employee relations; \
Policy writing
Pharmacy Technician | healthcare | Prescription processing; Medication dispensing; \
Pharmacy software; Insurance billing; Inventory management
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
Clinical Research Coordinator | healthcare | Clinical trials; Good Clinical Practice; \
Patient recruitment; Regulatory documentation; REDCap
Business Intelligence Developer | data | Power BI; SQL; Data modeling; DAX; ETL
Growth Marketing Manager | marketing | Paid acquisition; A/B testing; Google Ads; \
Funnel analysis; Lifecycle marketing
FP&A Manager | finance | Budgeting; Forecasting; Financial modeling; Anaplan; \
Board reporting
Security Engineer | engineering | Threat modeling; Penetration testing; AWS security; SIEM; \
Python; Incident response
Implementation Consultant | support | Project delivery; Data migration; Client training; \
SQL; Requirements gathering
iOS Engineer | engineering | Swift; SwiftUI; Xcode; Core Data; REST APIs; Unit testing
Senior UX Designer | design | Figma; Interaction design; User research; Wireframing; \
Accessibility
Senior Product Manager | product | Product strategy; Roadmapping; Stakeholder management; \
Product analytics; Pricing
Support Team Lead | support | Team leadership; Zendesk; Quality assurance; Workforce management; \
Coaching
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
QUALIFIERS: tuple[str, ...] = (
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

FAMILY_SKILLS: dict[str, tuple[str, ...]] = {
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
    "healthcare": (
        "Patient care",
        "Electronic health records",
        "Epic",
        "HIPAA compliance",
        "Vital signs",
        "Infection control",
        "Medical terminology",
        "BLS certification",
        "Patient education",
        "Care coordination",
        "Medication administration",
        "Insurance verification",
        "Phlebotomy",
        "Clinical documentation",
    ),
}

GENERIC_SKILLS: tuple[str, ...] = (
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

FAMILY_AREA: dict[str, str] = {
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
    "healthcare": "healthcare",
}

# Relative applicant volume per family (some roles simply attract more applications).
FAMILY_WEIGHT: dict[str, float] = {
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
    "healthcare": 1.2,
}

FAMILY_FIELDS: dict[str, tuple[str, ...]] = {
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
    "healthcare": (
        "Nursing",
        "Health Sciences",
        "Biology",
        "Public Health",
        "Health Information Management",
    ),
}
UNRELATED_FIELDS: tuple[str, ...] = (
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
TECH_BACHELORS = ("B.Sc.", "B.S.", "B.Eng.")
BUSINESS_BACHELORS = ("B.A.", "B.S.", "B.B.A.")
ARTS_BACHELORS = ("B.A.", "B.A.", "B.F.A.", "B.Sc.")
BACHELORS: dict[str, tuple[str, ...]] = {
    "engineering": TECH_BACHELORS,
    "data": TECH_BACHELORS,
    "sales": BUSINESS_BACHELORS,
    "marketing": ARTS_BACHELORS,
    "finance": BUSINESS_BACHELORS,
    "hr": ARTS_BACHELORS,
    "operations": BUSINESS_BACHELORS,
    "design": ARTS_BACHELORS,
    "support": BUSINESS_BACHELORS,
    "product": ("B.Sc.", "B.A.", "B.S."),
    "healthcare": ("B.S.N.", "B.S.", "B.Sc."),
}
TECH_MASTERS = ("M.Sc.", "M.S.", "M.Eng.")
BUSINESS_MASTERS = ("MBA", "M.Sc.", "M.A.")
MASTERS: dict[str, tuple[str, ...]] = {
    family: TECH_MASTERS if family in ("engineering", "data") else BUSINESS_MASTERS
    for family in BACHELORS
}
MASTERS["healthcare"] = ("M.S.N.", "M.P.H.", "M.Sc.")

FAMILY_ACHIEVEMENTS: dict[str, tuple[str, ...]] = {
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
    "healthcare": (
        "cut patient wait times in our clinic by {pct}%",
        "trained {num} new colleagues on our {skill1} workflow",
        "reduced claim denials by {pct}% by fixing intake errors",
        "kept a {num}-bed unit's charting fully up to date through a system change",
    ),
}

# How many people apply for a position, relative to others of its family and level (the
# generator multiplies this by FAMILY_WEIGHT and the level's weight; 1.0 when not listed):
# entry-level and widely known roles draw crowds, senior specialist roles few. With the
# default 50 positions the busiest gets about 15 times the applicants of the quietest.
APPLICANT_WEIGHT: dict[str, float] = {
    "Customer Support Specialist": 3.0,
    "Medical Assistant": 2.5,
    "Data Analyst": 2.2,
    "Sales Development Representative": 2.0,
    "Registered Nurse": 2.0,
    "Junior Software Developer": 1.8,
    "Full Stack Developer": 1.6,
    "Data Scientist": 1.6,
    "Graphic Designer": 1.6,
    "Account Executive": 1.5,
    "Project Manager": 1.5,
    "Product Manager": 1.5,
    "Frontend Engineer": 1.4,
    "Logistics Coordinator": 1.4,
    "Marketing Manager": 1.3,
    "Customer Success Manager": 1.3,
    "Pharmacy Technician": 1.3,
    "Data Engineer": 0.9,
    "DevOps Engineer": 0.8,
    "QA Automation Engineer": 0.8,
    "Business Intelligence Developer": 0.8,
    "SEO Specialist": 0.8,
    "Accounts Payable Specialist": 0.8,
    "Medical Billing Specialist": 0.8,
    "Machine Learning Engineer": 0.7,
    "Technical Recruiter": 0.7,
    "Growth Marketing Manager": 0.7,
    "Site Reliability Engineer": 0.6,
    "Senior Accountant": 0.6,
    "Supply Chain Analyst": 0.6,
    "Enterprise Account Manager": 0.6,
    "Sales Manager": 0.6,
    "Solutions Engineer": 0.6,
    "Product Marketing Manager": 0.6,
    "HR Business Partner": 0.5,
    "Security Engineer": 0.5,
    "Payroll Specialist": 0.5,
    "Engineering Manager": 0.5,
    "People Operations Manager": 0.5,
    "Clinical Research Coordinator": 0.5,
    "FP&A Manager": 0.4,
    "Staff Software Engineer": 0.4,
    "Controller": 0.3,
}

# --------------------------------------------------------------------------------------------
# People, companies, universities (all invented combinations).
# --------------------------------------------------------------------------------------------
FIRST_NAMES: tuple[str, ...] = (
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
LAST_NAMES: tuple[str, ...] = (
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
FIRST_NAMES_NON_ASCII: tuple[str, ...] = (
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
LAST_NAMES_NON_ASCII: tuple[str, ...] = (
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
MIDDLE_INITIALS = "ABCDEFGHJKLMNPRSTW"

AREA_CODES: tuple[str, ...] = (
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

COMPANY_STEMS: tuple[str, ...] = (
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
COMPANY_KINDS: tuple[str, ...] = (
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
COMPANY_LEGAL: tuple[str, ...] = (", Inc.", " LLC", ", Ltd.", " Group", " Co.")

UNI_PLACES: tuple[str, ...] = (
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
UNI_FORMS: tuple[str, ...] = (
    "University of {p}",
    "{p} University",
    "{p} State University",
    "{p} Institute of Technology",
    "{p} College",
    "{p} Polytechnic",
)

PROJECT_CODENAMES: tuple[str, ...] = (
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
OPENERS: tuple[str, ...] = (
    "I am applying for the {position} role.",
    "I'd like to be considered for the {position} position.",
    "Please accept my application for the {position} opening.",
    "I'm excited to apply for your {position} opening.",
    "I saw the {position} posting and wanted to reach out directly.",
    "After following your team for a while, I'm applying for the {position} role.",
    "A former colleague suggested I apply for the {position} position.",
    "I'm writing about the {position} vacancy.",
)
EXPERIENCE: tuple[str, ...] = (
    "I have {yrs} of experience in {area}, most recently at {company}.",
    "Over the past {yrs} I have worked mostly with {skill1} and {skill2}.",
    "My {yrs} in {area} taught me to balance speed with quality.",
    "For {yrs} I have worked in {area}, and I'm at my best on small, focused teams.",
    "I bring {yrs} of hands-on {area} experience, including {skill1}.",
)
EXPERIENCE_NEW: tuple[str, ...] = (
    "I recently graduated and am looking for my first full-time role.",
    "I'm early in my career, but my internship at {company} gave me real exposure to {skill1}.",
    "I finished my degree last year and have been building projects with {skill1} since.",
)
ACHIEVEMENT_LEADS: tuple[str, ...] = (
    "At {company} I {achievement}.",
    "Most recently I {achievement}.",
    "One thing I'm proud of: I {achievement}.",
    'In my current role I {achievement}, which my manager called "the quiet win of the year".',
)
MOTIVATION: tuple[str, ...] = (
    "I'm drawn to your focus on craftsmanship and long-term customer relationships.",
    "Your recent growth is exactly the kind of environment where I learn fastest.",
    "I want to work somewhere that takes {target_area} seriously rather than as an afterthought.",
    "I like that the role mixes hands-on work with {skill2}.",
    "What appeals to me most is the chance to own problems end to end.",
    "I'm looking for a team where I can grow into more responsibility over time.",
)
CAREER_CHANGE: tuple[str, ...] = (
    "Although my background is in {area}, I've been teaching myself {target_skill} at night.",
    "I'm moving over from {area}, so some of this would be new to me, but I learn fast.",
    "My experience is mostly in {area}; I believe the skills transfer well.",
)
GAPS: tuple[str, ...] = (
    "I haven't used {target_skill} professionally yet, but I pick things up quickly.",
    "I know I don't tick every box in the posting, but I'm a hard worker.",
    "I don't have much hands-on {target_area} experience yet, but I'm eager to learn.",
)
CLOSERS: tuple[str, ...] = (
    "I can start within {weeks} weeks.",
    "Thank you for your time and consideration.",
    "I'm happy to share references on request.",
    "I'm open to relocation for the right role.",
    "I'm looking for a fully remote position, but could travel occasionally.",
    "I'd welcome the chance to talk about how I could help your team.",
    "My portfolio and references are available on request.",
)
TERSE_LEADS: tuple[str, ...] = (
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
TERSE: tuple[str, ...] = (
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
SIGNOFFS: tuple[str, ...] = ("Best,", "Thanks,", "Kind regards,", "Sincerely,", "Cheers,")
