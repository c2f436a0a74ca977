import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { envValue, word } from "../src/core/quote.js";
import type { OsTarget } from "../src/core/spec/schema.js";
import { hashHeader, merge, stepScript } from "./common.js";
import { renderTemplate } from "../src/core/template.js";
import stepTpl from "./templates/memcached.sh.njk";

interface MemcachedSettings {
  readonly port: number;
  readonly user: string;
  readonly cacheSizeMb: number;
  readonly maxConnections: number;
  /** `-l` list: the node's management address, then loopback. */
  readonly listen: string;
}

/**
 * CentOS 8: /etc/sysconfig/memcached, an EnvironmentFile the packaged unit expands into
 * `memcached -p ${PORT} -u ${USER} -m ${CACHESIZE} -c ${MAXCONN} $OPTIONS`.
 */
function sysconfig(s: MemcachedSettings): string {
  return (
    hashHeader(
      "memcached settings (EnvironmentFile of memcached.service).",
      "Management address and loopback only: memcached has no authentication.",
    ) +
    `PORT=${envValue(s.port)}\n` +
    `USER=${envValue(s.user)}\n` +
    `MAXCONN=${envValue(s.maxConnections)}\n` +
    `CACHESIZE=${envValue(s.cacheSizeMb)}\n` +
    `OPTIONS=${envValue(`-l ${word(s.listen, "memcached -l")}`)}\n`
  );
}

/**
 * Debian 12: /etc/memcached.conf, one option per line, which systemd-memcached-wrapper joins into
 * memcached's command line (through a shell, so only plain words). The pid file is the package's.
 */
function debianConf(s: MemcachedSettings): string {
  const w = (v: string | number) => word(v, "/etc/memcached.conf");
  return (
    hashHeader(
      "memcached options, read by /usr/share/memcached/scripts/systemd-memcached-wrapper.",
      "Management address and loopback only: memcached has no authentication.",
    ) +
    `-p ${w(s.port)}\n-u ${w(s.user)}\n-m ${w(s.cacheSizeMb)}\n-c ${w(s.maxConnections)}\n` +
    `-l ${w(s.listen)}\n-P /var/run/memcached/memcached.pid\n`
  );
}

const RENDER: Record<OsTarget, (s: MemcachedSettings) => string> = { centos8: sysconfig, debian12: debianConf };

/**
 * memcached on every controller (guide 七.1-3), each independent. Difference from the guide: its
 * `sed` to 0.0.0.0 exposes an unauthenticated cache on every interface; ha-gen listens on the
 * node's management address and loopback, and waits until memcached answers there (the unit is
 * "active" before it listens).
 */
export function memcached(cluster: Cluster): GeneratorOutput {
  const { spec, os, controllers } = cluster;
  const m = spec.memcached;
  const family = "memcached";
  const artifacts = controllers.map((n) =>
    fileFor(family, n.hostname, {
      path: os.memcachedConf,
      content: RENDER[os.id]({
        port: m.port,
        user: os.memcachedUser,
        cacheSizeMb: m.cacheSizeMb,
        maxConnections: m.maxConnections,
        listen: `${n.addresses.management},127.0.0.1`,
      }),
    }),
  );
  return merge(
    { artifacts, steps: [] },
    stepScript({
      family,
      id: "40-memcached",
      title: "memcached on the management address and loopback",
      guideSection: "七.1-3 Memcached",
      nodes: controllers,
      // Independent caches, but a restart empties one: never all at once.
      mode: "rolling",
      verifies: [
        `memcached answers "version" on the node address and 127.0.0.1, port ${m.port}`,
        "memcached listens nowhere else",
      ],
      body: (n) =>
        renderTemplate("memcached.sh", stepTpl, {
          conf: os.memcachedConf,
          address: n.addresses.management,
          port: String(m.port),
        }),
    }),
  );
}
