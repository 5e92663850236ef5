"""The jobs the synthetic applicants apply for: one requisition per position of the catalog
(:data:`devtools.synthetic.data.CATALOG_SPEC`), written out by hand, and the jobs file
``generate_candidates --jobs-out`` writes beside the candidates.

A requisition says what the job asks for as a recruiter's posting does: a short summary,
requirements (skills by the names candidates list them, years of experience, degrees and
certifications) and responsibilities. No requirement names age or any other protected
characteristic, nor a proxy for one ("recent graduate", "native speaker", a maximum of
years of experience, which shuts out older applicants). A title with a
qualifier ("Data Analyst (Remote)") is its base job with one sentence about the qualifier.

The jobs file is CSV (UTF-8, no BOM) with the header ``title,description,requirements,
responsibilities``, one row per position, ``title`` exactly as in the candidates'
``position`` column.
"""

from __future__ import annotations

import csv
import os
import sys
from typing import IO

from devtools.synthetic.data import QUALIFIERS
from devtools.synthetic.generator import position_titles

JOB_COLUMNS: tuple[str, ...] = ("title", "description", "requirements", "responsibilities")

# title: (description, requirements, responsibilities). Requirements name the catalog's
# core skills for the title as candidates write them, so a strong applicant's skills
# visibly meet them and a weak one's visibly do not.
JOBS: dict[str, tuple[str, str, str]] = {
    "Senior Backend Engineer": (
        "Design and run the Python services behind our customer platform. You will own APIs "
        "used by millions of requests a day and raise the bar for the backend team.",
        "6+ years building production web services; expert Python and Django; PostgreSQL "
        "schema design and query tuning; REST APIs; Redis caching and queues; Docker; "
        "experience operating services on a cloud provider",
        "Design, build and operate backend services and APIs; review code and mentor "
        "engineers; lead technical designs for new features; improve reliability, latency "
        "and cost; take part in the on-call rotation",
    ),
    "HR Business Partner": (
        "Be the trusted HR adviser to the leaders of our engineering and product "
        "organisation (about 400 people), from workforce planning to difficult employee "
        "relations cases.",
        "6+ years in HR, at least 3 as an HR business partner; employee relations "
        "investigations; performance management; workforce planning; working knowledge of "
        "employment law; coaching managers; SHRM-CP, SHRM-SCP or CIPD Level 7 preferred",
        "Advise leaders on organisation design and workforce planning; run performance and "
        "talent review cycles; handle employee relations cases end to end; coach managers; "
        "turn engagement survey results into action plans",
    ),
    "Data Analyst": (
        "Turn product and sales data into answers the business can act on. You will build "
        "the dashboards and analyses that teams use every week.",
        "2+ years in an analyst role; strong SQL; Excel; Tableau or a similar BI tool; "
        "Python for analysis; data visualization; A/B testing and basic statistics; "
        "degree in a quantitative field or equivalent experience",
        "Write SQL to answer business questions; build and maintain Tableau dashboards; "
        "analyse A/B tests and explain the results; define metrics with stakeholders; "
        "check data quality and document sources",
    ),
    "Customer Success Manager": (
        "Own a book of mid-market customers after the sale: get them live, help them get "
        "value from the product and renew.",
        "5+ years in customer success or account management in B2B SaaS; onboarding "
        "programmes; renewals and expansion; Gainsight or a similar CS platform; a record "
        "of churn reduction; clear written and spoken communication",
        "Manage a portfolio of about 40 accounts; run onboarding and quarterly business "
        "reviews; forecast renewals and flag churn risk early; work with sales on "
        "expansion; bring customer feedback to product",
    ),
    "Account Executive": (
        "Close new business with mid-market companies, from first meeting to signed "
        "contract, against a quarterly quota.",
        "3+ years of closing experience in B2B software sales; Salesforce; prospecting "
        "and pipeline management; negotiation; solution selling (MEDDICC or similar); "
        "a record of meeting quota",
        "Run the full sales cycle for new accounts; build pipeline with sales development; "
        "lead discovery calls and demos; negotiate and close contracts; keep forecasts in "
        "Salesforce accurate",
    ),
    "Frontend Engineer": (
        "Build the web app our customers use every day, with a focus on speed, "
        "accessibility and a consistent design system.",
        "3+ years of frontend development; TypeScript; React; modern CSS; accessibility "
        "(WCAG 2.1 AA); Webpack or Vite; unit tests with Jest; working with designers",
        "Build and ship features in React and TypeScript; keep pages fast and accessible; "
        "write tests with Jest; contribute components to the design system; review "
        "colleagues' code",
    ),
    "Marketing Manager": (
        "Plan and run integrated campaigns that bring qualified leads to the sales team, "
        "and own the budget that pays for them.",
        "6+ years in B2B marketing, 2+ managing campaigns end to end; campaign management; "
        "budget planning; HubSpot; Google Analytics; brand strategy; managing agencies "
        "and freelancers",
        "Plan the quarterly campaign calendar; manage a marketing budget and report on "
        "return; run campaigns across email, events and paid channels; keep messaging on "
        "brand; lead two marketing specialists",
    ),
    "Financial Analyst": (
        "Support the finance team with models, forecasts and monthly analysis that "
        "explain how the business is doing.",
        "2+ years in financial analysis, FP&A or audit; financial modeling in Excel; "
        "forecasting; variance analysis; clear PowerPoint presentations; degree in "
        "finance, accounting or economics; progress toward CFA welcome",
        "Build and maintain forecast models; analyse monthly results against budget and "
        "explain variances; prepare reports for leadership; support the annual budget; "
        "answer ad hoc questions from department heads",
    ),
    "Operations Manager": (
        "Run day-to-day operations of our fulfilment site and make them measurably "
        "better quarter after quarter.",
        "6+ years in operations, 3+ leading teams; process improvement with Lean methods "
        "(Lean Six Sigma Green Belt preferred); KPI tracking; vendor management; budgeting",
        "Lead a team of shift supervisors; set and track KPIs for throughput, quality and "
        "cost; run improvement projects; manage vendor contracts; own the site budget",
    ),
    "Product Designer": (
        "Design end-to-end product experiences, from research and flows to polished "
        "screens, with a cross-functional squad.",
        "3+ years of product design with a portfolio of shipped work; Figma; prototyping; "
        "user research; interaction design; working within design systems",
        "Turn problems into flows, prototypes and final designs; test ideas with users; "
        "work daily with product managers and engineers; contribute to the design system; "
        "present work in critiques",
    ),
    "Product Manager": (
        "Own the roadmap of one product area: decide what to build, why, and in which "
        "order, and see it through to launch.",
        "5+ years in product management for software products; roadmapping; writing user "
        "stories; prioritization frameworks; Jira; product analytics (Amplitude, Mixpanel "
        "or similar)",
        "Set and communicate the roadmap; write clear user stories and acceptance "
        "criteria; prioritise with engineering and design; measure adoption after launch; "
        "talk to customers every week",
    ),
    "DevOps Engineer": (
        "Keep our build, deployment and cloud infrastructure fast, reliable and automated.",
        "3+ years in DevOps or infrastructure roles; Kubernetes; Terraform; AWS; CI/CD "
        "pipelines; Linux administration; monitoring with Prometheus; AWS or CKA "
        "certification a plus",
        "Maintain and improve CI/CD pipelines; manage infrastructure as code with "
        "Terraform; operate Kubernetes clusters; set up monitoring and alerts; help teams "
        "ship safely",
    ),
    "Sales Development Representative": (
        "Start conversations with potential customers and book qualified meetings for "
        "our account executives. An entry point into a sales career.",
        "No minimum experience; 6+ months in sales, customer service or another "
        "customer-facing role a plus; confident cold calling; email prospecting; lead "
        "qualification; Salesforce; "
        "Outreach.io or a similar sequencing tool welcome",
        "Research target accounts; reach prospects by phone, email and LinkedIn; qualify "
        "leads against our criteria; book meetings for account executives; log all "
        "activity in Salesforce",
    ),
    "Technical Recruiter": (
        "Find and hire software engineers and data specialists for a fast-growing technology team.",
        "3+ years of technical recruiting; sourcing with Boolean search and LinkedIn "
        "Recruiter; Greenhouse or a similar ATS; technical screening; structured "
        "interviewing",
        "Partner with hiring managers on role profiles; source and engage candidates; run "
        "technical screens; manage candidates through interviews and offers in "
        "Greenhouse; report on pipeline health",
    ),
    "Customer Support Specialist": (
        "Help customers by email and chat, solve their problems on first contact where "
        "possible, and keep them happy.",
        "1+ years in customer support; Zendesk or a similar help desk; ticket triage; "
        "troubleshooting software issues; excellent written communication; de-escalation "
        "of upset customers",
        "Answer customer tickets and chats within service levels; triage and route "
        "issues; troubleshoot and reproduce problems; escalate bugs with clear notes; "
        "write help-centre articles",
    ),
    "Data Engineer": (
        "Build the pipelines that move and model our data so analysts and data "
        "scientists can trust it.",
        "3+ years in data engineering; Python; SQL; Apache Spark; Airflow; dbt; streaming "
        "with Kafka; a cloud data warehouse",
        "Build and maintain batch and streaming pipelines; model data with dbt; schedule "
        "and monitor jobs in Airflow; improve data quality checks; work with analysts on "
        "new data sources",
    ),
    "Content Marketing Specialist": (
        "Write and edit the articles, guides and emails that bring readers to our site "
        "and turn them into leads.",
        "2+ years writing for a brand or publication; copywriting; SEO writing; WordPress; "
        "content strategy; editing others' work; a portfolio of published pieces",
        "Write blog posts, guides and newsletters; plan the editorial calendar; optimise "
        "content for search; edit guest and internal contributions; report on content "
        "performance",
    ),
    "Senior Accountant": (
        "Own key parts of the monthly close and keep our books accurate and ready for audit.",
        "5+ years in accounting; CPA or progress toward CPA; US GAAP; month-end close; "
        "account reconciliations; NetSuite; audit support",
        "Prepare journal entries and reconciliations; own parts of the month-end close; "
        "review work of staff accountants; support the annual audit; improve close "
        "processes",
    ),
    "Full Stack Developer": (
        "Build features across our web stack, from the database to the browser, in a "
        "small product team.",
        "3+ years of full stack development; JavaScript; Node.js; React; PostgreSQL; "
        "REST APIs; Docker",
        "Build features end to end; design APIs and database changes; write tests; "
        "deploy with Docker; fix production issues",
    ),
    "Project Manager": (
        "Deliver cross-team projects on time and on budget, keeping everyone informed "
        "along the way.",
        "5+ years managing projects; project planning; risk management; MS Project; Agile "
        "and waterfall methods; stakeholder management; PMP or PRINCE2 certification "
        "preferred",
        "Plan projects and keep schedules current; track risks and issues; run status "
        "meetings; report to stakeholders; manage scope changes",
    ),
    "UX Researcher": (
        "Help our teams understand users through interviews, usability tests and surveys, "
        "and turn findings into decisions.",
        "3+ years of UX research; usability testing; user interviews; survey design; "
        "qualitative analysis; a research repository such as Dovetail",
        "Plan and run research studies; recruit participants; synthesise findings into "
        "clear recommendations; share insights with product teams; maintain the research "
        "repository",
    ),
    "Site Reliability Engineer": (
        "Keep our production systems available and fast, and automate away the toil of "
        "running them.",
        "3+ years in SRE or operations; Kubernetes; Go or Python; observability (metrics, "
        "logs, traces); incident response; Linux; Terraform",
        "Define and track service level objectives; build observability and alerting; "
        "lead incident response and write postmortems; automate operations; join the "
        "on-call rotation",
    ),
    "Enterprise Account Manager": (
        "Grow our largest customers: renew, expand and deepen relationships at executive level.",
        "6+ years in enterprise account management or sales; key account management; "
        "upselling; Salesforce; contract negotiation; executive presence",
        "Own a portfolio of enterprise accounts; build account plans; negotiate renewals "
        "and expansions; run executive business reviews; coordinate support and product "
        "teams for your accounts",
    ),
    "Talent Acquisition Specialist": (
        "Hire great people across business teams, from first contact to signed offer, "
        "with a good experience for every candidate.",
        "2+ years of full-cycle recruiting; Greenhouse; structured interviewing; "
        "sourcing; employer branding",
        "Manage open roles from intake to offer; source and screen candidates; schedule "
        "and coordinate interviews; extend offers; represent the company at hiring events",
    ),
    "Technical Support Engineer": (
        "Solve the hardest technical issues our customers raise, working with logs, "
        "databases and APIs.",
        "3+ years in technical support or a similar role; troubleshooting; Linux; SQL; "
        "APIs; Jira; log analysis; scripting in Python or Bash a plus",
        "Investigate and solve escalated technical cases; reproduce issues and analyse "
        "logs; file clear bug reports in Jira; write knowledge-base articles; train "
        "first-line support",
    ),
    "Data Scientist": (
        "Use statistics and machine learning to improve our product and the decisions behind it.",
        "3+ years in data science; Python; pandas; scikit-learn; machine learning; "
        "statistics; experiment design; degree in statistics, computer science or a "
        "related field",
        "Build and evaluate predictive models; design and analyse experiments; explore "
        "data to find opportunities; present results to non-technical teams; work with "
        "engineers to ship models",
    ),
    "SEO Specialist": (
        "Grow organic traffic to our website through technical fixes, content and links.",
        "2+ years in SEO; technical SEO; keyword research; Google Search Console; Ahrefs "
        "or Semrush; link building; HTML basics",
        "Audit the site and fix technical SEO issues; research keywords and brief writers; "
        "build links; track rankings and traffic; report monthly",
    ),
    "Payroll Specialist": (
        "Run accurate, on-time payroll for about 1,500 employees in several states.",
        "3+ years of multi-state payroll processing; ADP or Workday payroll; tax "
        "compliance for payroll; Excel; Certified Payroll Professional (CPP) preferred",
        "Process bi-weekly payroll; maintain employee pay records; file payroll taxes; "
        "reconcile payroll to the general ledger; answer employee pay questions",
    ),
    "iOS Engineer": (
        "Build our iPhone app, used by hundreds of thousands of people every week.",
        "3+ years of iOS development; Swift; SwiftUI; Xcode; Core Data; REST APIs; "
        "unit testing; apps shipped to the App Store",
        "Build features in Swift and SwiftUI; write unit tests; improve performance and "
        "stability; work with designers and backend engineers; manage App Store releases",
    ),
    "Supply Chain Analyst": (
        "Keep the right stock in the right place by forecasting demand and tuning inventory.",
        "2+ years in supply chain or inventory analysis; demand planning; SAP; inventory "
        "optimization; advanced Excel; SQL; APICS CPIM welcome",
        "Forecast demand by product and region; set reorder points and safety stock; "
        "analyse supplier lead times; report on inventory health; support S&OP meetings",
    ),
    "Senior UX Designer": (
        "Lead the design of complex workflows in our B2B product and raise the quality "
        "of design across teams.",
        "6+ years of UX or product design with a portfolio; Figma; interaction design; "
        "user research; wireframing; accessibility standards",
        "Lead design for a product area from research to delivery; create wireframes and "
        "prototypes; test with users; mentor designers; make accessibility part of every "
        "design",
    ),
    "Senior Product Manager": (
        "Set the strategy for a core product line and lead the teams that build it.",
        "7+ years in product management; product strategy; roadmapping; stakeholder "
        "management; product analytics; pricing and packaging",
        "Define product strategy and roadmap; align executives and teams; own pricing "
        "decisions with finance; measure outcomes; coach other product managers",
    ),
    "QA Automation Engineer": (
        "Build the automated tests that let us release every day with confidence.",
        "3+ years in test automation; Python; Selenium or Playwright; API testing; CI/CD "
        "integration; ISTQB certification a plus",
        "Design and maintain automated UI and API tests; run tests in CI/CD; report and "
        "track defects; improve test coverage and speed; review testability of new "
        "features",
    ),
    "Sales Manager": (
        "Lead and coach a team of eight account executives to hit a regional target.",
        "6+ years in B2B sales, 2+ leading a team; sales coaching; forecasting; "
        "Salesforce; territory planning; hiring sales people",
        "Coach account executives in weekly one-to-ones and deal reviews; forecast the "
        "team's results; plan territories; hire and onboard sellers; report to the "
        "sales director",
    ),
    "HR Generalist": (
        "Support employees and managers across the whole employee life cycle, from "
        "onboarding to leaving.",
        "3+ years in a generalist HR role; HRIS (Workday, BambooHR or similar); "
        "onboarding; benefits administration; employee relations; policy writing; "
        "aPHR or SHRM-CP welcome",
        "Run onboarding and offboarding; answer HR and benefits questions; keep HRIS "
        "records accurate; help managers with employee relations issues; draft and update "
        "policies",
    ),
    "Support Team Lead": (
        "Lead a team of 10 support specialists, keeping quality high and response times short.",
        "5+ years in customer support, 2+ leading a team; team leadership; Zendesk; "
        "quality assurance; workforce management; coaching",
        "Coach and develop support specialists; plan staffing and schedules; review "
        "ticket quality; handle escalations; report on support metrics",
    ),
    "Machine Learning Engineer": (
        "Take machine learning models from notebook to production and keep them performing.",
        "3+ years in ML engineering or software engineering with ML; Python; PyTorch; "
        "MLOps; feature engineering; Kubernetes; model deployment and monitoring",
        "Build training and serving pipelines; deploy models on Kubernetes; build "
        "features with data engineers; monitor model quality; optimise inference cost",
    ),
    "Product Marketing Manager": (
        "Tell the market why our product matters: positioning, launches and sales enablement.",
        "6+ years in product marketing for B2B software; positioning; messaging; "
        "go-to-market strategy; competitive analysis; sales enablement",
        "Define positioning and messaging; plan and run product launches; maintain "
        "competitive analysis; build sales enablement material; work with product on "
        "pricing and packaging",
    ),
    "Accounts Payable Specialist": (
        "Pay our suppliers correctly and on time, and keep vendor records clean.",
        "2+ years in accounts payable; invoice processing; three-way matching; vendor "
        "reconciliation; NetSuite; Excel",
        "Process and code supplier invoices; run three-way matching; prepare payment "
        "runs; reconcile vendor statements; answer supplier questions",
    ),
    "Engineering Manager": (
        "Lead a team of six to eight engineers: hire, grow and support them while "
        "delivering a product roadmap.",
        "7+ years in software engineering, 2+ managing engineers; people management; "
        "hiring; Agile delivery; system design; roadmapping; mentoring",
        "Manage and develop engineers; hire for the team; plan and deliver the roadmap "
        "with product; guide technical design; run team rituals and one-to-ones",
    ),
    "Logistics Coordinator": (
        "Coordinate inbound and outbound shipments so that orders arrive complete and on time.",
        "1+ years in logistics, shipping or warehouse administration; shipping "
        "coordination; freight forwarding; Excel; inventory tracking; ERP systems",
        "Book and track shipments with carriers and forwarders; prepare shipping "
        "documents; update inventory records in the ERP; solve delivery problems; report "
        "on carrier performance",
    ),
    "Graphic Designer": (
        "Create visual material for campaigns, events, print and social media that "
        "stays true to our brand.",
        "3+ years of graphic design with a portfolio; Adobe Illustrator; Adobe Photoshop; "
        "InDesign; typography; branding",
        "Design campaign assets, presentations and print material; keep the brand "
        "consistent; prepare files for print and web; work with marketers on briefs; "
        "maintain brand templates",
    ),
    "Junior Software Developer": (
        "Start your software career in a supportive team, building and testing features "
        "with experienced engineers.",
        "No minimum experience: a degree, bootcamp or portfolio of projects that shows you "
        "can build software; Python or JavaScript; Git; SQL; HTML; unit testing",
        "Build small features and fix bugs; write unit tests; take part in code reviews; "
        "learn our systems with a mentor; document what you build",
    ),
    "Solutions Engineer": (
        "Be the technical partner of our sales team: run demos, design solutions and "
        "prove them with a proof of concept.",
        "3+ years in solutions engineering, consulting or software development; technical "
        "demos; solution architecture; APIs; discovery calls; running a proof of concept",
        "Lead technical discovery calls; give tailored product demos; design solutions "
        "for customer requirements; run proofs of concept; answer security and technical "
        "questionnaires",
    ),
    "People Operations Manager": (
        "Run the people operations that keep the company working: HR systems, "
        "compensation cycles, policies and engagement.",
        "6+ years in HR operations, 2+ managing; HRIS; Workday; compensation; policy "
        "writing; employee engagement programmes",
        "Own HR systems and data; run compensation and promotion cycles; write and update "
        "policies; run the engagement survey; manage two HR coordinators",
    ),
    "Implementation Consultant": (
        "Get new customers live on our platform: plan the project, migrate their data "
        "and train their teams.",
        "3+ years implementing software for clients; project delivery; data migration; "
        "client training; SQL; requirements gathering",
        "Gather customer requirements; configure the platform; migrate and validate "
        "customer data with SQL; train customer users; hand over to customer success",
    ),
    "Business Intelligence Developer": (
        "Build the data models and dashboards the business runs on.",
        "3+ years in BI development; Power BI; DAX; SQL; data modeling; ETL; Microsoft "
        "PL-300 certification a plus",
        "Build data models and Power BI reports; write DAX measures; develop ETL jobs; "
        "tune report performance; train users on self-service reporting",
    ),
    "Growth Marketing Manager": (
        "Find and scale the channels that bring us new customers at a good cost.",
        "5+ years in growth or performance marketing; paid acquisition; Google Ads; "
        "A/B testing; funnel analysis; lifecycle marketing",
        "Run and optimise paid campaigns; test landing pages and offers; analyse the "
        "funnel from visit to paying customer; build lifecycle email programmes; manage a "
        "monthly acquisition budget",
    ),
    "FP&A Manager": (
        "Lead budgeting and forecasting, and give leadership a clear view of where the "
        "business is heading.",
        "7+ years in FP&A or corporate finance, 2+ leading analysts; budgeting; "
        "forecasting; financial modeling; Anaplan; board reporting; CPA or CFA preferred",
        "Lead the annual budget and rolling forecasts; build and own financial models; "
        "prepare board reporting; partner with department heads on spending; manage two "
        "financial analysts",
    ),
    "Security Engineer": (
        "Protect our cloud platform and customer data by finding weaknesses before attackers do.",
        "3+ years in security engineering; threat modeling; penetration testing; AWS "
        "security; SIEM; Python; incident response; OSCP, CISSP or AWS Security Specialty "
        "a plus",
        "Review designs and threat models; test systems for vulnerabilities; monitor "
        "security alerts in the SIEM; respond to security incidents; automate security "
        "checks",
    ),
    "Program Manager": (
        "Drive a multi-team program from plan to delivery and keep leadership informed.",
        "6+ years in program or project management; program planning; cross-functional "
        "leadership; risk management; reporting; Agile; PMP or PgMP preferred",
        "Build and maintain the program plan; coordinate several teams and their "
        "dependencies; manage risks; report progress to leadership; run program reviews",
    ),
    "UI Designer": (
        "Craft the visual layer of our product: layouts, icons and components that look "
        "good and work for everyone.",
        "3+ years in UI or visual design with a portfolio; Figma; visual design; design "
        "systems; iconography; prototyping",
        "Design screens and components; create and maintain icons; extend the design "
        "system; build interactive prototypes; check implemented designs with engineers",
    ),
    "Technical Product Manager": (
        "Own our developer platform and public APIs, working closely with engineers and "
        "technical customers.",
        "5+ years in product management or engineering with product duties; APIs; system "
        "design; roadmapping; SQL; writing user stories",
        "Define the API roadmap; write user stories and technical requirements; "
        "prioritise platform work with engineering; analyse usage with SQL; talk with "
        "developer customers",
    ),
    "Android Developer": (
        "Build our Android app with modern tools and keep it fast on every device.",
        "3+ years of Android development; Kotlin; Android SDK; Jetpack Compose; Gradle; "
        "REST APIs; apps shipped to Google Play",
        "Build features in Kotlin and Jetpack Compose; write tests; improve performance "
        "and stability; manage Play Store releases; work with designers and backend "
        "engineers",
    ),
    "Business Development Manager": (
        "Open new markets and partnerships that grow revenue beyond our direct sales.",
        "6+ years in business development or partnerships; lead generation; negotiation; "
        "market research; CRM",
        "Identify and sign partners; generate leads in new markets; negotiate partnership "
        "terms; research markets and competitors; track the pipeline in the CRM",
    ),
    "Compensation and Benefits Analyst": (
        "Keep our pay and benefits fair, competitive and well run.",
        "3+ years in compensation or benefits; compensation benchmarking; benefits "
        "administration; Workday; advanced Excel; pay equity analysis; CCP or CBP welcome",
        "Benchmark roles against market data; support salary reviews; run pay equity "
        "analyses; administer benefits enrolment; answer employee benefits questions",
    ),
    "Customer Onboarding Specialist": (
        "Give new customers a great start: set up their accounts and teach their teams "
        "to use the product well.",
        "2+ years in onboarding, training or customer support; onboarding; client "
        "training; product demos; Zendesk; clear documentation",
        "Run kickoff calls and onboarding plans; give product demos and training "
        "sessions; answer setup questions; write onboarding guides; hand customers over "
        "to account managers",
    ),
    "Senior Data Analyst": (
        "Lead analysis for a business area and be the go-to person for its metrics.",
        "5+ years in analytics; expert SQL; Looker; Python; statistics; data modeling; "
        "stakeholder management",
        "Own the metrics of a business area; build Looker models and dashboards; run deep "
        "analyses with Python; advise leaders on decisions; mentor analysts",
    ),
    "Social Media Coordinator": (
        "Run our social media channels day to day and build an engaged community.",
        "1+ years in social media or communications (a job, internship or volunteer "
        "work); social media management; "
        "Canva; Hootsuite; community management; copywriting",
        "Plan and publish posts; create simple visuals in Canva; reply to comments and "
        "messages; track engagement in Hootsuite; suggest new content ideas",
    ),
    "Controller": (
        "Own accounting and reporting for the company and lead the accounting team.",
        "8+ years in accounting, 3+ leading a team; CPA; US GAAP; financial reporting; "
        "audit management; internal controls; team leadership",
        "Lead the month-end and year-end close; produce financial statements; manage "
        "external audits; design and test internal controls; lead and develop the "
        "accounting team",
    ),
    "Staff Software Engineer": (
        "Shape the architecture of our platform and lead technical work across several teams.",
        "8+ years in software engineering; system design; distributed systems; Java or "
        "Go; performance tuning; mentoring senior engineers",
        "Lead the design of cross-team systems; solve the hardest performance and scaling "
        "problems; set technical direction; mentor engineers; review critical designs and "
        "code",
    ),
    "Procurement Specialist": (
        "Buy goods and services at the right price and terms, and manage supplier relationships.",
        "3+ years in procurement or purchasing; sourcing; supplier negotiation; contract "
        "management; SAP; spend analysis; CIPS or CPSM welcome",
        "Run sourcing events and compare bids; negotiate prices and contracts; manage "
        "supplier performance; analyse spend for savings; keep purchase records in SAP",
    ),
    "Design Systems Lead": (
        "Lead the design system that every product team builds with, in design and in code.",
        "6+ years in product or UI design, 2+ building design systems; Figma; design tokens; "
        "React; accessibility; documentation",
        "Own the component library in Figma and React; define design tokens; set "
        "accessibility standards; document usage; work with teams to adopt the system",
    ),
    "Sales Operations Analyst": (
        "Make the sales team more effective with clean data, accurate forecasts and "
        "useful reports.",
        "2+ years in sales operations or business analysis; Salesforce administration; "
        "sales forecasting; advanced Excel; territory planning; reporting",
        "Maintain Salesforce data and reports; build the weekly forecast; support "
        "territory and quota planning; analyse pipeline trends; train sellers on tools",
    ),
    "Learning and Development Coordinator": (
        "Coordinate training programmes that help employees grow in their roles.",
        "1+ years in training, HR or education; training coordination; LMS "
        "administration; instructional design; needs analysis; facilitation",
        "Schedule and run training sessions; manage the learning management system; "
        "gather training needs from managers; build simple e-learning modules; report on "
        "training completion",
    ),
    "Analytics Engineer": (
        "Turn raw data into well-modelled, tested tables that analysts can rely on.",
        "3+ years in analytics engineering or data analysis; dbt; SQL; Snowflake; data "
        "modeling; Git; Looker",
        "Build and test dbt models in Snowflake; define metrics with analysts; maintain "
        "Looker explores; review SQL changes in Git; document data sources",
    ),
    "Brand Manager": (
        "Own the brand of a consumer product line, from insight to campaign.",
        "6+ years in brand management or marketing; brand strategy; market research; "
        "creative direction; budget planning; consumer insights",
        "Set brand strategy and positioning; commission and use market research; brief "
        "and direct agencies; manage the brand budget; track brand health",
    ),
    "Tax Associate": (
        "Prepare corporate tax returns and research tax questions for our clients.",
        "2+ years in tax preparation or public accounting; corporate tax; tax compliance; "
        "tax research; Excel; CPA or EA progress welcome",
        "Prepare federal and state corporate returns; research tax questions; prepare "
        "workpapers; support tax provision work; keep track of filing deadlines",
    ),
    "Cloud Infrastructure Engineer": (
        "Design and run our cloud infrastructure across AWS and Azure, securely and "
        "at a sensible cost.",
        "3+ years in cloud infrastructure; AWS; Azure; Terraform; networking; Linux; "
        "cost optimization; AWS Solutions Architect or Azure Administrator certification "
        "a plus",
        "Build and maintain cloud networks and services with Terraform; manage access and "
        "security settings; monitor and reduce cloud costs; support migrations; "
        "document the platform",
    ),
    "Office Manager": (
        "Keep our office running smoothly and make it a good place to work.",
        "5+ years in office or facilities management; vendor management; budgeting; "
        "event planning; office administration",
        "Manage facilities, supplies and vendors; track the office budget; plan company "
        "events; welcome visitors and new starters; coordinate health and safety checks",
    ),
    "Embedded Software Engineer": (
        "Write the firmware that runs on our connected devices.",
        "3+ years in embedded software; C; C++; RTOS; embedded Linux; microcontrollers; "
        "debugging with oscilloscopes and JTAG",
        "Develop and test firmware in C and C++; bring up new boards; debug hardware and "
        "software issues; optimise for memory and power; work with hardware engineers",
    ),
    "Backend Engineer": (
        "Build and run the Java services at the core of our payments platform.",
        "3+ years in backend development; Java; Spring Boot; PostgreSQL; REST APIs; "
        "microservices; Kafka",
        "Build and maintain microservices in Java and Spring Boot; design APIs and "
        "database schemas; publish and consume Kafka events; write tests; support "
        "production",
    ),
    "Marketing Operations Specialist": (
        "Run the marketing tools and data that make our campaigns work and measurable.",
        "2+ years in marketing operations; Marketo or HubSpot; marketing automation; "
        "Salesforce integration; reporting; Marketo Certified Expert welcome",
        "Build and maintain campaigns and workflows in the automation platform; keep "
        "lead data clean and synced with Salesforce; build campaign reports; manage the "
        "martech stack",
    ),
    "Business Operations Analyst": (
        "Find where the business can run better, and help make it happen.",
        "2+ years in business analysis, consulting or operations; SQL; Excel; process "
        "mapping; KPI tracking; financial modeling",
        "Map and analyse processes; build KPI dashboards; model the impact of changes; "
        "support planning cycles; present recommendations to leadership",
    ),
    "Registered Nurse": (
        "Care for adult patients on a busy medical-surgical unit, working with physicians "
        "and the wider care team on 12-hour shifts.",
        "2+ years of acute care nursing; active RN licence in the state; BLS certification "
        "(ACLS within six months of hire); patient assessment; medication administration; "
        "care planning; charting in electronic health records (Epic preferred); ADN or BSN",
        "Assess patients and plan their care; give medications and treatments safely; "
        "chart accurately in the electronic health record; teach patients and families "
        "before discharge; escalate changes in a patient's condition",
    ),
    "Medical Assistant": (
        "Keep a busy family practice running: room patients, take vitals and support "
        "the physicians through the day.",
        "1+ years as a medical assistant; CCMA, CMA or RMA certification; vital signs; "
        "phlebotomy; patient intake; electronic health records; appointment scheduling; "
        "BLS certification",
        "Room patients and take vital signs; draw blood and prepare specimens; update "
        "histories and medication lists in the electronic health record; schedule "
        "appointments and referrals; keep exam rooms stocked and clean",
    ),
    "Medical Billing Specialist": (
        "Turn clinic visits into clean insurance claims and get them paid.",
        "2+ years in medical billing; medical coding with ICD-10 and CPT coding; "
        "insurance claims and denials management; Epic or a similar practice system; "
        "CPC or CPB certification preferred",
        "Code visits and submit insurance claims; follow up on unpaid and denied claims; "
        "post payments; answer patients' billing questions; report on denial trends",
    ),
    "Pharmacy Technician": (
        "Help our pharmacists fill prescriptions accurately and serve patients at the "
        "counter and on the phone.",
        "1+ years in a retail or hospital pharmacy; state pharmacy technician "
        "registration; PTCB or ExCPT certification; prescription processing; medication "
        "dispensing; pharmacy software; insurance billing; inventory management",
        "Enter and process prescriptions; count, measure and label medications for the "
        "pharmacist's check; resolve insurance billing rejections; manage stock and "
        "orders; serve patients at the counter",
    ),
    "Clinical Research Coordinator": (
        "Coordinate clinical trials at our research site, from patient recruitment to clean data.",
        "1+ years in clinical research or a clinical setting; Good Clinical Practice (GCP) "
        "certification; clinical trials; patient recruitment and consent; regulatory "
        "documentation; data entry in REDCap; SOCRA or ACRP certification welcome",
        "Screen, recruit and consent study participants; schedule and run study visits; "
        "enter and clean data in REDCap; keep regulatory documentation current; work "
        "with sponsors and monitors",
    ),
    "Product Owner": (
        "Own the backlog of a Scrum team and make sure it builds the most valuable things first.",
        "3+ years as a product owner or business analyst; Scrum; backlog management; "
        "user stories; acceptance criteria; Jira; CSPO or PSPO certification welcome",
        "Maintain and prioritise the backlog; write user stories with acceptance "
        "criteria; run sprint reviews with stakeholders; answer the team's questions "
        "during the sprint; accept completed work",
    ),
}

