#!/usr/bin/python3
"""A real SMTP server for the `notify` tests (aiosmtpd, Debian's python3-aiosmtpd).

    /usr/bin/python3 tests/smtp/server.py --dir DIR [--refuse ADDR]... [--drop ADDR]...
        [--tempfail ADDR:N]... [--cert PEM --key PEM [--require-starttls]]
        [--auth USER:PASSWORD_ENV]

Listens on 127.0.0.1 on a free port and prints one JSON line, {"port": N}, then serves until
its stdin closes (the test ends) or it gets SIGTERM. Every message it accepts is written to
DIR as NNN.eml, with the envelope beside it as NNN.json ({"from", "to"}). Per recipient it can
refuse with 550 (--refuse), answer 451 for the first N attempts (--tempfail), or drop the
connection in the middle of DATA, after reading part of the message and before answering
(--drop). With --cert/--key it offers STARTTLS; --require-starttls refuses mail before it.
--auth requires a login whose password is in the named environment variable (over TLS only).
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, folder, refuse, drop, tempfail):
        self.folder = folder
        self.refuse = {a.lower() for a in refuse}
        self.drop = {a.lower() for a in drop}
        self.tempfail = {}
        for spec in tempfail:
            addr, n = spec.rsplit(":", 1)
            self.tempfail[addr.lower()] = int(n)
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        a = address.lower()
        if a in self.refuse:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if self.tempfail.get(a, 0) > 0:
            self.tempfail[a] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(a.lower() in self.drop for a in envelope.rcpt_tos):
            # The whole message arrived, but the client never hears back: to it the
            # connection dropped in the middle of the DATA exchange.
            session.peer_dropped = True
            server.transport.abort()
            return "421 dropped"
        self.count += 1
        base = os.path.join(self.folder, "%03d" % self.count)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK queued as %03d" % self.count


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--drop", action="append", default=[])
    p.add_argument("--tempfail", action="append", default=[])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    handler = Handler(a.dir, a.refuse, a.drop, a.tempfail)
    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
    kwargs = {}
    if a.auth:
        user, env = a.auth.split(":", 1)
        kwargs = dict(
            authenticator=Authenticator(user, os.environ[env]),
            auth_required=True,
            auth_require_tls=True,
        )
    loop = asyncio.get_running_loop()

    def factory():
        return SMTP(
            handler,
            hostname="smtp.test",
            tls_context=tls,
            require_starttls=a.require_starttls,
            **kwargs,
        )

    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    # The test holds our stdin: when it ends (or dies), stdin closes and we stop.
    loop.add_reader(sys.stdin.fileno(), lambda: (sys.stdin.buffer.read1(4096) or done.set()))
    await done.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
