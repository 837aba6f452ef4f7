"""Money: the price table, what a batch costs, and each person's monthly budget."""
