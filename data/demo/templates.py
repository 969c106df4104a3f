"""Sentence templates of the demo tickets.

Slots in braces are filled by :mod:`data.demo.text`. Entity slots (labelled spans):
``{author}``, ``{author_first}``, ``{agent}``, ``{agent_first}``, ``{person}``,
``{person_first}`` → PER; ``{customer}``, ``{our_org}``, ``{org}``, ``{vendor}`` → ORG;
``{product}``, ``{model}``, ``{model2}``, ``{tool}`` → PRODUCT; ``{city}``, ``{city2}``,
``{country}`` → LOC. Other slots (``{email}``, ``{order}``, ``{invoice}``, ``{amount}``,
``{price}``, ``{cprice}``, ``{pct}``, ``{num}``, ``{code}``, ``{latency}``, ``{reqid}``,
``{date}``, ``{month}``, ``{role}``, ``{plan}``) are plain text.
"""

from __future__ import annotations

CATEGORIES = (
    "billing", "pricing", "api_error", "latency", "rate_limit", "account", "integration",
    "feature_request", "data_privacy", "cancellation",
)
#: Base share of each category (pricing and cancellation rise with competitor mentions).
CATEGORY_WEIGHTS = (0.16, 0.10, 0.17, 0.10, 0.10, 0.09, 0.10, 0.08, 0.05, 0.05)

SUBJECTS = {
    "billing": ("Invoice question", "Wrong amount on invoice {invoice}", "Double charge?",
                "billing issue", "Refund request", "VAT missing on invoice",
                "Card declined but service still running", "Credit note for {month}"),
    "pricing": ("Pricing question", "Volume discount?", "Price change on our plan",
                "Cheaper plan?", "pricing vs competitors", "Quote for higher volume",
                "Committed-use discount", "Why did our bill go up"),
    "api_error": ("API returning {code}", "Errors on /v1/chat", "{code} errors since this morning",
                  "Intermittent failures", "Streaming cuts off", "Invalid JSON from the API",
                  "SDK throws exception", "URGENT: production down"),
    "latency": ("Slow responses", "Latency spike", "Timeouts from the API",
                "Response times doubled", "p95 latency too high", "slow first token"),
    "rate_limit": ("Rate limit too low", "429 Too Many Requests", "Quota increase request",
                   "Hitting TPM limit", "Need higher limits for launch"),
    "account": ("Cannot log in", "Add a new admin", "SSO set-up", "API key rotation",
                "Change account owner", "2FA reset", "Team seats"),
    "integration": ("Integration help", "Webhook not firing", "Connecting to our CRM",
                    "SDK question", "Batch API job stuck", "Embedding dimensions mismatch"),
    "feature_request": ("Feature request", "Support for function calling?",
                        "Please add data residency", "Longer context window?",
                        "Fine-tuning availability", "Idea: usage alerts"),
    "data_privacy": ("DPA request", "GDPR question", "Data retention", "Where is our data stored",
                     "Security questionnaire", "Subprocessor list"),
    "cancellation": ("Cancel subscription", "Downgrade request", "We are leaving",
                     "Contract termination", "Pause our account", "Not renewing"),
}

GREETINGS = (
    "Hi,", "Hello,", "Hi there,", "Dear support team,", "Hey", "Good morning,", "hi team",
    "Hello {agent_first},", "Hi {agent_first}", "Dear {our_org} team,", "To whom it may concern,",
    "Hallo,", "Hi support", "Good afternoon,", "Hey folks,", "Dear {agent},",
)

INTROS = (
    "I'm {author}, {role} at {customer}.",
    "This is {author_first} from {customer}.",
    "My name is {author} and I look after the AI platform at {customer}.",
    "We are a {industry} company based in {city}, {country}.",
    "Writing on behalf of {customer} ({city}).",
    "{author_first} here, {role} at {customer} in {city}.",
    "I manage our {product} integration at {customer}.",
    "Our team in {city} has been using {product} since {month}.",
    "We're a small team at {customer} and we rely on {product} for most of our features.",
)

