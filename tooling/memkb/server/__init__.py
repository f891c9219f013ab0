"""`memkb mcp`: memkb as a Model Context Protocol server (docs/mcp.md).

`calls` does each tool's work with the core alone; `app` puts it on the MCP SDK, which
is an optional extra (`pip install 'memkb[mcp]'`): only `memkb.server.app` imports it,
so `import memkb` and every other command run without it."""
