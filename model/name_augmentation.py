"""Real names in generated training tickets (training-time augmentation).

The generated gold tickets (``data.demo``) name a small made-up set of competitor models and
vendors; :func:`augment_ticket_names` swaps many of them for real model, product and vendor
names from ``data/reference`` (and common SaaS products), so that the tagger learns names
in context rather than a fixed list. Training data only: the tagger never looks names up.
"""

from __future__ import annotations

from collections.abc import Iterable

from model.datasets import Span

__all__ = ["EXTRA_ORGS", "SAAS_PRODUCTS", "augment_ticket_names", "domain_names"]

SAAS_PRODUCTS: tuple[str, ...] = (
    "HubSpot CRM",
    "Salesforce Service Cloud",
    "Sales Cloud",
    "Zendesk Suite",
    "Intercom",
    "Freshdesk",
    "Microsoft Teams",
    "Slack",
    "Jira",
    "Jira Service Management",
    "Confluence",
    "GitHub Actions",
    "GitLab CI",
    "VS Code",
    "Visual Studio Code",
    "Postman",
    "Docker",
    "Docker Desktop",
    "Kubernetes",
    "Terraform",
    "Airflow",
    "dbt Cloud",
    "BigQuery",
    "Redshift",
    "Snowflake Cortex",
    "Power BI",
    "Tableau",
    "Looker",
    "Looker Studio",
    "Segment",
    "Zapier",
    "n8n",
    "Make.com",
    "LangChain",
    "LlamaIndex",
    "Pinecone",
    "Weaviate",
    "Supabase",
    "Firebase",
    "Next.js",
    "Shopify Plus",
    "Stripe Checkout",
    "Twilio Flex",
    "Notion",
    "Airtable",
    "Google Sheets",
    "Excel",
    "Datadog APM",
    "Sentry",
    "PagerDuty",
    "Grafana",
    "Auth0",
    "MuleSoft",
    "Workato",
    "SAP S/4HANA",
    "NetSuite",
    "QuickBooks Online",
    "Xero",
    "Outlook",
    "Gmail",
    "Google Drive",
    "Dropbox",
    "Figma",
    "Miro",
    "Asana",
    "Trello",
    "Monday.com",
    "ClickUp",
    "Linear",
    "Cursor",
    "GitHub Copilot",
    "Power Automate",
    "Azure OpenAI Service",
    "Amazon Bedrock",
    "Vertex AI",
    "Elasticsearch",
    "Kafka",
    "PostgreSQL",
    "MongoDB Atlas",
    "Redis",
    "Cloudflare Workers",
    "Vercel AI SDK",
)
"""Common SaaS and developer products (PRODUCT), in their usual spellings."""

EXTRA_ORGS: tuple[str, ...] = (
    "Cohere",
    "AI21 Labs",
    "Perplexity",
    "Hugging Face",
    "Together AI",
    "Fireworks AI",
    "Groq",
    "Nvidia",
    "Microsoft",
    "IBM",
    "Oracle",
    "Samsung",
    "Naver",
    "Zhipu AI",
    "ByteDance",
    "Baidu",
    "Tencent",
    "iFlytek",
    "StepFun",
    "Baichuan",
    "Xiaomi",
)


def domain_names() -> tuple[list[str], list[str]]:
    """``(products, orgs)``: real model and vendor names from ``data/reference`` (the price
    files' model ids and names, the Chinese vendors' models and names, the aliases' vendor
    names) plus :data:`SAAS_PRODUCTS` and :data:`EXTRA_ORGS`."""
    from data import competitor_names, reference

    products: list[str] = []
    orgs: list[str] = []
    models = reference.competitor_models()
    for value in [*models["model_id"].tolist(), *models["model_name"].tolist()]:
        if value and not any(c in value for c in "≤>()"):
            products.append(value)
    for model in reference.cn_file().get("models", []):
        for value in (model.get("id"), model.get("name")):
            if value and not any(c in value for c in "≤>()"):
                products.append(value)
        orgs.append(reference.vendor_display(model.get("vendor_id", "")))
    orgs += sorted(set(competitor_names.competitor_aliases().values()))
    orgs += list(EXTRA_ORGS)
    return sorted(set(products)), sorted({o for o in orgs if o})


def augment_ticket_names(tickets: Iterable[object], *, seed: int, share: float = 0.5) -> list:
    """Generated tickets with many of their competitor model, product and vendor names
    replaced by real names from ``data/reference`` (and common SaaS products), spans moved.

    A ``PRODUCT`` span is replaced with probability ``share`` (by a real model name, or one
    time in four by a SaaS product), an ``ORG`` span naming a competitor vendor (as
    ``data.demo.vocab.COMPETITOR_ORGS`` writes them) with probability ``share`` by a real
    vendor name. An all-lower-case or all-upper-case ticket gets the name in its case. This
    is training data only: the tagger learns names in context, it does not look them up.
    Returns ``data.demo.GoldTicket`` objects.
    """
    import random

    from data.demo import GoldTicket, vocab

    products, orgs = domain_names()
    competitor_orgs = {n for names in vocab.COMPETITOR_ORGS.values() for n in names}
    rng = random.Random(seed)
    out = []
    for t in tickets:
        text, spans = t.text, sorted(t.spans)  # type: ignore[attr-defined]
        lower = text == text.lower() != text.upper()
        upper = text == text.upper() != text.lower()
        pieces: list[str] = []
        new_spans: list[Span] = []
        pos = shift = 0
        for start, end, label in spans:
            name = None
            if label == "PRODUCT" and rng.random() < share:
                name = rng.choice(SAAS_PRODUCTS) if rng.random() < 0.25 else rng.choice(products)
            elif label == "ORG" and text[start:end] in competitor_orgs and rng.random() < share:
                name = rng.choice(orgs)
            if name is not None and start >= pos:
                name = name.lower() if lower else name.upper() if upper else name
                pieces.append(text[pos:start])
                pieces.append(name)
                new_spans.append((start + shift, start + shift + len(name), label))
                shift += len(name) - (end - start)
                pos = end
            else:
                new_spans.append((start + shift, end + shift, label))
        pieces.append(text[pos:])
        out.append(GoldTicket("".join(pieces), tuple(new_spans), getattr(t, "sentiment", None)))
    return out
