"""Landing (DESIGN §4): books reduced at the edge, then each slot copied into the raw schema in one transaction."""
