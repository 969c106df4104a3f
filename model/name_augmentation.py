"""Real names in generated training tickets (training-time augmentation).

The generated gold tickets (``data.demo``) name a small made-up set of competitor models and
vendors; :func:`augment_ticket_names` swaps many of them for real model, product and vendor
names from ``data/reference`` (and common SaaS products), so that the tagger learns names
in context rather than a fixed list. Training data only: the tagger never looks names up.
"""

from __future__ import annotations

from collections.abc import Iterable

from model.datasets import Span

__all__ = [
    "EXTRA_ORGS",
    "PLATFORM_PRODUCTS",
    "SAAS_PRODUCTS",
    "add_platform_mentions",
    "augment_ticket_names",
    "domain_names",
]

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

PLATFORM_PRODUCTS: tuple[str, ...] = (
    "iPhone",
    "iPhone 15 Pro",
    "iPhone 13",
    "iPad",
    "iPad Air",
    "MacBook Air",
    "MacBook Pro",
    "Mac mini",
    "iMac",
    "Apple Watch",
    "Android",
    "Android 14",
    "iOS",
    "iOS 17",
    "iPadOS",
    "macOS",
    "macOS Sonoma",
    "Windows 11",
    "Windows 10",
    "Windows Server 2022",
    "Ubuntu",
    "Ubuntu 22.04",
    "Debian 12",
    "Fedora",
    "ChromeOS",
    "Chromebook",
    "Chrome",
    "Google Chrome",
    "Safari",
    "Firefox",
    "Microsoft Edge",
    "Brave",
    "Opera",
    "Pixel 8",
    "Galaxy S24",
    "Galaxy Tab S9",
    "Surface Pro",
    "ThinkPad X1 Carbon",
    "Dell XPS 13",
    "Kindle",
    "Fire TV",
    "Xbox Series X",
    "PlayStation 5",
    "PS5",
    "Nintendo Switch",
    "Steam Deck",
    "Raspberry Pi",
    "WhatsApp",
    "Telegram",
    "WeChat",
    "Zoom",
    "Spotify",
    "Instagram",
)
"""Devices, operating systems, browsers and consumer apps a support ticket names (PRODUCT)."""

PLATFORM_SENTENCES: tuple[str, ...] = (
    "It happens on my {0} too.",
    "I'm on {0}.",
    "Same result in {0}.",
    "Tested on {0} and {1}.",
    "We reproduced it on {0}.",
    "The dashboard does not load in {0}.",
    "Our team mostly works from {0}.",
    "The app crashes on {0} but not on {1}.",
)
"""Sentences :func:`add_platform_mentions` puts into a ticket (``{0}``, ``{1}``: names)."""

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


def add_platform_mentions(tickets: Iterable[object], *, seed: int, share: float) -> list:
    """Generated tickets, a ``share`` of them with one sentence naming the client's device,
    operating system, browser or app (:data:`PLATFORM_PRODUCTS`, tagged ``PRODUCT``) put in
    after their first sentence (or at the end); the other spans moved, the sentiment kept.

    Support tickets name the platform a problem shows on ("crashes on my iPhone 13"); the
    generated ones name only models and SaaS products. Training data only. An all-lower-case
    or all-upper-case ticket gets the sentence in its case. Returns ``data.demo.GoldTicket``
    objects.
    """
    import random
    import re

    from data.demo import GoldTicket

    rng = random.Random(seed)
    out = []
    for t in tickets:
        text, spans = t.text, sorted(t.spans)  # type: ignore[attr-defined]
        sentiment = getattr(t, "sentiment", None)
        if rng.random() >= share:
            out.append(GoldTicket(text, tuple(spans), sentiment))
            continue
        template = rng.choice(PLATFORM_SENTENCES)
        names = rng.sample(PLATFORM_PRODUCTS, 2)
        lower = text == text.lower() != text.upper()
        upper = text == text.upper() != text.lower()
        pieces, new_spans, pos = [], [], 0
        for literal, slot in re.findall(r"([^{]*)(?:\{(\d)\})?", template):
            pieces.append(literal)
            pos += len(literal)
            if slot:
                name = names[int(slot)]
                new_spans.append((pos, pos + len(name), "PRODUCT"))
                pieces.append(name)
                pos += len(name)
        sentence = "".join(pieces)
        sentence = sentence.lower() if lower else sentence.upper() if upper else sentence
        ends = [m.end() + 1 for m in re.finditer(r"[.!?](?= )", text)]
        free = [a for a in ends if not any(s < a < e for s, e, _ in spans)]
        at = free[0] if free else len(text)
        insert = sentence + " " if free else " " + sentence
        offset = at if free else at + 1
        moved = [
            (s + len(insert), e + len(insert), lb) if s >= at else (s, e, lb) for s, e, lb in spans
        ]
        added = [(s + offset, e + offset, lb) for s, e, lb in new_spans]
        out.append(
            GoldTicket(text[:at] + insert + text[at:], tuple(sorted(moved + added)), sentiment)
        )
    return out
