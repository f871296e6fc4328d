"""Identity resolution: which customer records are one person (``segmint dedupe``).

Between ``clean`` and ``features``: Splink links the cleaned customer records within and
across sources (a Shopify customer, a Mailchimp subscriber, a HubSpot contact), and the
identity map (``customer_id → person_id``) lets every later stage work on persons.
See docs/identity.md.
"""
