"""Word lists of the demo generator: our product line, people, organisations, places.

Everything here is invented except the competitors, which come from the reference price
data (see :mod:`data.reference`). Kept apart from the templates so each file has one concern.
"""

from __future__ import annotations

#: Our company and product line (invented).
OUR_COMPANY = "Tessellate AI"
OUR_COMPANY_SHORT = "Tessellate"
OUR_PRODUCTS = (
    "Tessera Chat", "Tessera Chat Mini", "Tessera Embed", "Tessera Vision", "Tessera Batch API",
    "Tessera Agents", "Tessera Guard", "Tessera Voice", "Tessera Code", "Tessera Rerank",
)
OUR_PRODUCTS_CASUAL = ("Tessera", "Tessera chat", "tessera-chat", "tessera embed", "Batch API",
                       "Tessera API", "tessera-code")

INDUSTRIES = (
    "Fintech", "Healthcare", "E-commerce", "Legal", "Education", "Media", "Logistics", "Gaming",
    "SaaS", "Public sector", "Manufacturing", "Travel",
)
INDUSTRY_SUFFIX = {
    "Fintech": ("Capital", "Pay", "Bank", "Finance", "Ledger"),
    "Healthcare": ("Health", "Clinics", "Medical", "Care", "Bio"),
    "E-commerce": ("Shop", "Retail", "Commerce", "Market", "Goods"),
    "Legal": ("Legal", "Law Partners", "Compliance", "Counsel", "Notary"),
    "Education": ("Learning", "Academy", "Education", "Tutors", "School"),
    "Media": ("Media", "Studios", "News", "Publishing", "Broadcast"),
    "Logistics": ("Logistics", "Freight", "Shipping", "Transport", "Cargo"),
    "Gaming": ("Games", "Interactive", "Play", "Arcade", "Studios"),
    "SaaS": ("Software", "Cloud", "Labs", "Systems", "Analytics"),
    "Public sector": ("Council", "Agency", "Authority", "Institute", "Services"),
    "Manufacturing": ("Industries", "Manufacturing", "Robotics", "Works", "Machines"),
    "Travel": ("Travel", "Tours", "Hotels", "Airways", "Journeys"),
}
COMPANY_PREFIX = (
    "Northwind", "Bluefin", "Crescent", "Helio", "Quarry", "Redwood", "Lumen", "Granite",
    "Silverline", "Kestrel", "Harbor", "Aurora", "Maple", "Cobalt", "Juniper", "Falcon",
    "Orchid", "Summit", "Willow", "Atlas", "Beacon", "Cedar", "Delta", "Ember", "Fjord",
    "Glacier", "Horizon", "Indigo", "Jade", "Kite", "Lagoon", "Meridian", "Nimbus", "Onyx",
    "Pioneer", "Quantum", "Riverstone", "Sequoia", "Tundra", "Umber", "Vertex", "Wavecrest",
    "Zephyr", "Saffron", "Pinecone", "Copperleaf", "Starling", "Bramble", "Oakridge", "Tidewater",
)
COMPANY_FORM = ("", "", "", "", " Inc", " Ltd", " GmbH", " AG", " BV", " SAS", " Pte Ltd", " LLC")

SEGMENT_WEIGHTS = {"enterprise": 0.22, "scaleup": 0.26, "smb": 0.28, "developer": 0.24}

REGIONS = ("North America", "Europe", "Asia-Pacific", "Latin America", "Middle East & Africa")
REGION_WEIGHTS = (0.36, 0.32, 0.18, 0.08, 0.06)
CITIES = {
    "North America": ("Toronto", "Austin", "Chicago", "Seattle", "New York", "Vancouver",
                      "Denver", "Boston", "San Francisco", "Montreal", "Atlanta"),
    "Europe": ("Berlin", "Paris", "Amsterdam", "Dublin", "Madrid", "Warsaw", "Stockholm",
               "Lisbon", "Zürich", "Milan", "London", "Munich", "Copenhagen", "Tallinn"),
    "Asia-Pacific": ("Singapore", "Sydney", "Tokyo", "Bangalore", "Seoul", "Jakarta", "Manila",
                     "Auckland", "Hong Kong", "Melbourne", "Ho Chi Minh City", "Taipei"),
    "Latin America": ("São Paulo", "Bogotá", "Buenos Aires", "Santiago", "Lima", "Mexico City",
                      "Monterrey", "Montevideo"),
    "Middle East & Africa": ("Lagos", "Nairobi", "Cairo", "Dubai", "Johannesburg", "Riyadh",
                             "Casablanca", "Tel Aviv", "Accra"),
}
COUNTRIES = {
    "North America": ("Canada", "the United States", "USA", "Texas", "California", "Ontario"),
    "Europe": ("Germany", "France", "the Netherlands", "Ireland", "Spain", "Poland", "Sweden",
               "Portugal", "Switzerland", "Italy", "the UK", "Denmark", "Estonia"),
    "Asia-Pacific": ("Singapore", "Australia", "Japan", "India", "South Korea", "Indonesia",
                     "the Philippines", "New Zealand", "Vietnam", "Taiwan"),
    "Latin America": ("Brazil", "Colombia", "Argentina", "Chile", "Peru", "Mexico", "Uruguay"),
    "Middle East & Africa": ("Nigeria", "Kenya", "Egypt", "the UAE", "South Africa",
                             "Saudi Arabia", "Morocco", "Israel", "Ghana"),
}

