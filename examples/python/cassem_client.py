#!/usr/bin/env python3
"""A cassem client in Python using only the standard library (urllib, json).

Reads config elements from cassem agents with failover, and watches them
over Server-Sent Events with resume (Last-Event-ID) across agents.

    python3 cassem_client.py --agents http://127.0.0.1:7081 --app shop --env prod get timeout
    python3 cassem_client.py --agents http://a1:7081,http://a2:7081 --app shop --env prod \\
        watch timeout flags --max-updates 10

`get` prints the agent's JSON answer; `raw` prints one element's text
(with --etag, prints nothing and exits 3 when it has not changed); `watch`
prints one JSON line per update: {"revision", "changed": [elements],
"removed": [keys]}, the first one with "initial": true.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class CassemError(Exception):
    """An error answer of an agent, or no agent answering."""

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.status = status

    @property
    def terminal(self):
        """Whether another agent or a retry cannot help (bad input, secret)."""
        return self.code in ("INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED")


def _error_of(status, body):
    try:
        e = json.loads(body)["error"]
        return CassemError(e["code"], e["message"], status)
    except (ValueError, KeyError, TypeError):
        return CassemError("UNAVAILABLE" if status >= 500 else "INTERNAL",
                           "HTTP %d: %r" % (status, body[:200]), status)


class CassemClient:
    """Reads and watches the elements of one app and env through `agents`."""

    def __init__(self, agents, app, env, client_id=None, labels=None, secret=None,
                 timeout=10.0, heartbeat_timeout=45.0):
        if not agents:
            raise ValueError("Cannot create a client as agents must list at least one URL")
        self.agents = [a.rstrip("/") for a in agents]
        self.app, self.env = app, env
        self.timeout = timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.revision = 0  # the highest revision seen: never go back across agents
        self.headers = {}
        if client_id:
            self.headers["X-Cassem-Client-Id"] = client_id
        if labels:
            self.headers["X-Cassem-Labels"] = ",".join("%s=%s" % kv for kv in labels.items())
        if secret:
            self.headers["X-Cassem-Secret"] = secret

    def _base(self):
        return "/v1/apps/%s/envs/%s" % (urllib.parse.quote(self.app), urllib.parse.quote(self.env))

    def _open(self, path, headers, timeout):
        """The first agent's answer to GET path; raises CassemError when none answers."""
        tried = []
        for agent in self.agents:
            req = urllib.request.Request(agent + path, headers={**self.headers, **headers})
            try:
                return agent, urllib.request.urlopen(req, timeout=timeout)
            except urllib.error.HTTPError as e:
                if e.code == 304:
                    return agent, e
                err = _error_of(e.code, e.read().decode("utf-8", "replace"))
                if e.code < 500:
                    raise err
                tried.append("%s: %s" % (agent, err))
            except (urllib.error.URLError, OSError) as e:
                tried.append("%s: %s" % (agent, e))
        raise CassemError("UNAVAILABLE", "Cannot read %s as no agent answered: %s"
                          % (path, "; ".join(tried)))

    def _min_revision(self):
        return {"X-Cassem-Min-Revision": str(self.revision)} if self.revision else {}

    def get(self, *keys):
        """The agent's answer for `keys`: {"elements": [...], "missing": [...], "revision"}."""
        path = "%s/elements?keys=%s" % (self._base(), ",".join(urllib.parse.quote(k) for k in keys))
        _, resp = self._open(path, self._min_revision(), self.timeout)
        with resp:
            body = json.loads(resp.read().decode("utf-8"))
        self.revision = max(self.revision, body["revision"])
        return body

    def raw(self, key, etag=None):
        """(text, etag, version) of `key`, or None when `etag` still matches (304)."""
        headers = self._min_revision()
        if etag:
            headers["If-None-Match"] = etag
        _, resp = self._open("%s/elements/%s/raw" % (self._base(), urllib.parse.quote(key)),
                             headers, self.timeout)
        with resp:
            if resp.status == 304:
                return None
            return (resp.read().decode("utf-8"), resp.headers["ETag"],
                    int(resp.headers["X-Cassem-Version"]))

    def watch(self, keys, max_updates=None, max_seconds=None):
        """Yields one update per revision: {"revision", "initial", "changed", "removed"}.

        Reconnects to the next agent when a stream ends, breaks or is silent
        for heartbeat_timeout seconds, resuming with Last-Event-ID; drops a
        version it already holds (same version and fingerprint).
        """
        held = {}  # key -> (version, fingerprint) or None
        last_id = None
        delivered = 0
        first = True
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        agent_index = 0
        backoff = 0.25
        path = "%s/watch?keys=%s" % (self._base(), ",".join(urllib.parse.quote(k) for k in keys))
        while max_updates is None or delivered < max_updates:
            if deadline is not None and time.monotonic() > deadline:
                return
            agent = self.agents[agent_index % len(self.agents)]
            headers = {**self.headers, "Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                req = urllib.request.Request(agent + path, headers=headers)
                resp = urllib.request.urlopen(req, timeout=self.heartbeat_timeout)
            except urllib.error.HTTPError as e:
                err = _error_of(e.code, e.read().decode("utf-8", "replace"))
                if err.terminal:
                    raise err
                agent_index += 1
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            except (urllib.error.URLError, OSError):
                agent_index += 1
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            batch, event, data, block_id = [], "", [], None
            initial = True
            try:
                with resp:
                    for raw_line in resp:  # a read timeout (no heartbeat) raises OSError
                        line = raw_line.decode("utf-8").rstrip("\r\n")
                        if line.startswith(":"):
                            continue
                        if line:
                            field, _, value = line.partition(":")
                            value = value[1:] if value.startswith(" ") else value
                            if field == "data":
                                data.append(value)
                            elif field == "event":
                                event = value
                            elif field == "id":
                                block_id = value
                            continue
                        # A blank line ends a block.
                        if data:
                            payload = json.loads("\n".join(data))
                            if event == "close":
                                if payload.get("code") in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
                                    raise CassemError(payload["code"], payload["message"])
                                break
                            if event in ("", "message"):
                                batch.append((payload["key"], payload))
                            elif event == "missing":
                                batch.append((payload["key"], None))
                            if event == "ready" or (block_id is not None and not initial):
                                revision = payload["revision"] if event == "ready" else int(block_id)
                                if event == "ready":
                                    initial = False
                                update = self._apply(held, batch, revision, first)
                                batch = []
                                last_id = str(revision)
                                self.revision = max(self.revision, revision)
                                backoff = 0.25
                                if update is not None:
                                    first = False
                                    delivered += 1
                                    yield update
                                    if max_updates is not None and delivered >= max_updates:
                                        return
                        event, data, block_id = "", [], None
                        if deadline is not None and time.monotonic() > deadline:
                            return
            except CassemError:
                raise
            except (OSError, ValueError):
                pass  # broken or silent: the next agent resumes from last_id
            agent_index += 1

    def _apply(self, held, batch, revision, first):
        changed, removed = [], []
        for key, el in batch:
            if el is not None:
                if held.get(key) == (el["version"], el["fingerprint"]):
                    continue  # a repeat after a cut
                held[key] = (el["version"], el["fingerprint"])
                changed.append(el)
            elif held.get(key, "unknown") is not None:
                held[key] = None
                removed.append(key)
        if first:
            return {"revision": revision, "initial": True, "changed": changed, "removed": removed}
        if changed or removed:
            return {"revision": revision, "initial": False, "changed": changed, "removed": removed}
        return None


def main(argv=None):
    p = argparse.ArgumentParser(description="A cassem client (Python standard library only).")
    p.add_argument("--agents", required=True, help="agent URLs, comma-separated")
    p.add_argument("--app", required=True)
    p.add_argument("--env", required=True)
    p.add_argument("--client-id")
    p.add_argument("--labels", help="k=v,k2=v2")
    p.add_argument("--secret")
    p.add_argument("--heartbeat-timeout", type=float, default=45.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("keys", nargs="+")
    r = sub.add_parser("raw")
    r.add_argument("key")
    r.add_argument("--etag")
    w = sub.add_parser("watch")
    w.add_argument("keys", nargs="+")
    w.add_argument("--max-updates", type=int)
    w.add_argument("--max-seconds", type=float)
    a = p.parse_args(argv)
    labels = dict(kv.split("=", 1) for kv in a.labels.split(",")) if a.labels else None
    c = CassemClient(a.agents.split(","), a.app, a.env, a.client_id, labels, a.secret,
                     heartbeat_timeout=a.heartbeat_timeout)
    try:
        if a.cmd == "get":
            print(json.dumps(c.get(*a.keys)))
        elif a.cmd == "raw":
            got = c.raw(a.key, a.etag)
            if got is None:
                return 3
            text, etag, version = got
            print(json.dumps({"raw": text, "etag": etag, "version": version}))
        else:
            for update in c.watch(a.keys, a.max_updates, a.max_seconds):
                print(json.dumps(update), flush=True)
    except CassemError as e:
        print(json.dumps({"error": {"code": e.code, "message": str(e)}}), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
