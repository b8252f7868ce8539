"""faq micromodel: answers a customer's question from its policy file, or says it has none."""
