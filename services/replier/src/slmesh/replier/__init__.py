"""replier micromodel: a short, polite reply to a customer's message on its topic (small model)."""