FIRST_NAMES = (
    "Anna", "Ben", "Carlos", "Chloé", "Daniel", "Dmitri", "Elena", "Emeka", "Fatima", "Felix",
    "Grace", "Hiroshi", "Ingrid", "Jamal", "Jana", "Kai", "Laura", "Li", "Lucas", "Maria",
    "Mateo", "Mei", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rahul", "Rosa", "Sanjay",
    "Sara", "Sofia", "Tomás", "Uma", "Valentina", "Wei", "Yusuf", "Zoe", "Aisha", "Björn",
    "Chen", "Diego", "Ewa", "Farid", "Giulia", "Hannah", "Ivan", "Joon", "Kwame", "Leila",
    "Marco", "Nkechi", "Oscar", "Pablo", "Quinn", "Ravi", "Siobhan", "Thabo", "Yuki", "Zainab",
)
LAST_NAMES = (
    "Müller", "Smith", "García", "Nguyen", "Okafor", "Kowalski", "Tanaka", "Patel", "Silva",
    "Johansson", "Rossi", "Dubois", "Kim", "Ivanova", "Haddad", "Mensah", "O'Brien",
    "van der Berg", "Fernández", "Chen", "Schneider", "Novak", "Costa", "Andersen", "Sato",
    "Gupta", "Mwangi", "Lefebvre", "Yilmaz", "Nowak", "Murphy", "Santos", "Lindqvist",
    "Abdullah", "Romano", "Kaur", "Wong", "Becker", "Moreau", "Hernández", "Adeyemi", "Park",
    "Jensen", "Ali", "Fischer", "Laurent", "Costa", "Ortiz", "Walker", "Bianchi",
)
#: Our own support agents and account managers (also people).
AGENTS = ("Marta Lindgren", "Tobias Reed", "Aiyana Cruz", "Kenji Mori", "Lucía Vargas",
          "Samir Haddad", "Beatrix Kovacs", "Owen Fletcher")

#: Other organisations customers mention (partners, tools, auditors, regulators).
OTHER_ORGS = (
    "Stripe", "Salesforce", "Zendesk", "Snowflake", "Datadog", "HubSpot", "Shopify", "Deloitte",
    "KPMG", "PwC", "Visa", "PayPal", "GitHub", "Atlassian", "Twilio", "Cloudflare", "Vercel",
    "European Commission", "Accenture", "Databricks", "MongoDB", "Okta",
)
#: Other products customers mention (not ours, not LLMs).
OTHER_PRODUCTS = (
    "Excel", "Slack", "Jira", "Postman", "LangChain", "Zapier", "Power BI", "Tableau",
    "Google Sheets", "Notion", "Kubernetes", "Terraform", "Airflow", "Microsoft Teams",
)

#: Competitor models as people write them (vendor id → surface forms, PRODUCT label).
COMPETITOR_MODELS = {
    "openai": ("GPT-4o", "GPT-4o mini", "gpt-4o", "GPT-4.1", "GPT-5", "gpt-5-mini", "ChatGPT",
               "o3", "o4-mini", "GPT-5.6 Luna", "GPT-5.6 Terra", "gpt-5.6-luna", "GPT-5.5"),
    "anthropic": ("Claude", "Claude 3.5 Sonnet", "Claude Sonnet 4.5", "claude-3.5-haiku",
                  "Claude Opus 4", "Claude Sonnet 5", "Claude Haiku 4.5", "claude sonnet"),
    "deepseek": ("DeepSeek-V3", "DeepSeek Chat", "deepseek-chat", "DeepSeek R1",
                 "deepseek-reasoner", "DeepSeek V4 Flash", "DeepSeek V4 Pro"),
    "google": ("Gemini 2.5 Flash", "Gemini 2.5 Pro", "gemini-2.0-flash", "Gemini",
               "Gemini 3 Pro", "gemini-2.5-flash-lite", "Gemini 3.5 Flash"),
    "mistral": ("Mistral Large", "Mistral Small", "Codestral", "mistral-medium", "Mixtral 8x22B",
                "Ministral 8B"),
    "moonshot-ai": ("Kimi K2", "kimi-k2-turbo", "Kimi K2 Thinking", "Kimi"),
    "qwen": ("Qwen3 Max", "Qwen3.6 Plus", "qwen3.5-flash", "Qwen"),
    "xai": ("Grok 4", "Grok 3 Mini", "grok-4-fast", "Grok"),
    "meta-ai": ("Llama 4", "Muse Spark", "llama-3.3-70b"),
    "amazon": ("Nova Pro", "Amazon Nova Lite", "Nova Micro"),
    "minimax": ("MiniMax M2", "minimax-m2"),
}
#: Competitor organisation names as people write them (ORG label).
COMPETITOR_ORGS = {
    "openai": ("OpenAI", "openai", "Open AI"),
    "anthropic": ("Anthropic", "anthropic"),
    "deepseek": ("DeepSeek", "Deepseek", "deepseek"),
    "google": ("Google", "Google Cloud", "Google DeepMind"),
    "mistral": ("Mistral AI", "Mistral", "mistral"),
    "moonshot-ai": ("Moonshot AI", "Moonshot"),
    "qwen": ("Alibaba Cloud", "Alibaba", "Qwen team"),
    "xai": ("xAI",),
    "meta-ai": ("Meta",),
    "amazon": ("AWS", "Amazon"),
    "minimax": ("MiniMax",),
}
#: How often each competitor comes up when one does (market presence).
COMPETITOR_WEIGHTS = {
    "openai": 0.30, "anthropic": 0.17, "deepseek": 0.15, "google": 0.13, "mistral": 0.06,
    "moonshot-ai": 0.04, "qwen": 0.05, "xai": 0.03, "meta-ai": 0.03, "amazon": 0.03,
    "minimax": 0.01,
}
