"""Writing a batch's prompts with a chat model: from a design goal, examples and fixed settings
to rows in the template's columns that validate."""
