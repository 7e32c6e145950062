"""Landing (docs/architecture.md#landing-contract): books reduced at the edge, then each slot copied into the raw
schema in one transaction."""