CORE = {
    "billing": (
        "Our invoice {invoice} shows {amount} but our usage dashboard says much less.",
        "We were charged twice for {month}, see order {order}.",
        "Could you send a corrected invoice with our VAT number? Our finance team in {city} needs it.",
        "The card on file was declined, but {product} kept running; please tell us what we owe.",
        "Can we switch from card payment to bank transfer? {person} from finance asked.",
        "I think the {plan} plan discount was not applied on invoice {invoice}.",
        "please refund order {order}, it was a test by mistake",
        "Our auditors at {org} need a breakdown of the {amount} charge by project.",
        "Why is there a line called 'overage' on the last invoice? We never went over {num}M tokens.",
        "We need invoices addressed to our entity in {country}, not the parent company.",
    ),
    "pricing": (
        "Do you offer volume discounts above {num}M tokens a month?",
        "Our bill went up {pct} last month even though traffic was flat.",
        "What is the price per million tokens on the {plan} plan now? The page says {price}.",
        "We would like a quote for a committed-use contract for {product}.",
        "Is the new price for {product} going to apply to our existing contract?",
        "We are budgeting for next year and need to know if prices will drop again.",
        "For a startup like ours {price} per million tokens is hard to justify.",
        "Can {agent} call me about pricing? We are growing fast in {country}.",
        "We are comparing plans: is {plan} still the best deal for roughly {num}M tokens per day?",
    ),
    "api_error": (
        "Since {date} about {pct} of our calls to {product} fail with HTTP {code}.",
        "We get error {code} on the chat endpoint, request id {reqid}.",
        "Streaming responses from {product} stop half-way through, no error message.",
        "The API returned invalid JSON in function-calling mode (request {reqid}).",
        "production is down!!! every request returns {code}",
        "After upgrading the SDK we see 'connection reset' errors from our servers in {city}.",
        "Some responses come back empty with finish_reason=length even for short prompts.",
        "Our nightly job through the {product} failed at {num}% with a {code}.",
        "{tool} shows a spike of {code} errors from your endpoint since yesterday evening.",
    ),
    "latency": (
        "Latency for {product} doubled this week: p95 is {latency} now.",
        "Time to first token is around {latency} from {city}, it used to be much faster.",
        "We see timeouts at {latency} during European business hours.",
        "Is there an incident? Responses take {latency} on average.",
        "Our users in {country} complain that the assistant is slow.",
        "Can we get a dedicated region closer to {city}? Latency is {latency}.",
    ),
    "rate_limit": (
        "We keep hitting 429 Too Many Requests at about {num} requests per minute.",
        "Please raise our tokens-per-minute limit, we launch in {country} on {date}.",
        "Our rate limit is lower than the {plan} plan promises.",
        "The batch queue for {product} is stuck because of the limit.",
        "We need {num}k RPM for a marketing campaign with {org}, is that possible?",
    ),
    "account": (
        "I cannot log in, the 2FA code never arrives at {email}.",
        "Please add {person} ({email}) as an admin on our account.",
        "How do we set up SSO with {org} for our team in {city}?",
        "One of our API keys may have leaked in a public repo, please revoke it.",
        "{person_first} left the company, please transfer ownership to me.",
        "We need {num} more seats for the {plan} plan.",
    ),
    "integration": (
        "Our webhook for completed batch jobs never fires.",
        "How do we connect {product} to {tool}? The docs example fails.",
        "Embeddings from {product} have a different dimension than documented.",
        "We are migrating from {tool} and need help with the {product} SDK.",
        "Is there an official connector for {org}?",
        "The Python SDK raises a TypeError when we pass tools to {product}.",
    ),
    "feature_request": (
        "Would love to see data residency options, ideally a region in {country}.",
        "Please add usage alerts by email when we reach {pct} of budget.",
        "Any plans for a longer context window in {product}?",
        "Fine-tuning for {product} would make us move more traffic to you.",
        "Can the dashboard export usage as CSV for {tool}?",
        "It would help if {product} supported structured outputs with a JSON schema.",
    ),
    "data_privacy": (
        "Can you send us your DPA and subprocessor list? Our legal team at {customer} needs it.",
        "Where is our data stored and for how long? We have customers in {country}.",
        "Do you train on our prompts? Our DPO {person} is asking.",
        "Please complete the attached security questionnaire from {org}.",
        "We need confirmation that data stays in {country}, our regulator in {city} asked.",
    ),
    "cancellation": (
        "We want to cancel our subscription at the end of {month}.",
        "Please downgrade us from {plan} to the cheapest plan.",
        "We decided not to renew the contract, please confirm the end date.",
        "Can we pause the account for three months instead of cancelling?",
        "Management asked us to cut AI costs, so we are winding down {product}.",
    ),
}

#: Sentences that mention a competitor ({vendor} ORG, {model} PRODUCT, {cprice} their price).
COMPETITOR = (
    "{vendor} just cut prices and {model} is now {cprice} per million tokens.",
    "We are testing {model} from {vendor} as an alternative.",
    "Honestly {model} is cheaper for the same quality.",
    "Our CTO wants to move everything to {model} unless you can match their price.",
    "{vendor} offered us credits to switch, can you do something similar?",
    "Compared to {model} your pricing is {pct} higher.",
    "We benchmarked {product} against {model} and {model2}; yours is the most expensive.",
    "Why should we stay when {vendor} charges {cprice}?",
    "Our team in {city} already moved some workloads to {vendor}.",
    "with the {vendor} price drop we need to revisit our contract",
    "If you can't get closer to {model} pricing we will have to switch.",
    "{model} handles our use case fine and costs a fraction.",
    "A consultant from {org} recommended {model} for cost reasons.",
    "We like {product} better than {model}, but the price gap is too big now.",
    "Is a price cut planned? Everyone is talking about {vendor} and {model}.",
)

EXTRAS = (
    "Our order number is {order}.",
    "Reference: {order}",
    "You can reach me at {email}.",
    "{person} from our data team is in copy.",
    "This affects our customers in {city} and {city2}.",
    "We use {tool} to monitor this.",
    "Our contract was signed by {person} in {month}.",
    "Happy to jump on a call, I'm in {city} time zone.",
    "Ticket from last week was handled by {agent}, maybe they remember the context.",
    "Our partner {org} is also affected.",
    "See the screenshot from {tool}.",
    "(sorry for the long message)",
    "This is blocking our release.",
    "not urgent but would be good to know",
)

CLOSINGS = (
    "Thanks", "Thanks in advance!", "Any help appreciated.", "Please advise.", "Cheers",
    "Thank you!", "Best regards,", "Kind regards,", "thx", "Looking forward to your reply.",
    "Regards", "Best,", "Many thanks,",
)

SIGNATURES = (
    "{author}", "{author_first}", "{author}\n{role}, {customer}", "-- {author_first}",
    "{author}\n{customer}\n{email}", "{author_first} ({customer})", "{author} | {city}",
)

ROLES = ("CTO", "head of engineering", "developer", "product manager", "data scientist",
         "finance manager", "IT admin", "founder", "ML engineer", "operations lead",
         "procurement", "support lead")
