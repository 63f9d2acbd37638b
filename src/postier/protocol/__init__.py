"""postier's protocol cores, sans I/O: bytes in, events and bytes out, never a socket or a file.

`smtp` is SMTP's (RFC 5321 and its extensions), for the server and the client alike; a
core for each further protocol sits beside it.
"""
