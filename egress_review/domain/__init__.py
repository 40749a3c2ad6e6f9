"""The airlock's rules: states, transitions, who may act, and the errors they raise.

Nothing here touches the database, the disk or the web: the services apply
these rules and the web layer maps their exceptions to HTTP.
"""