# What a qualifier adds to its base job's summary: "Data Analyst (Remote)".
QUALIFIER_NOTES: dict[str, str] = {
    "Remote": "This opening is fully remote, with occasional team meetings.",
    "EMEA": "This role covers customers and teams in Europe, the Middle East and Africa.",
    "APAC": "This role covers customers and teams in Asia-Pacific.",
    "North America": "This role covers customers and teams in the United States and Canada.",
    "LATAM": "This role covers customers and teams in Latin America.",
    "Contract": "This is a fixed-term contract of twelve months.",
    "Part-time": "This is a part-time position of about 20 hours a week.",
    "Enterprise": "This role focuses on our enterprise customers.",
    "SMB": "This role focuses on small and medium-sized business customers.",
    "Platform": "This role sits in the platform group, serving internal teams.",
    "Internal Tools": "This role builds and supports the tools our own staff use.",
    "Healthcare": "This role serves our healthcare customers; HIPAA awareness is a plus.",
}
assert set(QUALIFIER_NOTES) == set(QUALIFIERS)


def job_for(title: str) -> dict[str, str]:
    """The jobs-file row of a position title (a qualified title is its base job plus a
    sentence about the qualifier). Raises KeyError for a title the catalog has not."""
    base, qualifier = title, ""
    if title.endswith(")") and " (" in title:
        base, _, rest = title.partition(" (")
        qualifier = rest[:-1]
        if qualifier not in QUALIFIER_NOTES:
            base, qualifier = title, ""
    description, requirements, responsibilities = JOBS[base]
    if qualifier:
        description = f"{description} {QUALIFIER_NOTES[qualifier]}"
    return {
        "title": title,
        "description": description,
        "requirements": requirements,
        "responsibilities": responsibilities,
    }


def job_rows(positions: int = 50) -> list[dict[str, str]]:
    """One row per position the candidates are spread over (position_titles)."""
    return [job_for(title) for title in position_titles(positions)]


def write_jobs_csv(path: str | os.PathLike[str] | IO[str], positions: int = 50) -> int:
    """Write the jobs file of `positions` positions; return how many rows it has. `path` may
    be "-" for stdout or an open text file (opened with newline="")."""
    rows = job_rows(positions)
    if isinstance(path, str) and path == "-":
        return _write(sys.stdout, rows)
    if hasattr(path, "write"):
        return _write(path, rows)  # type: ignore[arg-type]
    with open(path, "w", encoding="utf-8", newline="") as handle:  # type: ignore[arg-type]
        return _write(handle, rows)


def _write(handle: IO[str], rows: list[dict[str, str]]) -> int:
    writer = csv.DictWriter(handle, fieldnames=JOB_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)
