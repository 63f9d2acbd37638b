"""postier's protocol cores, sans I/O: bytes in, events and bytes out, never a socket or a file.

`smtp` is SMTP's (RFC 5321 and its extensions), for the server and the client alike;
`pop3` is POP3's server (RFC 1939 and its extensions). What they truly share sits
beside them: the bounded line reading (`receive_buffer`) and the SASL mechanisms (`sasl`).
"""
