#!/usr/bin/python3
"""Continuous client load for the container lab's drills (lab tooling, not product code).

Runs in the lab network namespace (`ip netns exec lab /usr/bin/python3 load-client.py ...`) for
the whole drill and appends one JSON line per operation to --out: {"t": epoch s, "k": kind,
"ok": bool, ...}. Kinds:
  sql          a write through VIP:3306 from a pool of long-lived connections (PyMySQL, the
               driver oslo.db uses); the row and `@@hostname` are read in the same transaction,
               so `node` is the node that committed it. Pool members are left idle for longer
               than 60 s in turn, as oslo.db's pool does.
  connect      a fresh connection to VIP:3306 (full handshake): refused/cut counts. Each one then
               writes a row as a `sql` op with conn=-1 (a service worker that opens a new
               connection while its pooled ones hang on a dead node) and quits. A new attempt
               starts every 0.2 s even while earlier ones still wait (at most 10 at once), as
               a service's many workers do: a write resumes as soon as the cluster takes one.
  amqp-pub     a persistent message published with confirms (py-amqp, under oslo.messaging's
               kombu) through the VIP's AMQP listener; ok = confirmed by the broker.
  amqp-recv    a message the consumer received (manual ack) through the same listener.
  memcached    set then get on the members (pymemcache).
  etcd-put     a put, then a get of the same key, against the member list (etcd's v3 JSON
               gateway), retried over every member for up to 15 s; ok=false only after that.
  sql-final / etcd-final   what is there at the end (for rows or keys lost).
Stops when --stop-file exists or on SIGTERM (bounded by --max-s in any case).
"""

import argparse
import base64
import json
import os
import signal
import socket
import threading
import time
import urllib.request

import amqp
import pymysql
from pymemcache.client.base import Client as MemcacheClient

POOL = 4
# Each pool member is idle this long once per cycle (staggered): longer than HAProxy's old 1m.
IDLE_S = 70.0
CYCLE_S = 140.0


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()

    def __call__(self, kind, ok, **kw):
        rec = {"t": round(time.time(), 4), "k": kind, "ok": ok, **kw}
        with self.lock:
            self.f.write(json.dumps(rec, separators=(",", ":")) + "\n")


def err_text(e):
    s = f"{type(e).__name__}: {e}"
    return s[:300]


def refused(e):
    s = str(e)
    return "Errno 111" in s or "Connection refused" in s or isinstance(e, ConnectionRefusedError)


