"""vat-rates micromodel: EU VAT rates by country (deterministic)."""
