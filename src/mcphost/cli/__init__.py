"""The ``mcphost`` command line (alias ``mcpctl``). Heavy imports happen inside commands to keep startup fast."""