class Client:
    def __init__(self, a):
        self.a = a
        self.log = Log(a.out)
        self.stop = threading.Event()
        self.publishing_done = threading.Event()
        self.confirmed = set()
        self.received = set()
        self.amqp_lock = threading.Lock()
        self.deadline = time.time() + a.max_s
        self.parent = os.getppid()
        self.seq = 0
        self.seq_lock = threading.Lock()
        self.connecting = threading.BoundedSemaphore(10)

    def next_seq(self):
        with self.seq_lock:
            self.seq += 1
            return self.seq

    def stopping(self):
        if self.stop.is_set():
            return True
        # The test that started us is gone (killed, crashed): stop as well, never run on unattended.
        orphaned = os.getppid() != self.parent
        if orphaned or os.path.exists(self.a.stop_file) or time.time() > self.deadline:
            self.stop.set()
        return self.stop.is_set()

    # ---- SQL

    def sql_connect(self):
        return pymysql.connect(
            host=self.a.vip,
            port=self.a.sql_port,
            user=self.a.sql_user,
            password=os.environ["LOAD_SQL_PASS"],
            database="e2e",
            connect_timeout=2,
            read_timeout=5,
            write_timeout=5,
            autocommit=False,
        )

    def write_row(self, c, seq, conn_id):
        """One row and the node that committed it, in one transaction on connection c."""
        with c.cursor() as cur:
            cur.execute(
                "INSERT INTO e2e.load (run, seq, conn, node) VALUES (%s, %s, %s, @@hostname)",
                (self.a.run, seq, conn_id),
            )
            cur.execute("SELECT @@hostname")
            node = cur.fetchone()[0]
        c.commit()
        return node

    def sql_writer(self):
        conns = [None] * POOL
        last_used = [time.time()] * POOL
        t_start = time.time()
        turn = 0
        while not self.stopping():
            now = time.time()
            # Member i rests during its half of the cycle, staggered: always two busy, two resting.
            busy = [i for i in range(POOL) if (now - t_start + i * CYCLE_S / POOL) % CYCLE_S >= IDLE_S]
            i = busy[turn % len(busy)] if busy else turn % POOL
            turn += 1
            seq = self.next_seq()
            idle_s = round(now - last_used[i], 1)
            t0 = time.time()
            try:
                if conns[i] is None:
                    conns[i] = self.sql_connect()
                node = self.write_row(conns[i], seq, i)
                self.log("sql", True, seq=seq, conn=i, node=node, idle=idle_s, ms=round((time.time() - t0) * 1000))
            except Exception as e:  # noqa: BLE001 - every failure is recorded, the pool reconnects
                self.log("sql", False, seq=seq, conn=i, idle=idle_s, refused=refused(e), err=err_text(e))
                try:
                    if conns[i] is not None:
                        conns[i].close()
                except Exception:  # noqa: BLE001
                    pass
                conns[i] = None
            last_used[i] = time.time()
            time.sleep(self.a.sql_every)
        for c in conns:
            try:
                if c is not None:
                    c.close()
            except Exception:  # noqa: BLE001
                pass

    def connect_once(self):
        try:
            t0 = time.time()
            try:
                c = self.sql_connect()
            except Exception as e:  # noqa: BLE001
                self.log("connect", False, refused=refused(e), err=err_text(e))
                return
            self.log("connect", True, ms=round((time.time() - t0) * 1000))
            seq = self.next_seq()
            t0 = time.time()
            try:
                node = self.write_row(c, seq, -1)
                self.log("sql", True, seq=seq, conn=-1, node=node, idle=0, ms=round((time.time() - t0) * 1000))
            except Exception as e:  # noqa: BLE001
                self.log("sql", False, seq=seq, conn=-1, idle=0, refused=refused(e), err=err_text(e))
            finally:
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    pass
        finally:
            self.connecting.release()

    def connect_prober(self):
        while not self.stopping():
            if self.connecting.acquire(blocking=False):
                threading.Thread(target=self.connect_once, name="connect_once", daemon=True).start()
            time.sleep(0.2)

    def sql_final(self):
        for _ in range(60):
            try:
                c = self.sql_connect()
                with c.cursor() as cur:
                    cur.execute("SELECT seq FROM e2e.load WHERE run=%s", (self.a.run,))
                    present = sorted(r[0] for r in cur.fetchall())
                c.close()
                self.log("sql-final", True, present=present)
                return
            except Exception as e:  # noqa: BLE001
                err = err_text(e)
                time.sleep(1)
        self.log("sql-final", False, err=err)

    # ---- AMQP

    def amqp_conn(self):
        c = amqp.Connection(
            host=f"{self.a.vip}:{self.a.amqp_port}",
            userid=self.a.amqp_user,
            password=os.environ["LOAD_AMQP_PASS"],
            virtual_host=self.a.amqp_vhost,
            connect_timeout=3,
            read_timeout=5,
            write_timeout=5,
            heartbeat=10,
            confirm_publish=True,
        )
        c.connect()
        ch = c.channel()
        ch.queue_declare(queue=self.a.queue, durable=True, auto_delete=False)
        return c, ch

    def amqp_publisher(self):
        conn = ch = None
        seq = 0
        while not self.stopping():
            seq += 1
            try:
                if conn is None:
                    conn, ch = self.amqp_conn()
                conn.heartbeat_tick()
                msg = amqp.Message(str(seq), delivery_mode=2)
                ch.basic_publish(msg, exchange="", routing_key=self.a.queue, confirm_timeout=10)
                with self.amqp_lock:
                    self.confirmed.add(seq)
                self.log("amqp-pub", True, seq=seq)
            except Exception as e:  # noqa: BLE001
                self.log("amqp-pub", False, seq=seq, err=err_text(e))
                try:
                    if conn is not None:
                        conn.collect()
                except Exception:  # noqa: BLE001
                    pass
                conn = ch = None
                time.sleep(0.5)
            time.sleep(self.a.amqp_every)
        self.publishing_done.set()

    def amqp_consumer(self):
        conn = None
        drain_until = None
        while True:
            if self.publishing_done.is_set():
                drain_until = drain_until or time.time() + self.a.drain_s
                with self.amqp_lock:
                    missing = self.confirmed - self.received
                if not missing or time.time() > drain_until:
                    break
            try:
                if conn is None:
                    conn, ch = self.amqp_conn()

                    def on_msg(m, ch=ch):
                        seq = int(m.body)
                        with self.amqp_lock:
                            self.received.add(seq)
                        self.log("amqp-recv", True, seq=seq)
                        ch.basic_ack(m.delivery_tag)

                    ch.basic_qos(0, 100, False)
                    ch.basic_consume(queue=self.a.queue, callback=on_msg, no_ack=False)
                try:
                    conn.drain_events(timeout=1)
                except socket.timeout:
                    pass
                conn.heartbeat_tick()
            except Exception as e:  # noqa: BLE001
                self.log("amqp-consumer", False, err=err_text(e))
                try:
                    if conn is not None:
                        conn.collect()
                except Exception:  # noqa: BLE001
                    pass
                conn = None
                time.sleep(0.5)
        try:
            if conn is not None:
                conn.close()
        except Exception:  # noqa: BLE001
            pass

    # ---- memcached

    def memcached(self):
        clients = [MemcacheClient((ip, self.a.memcached_port), connect_timeout=1, timeout=1) for ip in self.a.nodes]
        seq = 0
        while not self.stopping():
            seq += 1
            i = seq % len(clients)
            key = f"load-{self.a.run}-{seq}"
            try:
                clients[i].set(key, str(seq).encode(), expire=600)
                ok = clients[i].get(key) == str(seq).encode()
                self.log("memcached", ok, seq=seq, server=self.a.nodes[i])
            except Exception as e:  # noqa: BLE001
                self.log("memcached", False, seq=seq, server=self.a.nodes[i], err=err_text(e))
                try:
                    clients[i].close()
                except Exception:  # noqa: BLE001
                    pass
            time.sleep(self.a.memcached_every)

    # ---- etcd

    def etcd_call(self, ip, path, body):
        req = urllib.request.Request(
            f"http://{ip}:{self.a.etcd_port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=2) as r:
            return json.loads(r.read() or b"{}")

    def etcd_key(self, seq):
        return f"ha-gen-load/{self.a.run}/{seq:09d}"

    def etcd(self):
        seq = 0
        while not self.stopping():
            seq += 1
            key = base64.b64encode(self.etcd_key(seq).encode()).decode()
            val = base64.b64encode(str(seq).encode()).decode()
            t0 = time.time()
            attempts = 0
            last = ""
            ok = False
            # Client retry over the member list, as an OpenStack service's etcd client would.
            while time.time() - t0 < 15 and not ok:
                ip = self.a.nodes[(seq + attempts) % len(self.a.nodes)]
                attempts += 1
                try:
                    self.etcd_call(ip, "/v3/kv/put", {"key": key, "value": val})
                    got = self.etcd_call(ip, "/v3/kv/range", {"key": key})
                    kvs = got.get("kvs") or []
                    ok = len(kvs) == 1 and kvs[0].get("value") == val
                    last = "" if ok else f"read back {got}"
                except Exception as e:  # noqa: BLE001
                    last = err_text(e)
                if not ok:
                    time.sleep(0.3)
            rec = {"seq": seq, "attempts": attempts, "ms": round((time.time() - t0) * 1000)}
            if not ok:
                rec["err"] = last
            self.log("etcd-put", ok, **rec)
            time.sleep(self.a.etcd_every)

    def etcd_final(self):
        prefix = f"ha-gen-load/{self.a.run}/"
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        body = {
            "key": base64.b64encode(prefix.encode()).decode(),
            "range_end": base64.b64encode(end.encode()).decode(),
            "keys_only": True,
        }
        err = ""
        for attempt in range(30):
            ip = self.a.nodes[attempt % len(self.a.nodes)]
            try:
                got = self.etcd_call(ip, "/v3/kv/range", body)
                keys = [base64.b64decode(kv["key"]).decode() for kv in got.get("kvs") or []]
                self.log("etcd-final", True, present=sorted(int(k.rsplit("/", 1)[1]) for k in keys))
                return
            except Exception as e:  # noqa: BLE001
                err = err_text(e)
                time.sleep(1)
        self.log("etcd-final", False, err=err)

    def run(self):
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        self.log("start", True, run=self.a.run, pid=os.getpid())
        workers = [self.sql_writer, self.connect_prober, self.amqp_publisher, self.memcached, self.etcd]
        threads = [threading.Thread(target=w, name=w.__name__, daemon=True) for w in workers]
        consumer = threading.Thread(target=self.amqp_consumer, name="amqp_consumer", daemon=True)
        for t in [*threads, consumer]:
            t.start()
        while not self.stopping():
            time.sleep(0.2)
        for t in threads:
            t.join(timeout=30)
        consumer.join(timeout=self.a.drain_s + 15)
        self.sql_final()
        self.etcd_final()
        self.log("stop", True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--vip", required=True)
    p.add_argument("--nodes", required=True, type=lambda s: s.split(","))
    p.add_argument("--sql-port", type=int, default=3306)
    p.add_argument("--sql-user", required=True)
    p.add_argument("--amqp-port", type=int, required=True)
    p.add_argument("--amqp-user", required=True)
    p.add_argument("--amqp-vhost", default="/")
    p.add_argument("--queue", default="ha-gen-load")
    p.add_argument("--memcached-port", type=int, default=11211)
    p.add_argument("--etcd-port", type=int, default=2379)
    p.add_argument("--sql-every", type=float, default=0.05)
    p.add_argument("--amqp-every", type=float, default=0.1)
    p.add_argument("--memcached-every", type=float, default=0.2)
    p.add_argument("--etcd-every", type=float, default=0.2)
    p.add_argument("--drain-s", type=float, default=60)
    p.add_argument("--max-s", type=float, default=5400)
    Client(p.parse_args()).run()


if __name__ == "__main__":
    main()
