"""Reference training recipes: readable scripts a user can copy."""
