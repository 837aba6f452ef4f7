"""The batch sheet: its columns, rules, validation, template and result columns (pure, no I/O)."""
