"""One package per grant: its rules (pure), its storage interface and its token-endpoint glue."""
