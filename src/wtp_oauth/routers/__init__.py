"""HTTP routers, one per concern. Thin: parse, call one service, render."""
