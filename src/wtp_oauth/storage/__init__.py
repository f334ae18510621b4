"""Storage behind the OAuth core's interfaces: one package per database."""
