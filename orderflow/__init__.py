"""orderflow: the checkout brain of storefront services on Centra."""
