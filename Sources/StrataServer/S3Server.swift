// Server entry point comes next.
