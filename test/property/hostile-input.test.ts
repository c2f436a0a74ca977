import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderCluster } from "../../src/render.js";
import { checkSecret, SECRET_KEYS, type SecretKey, type Secrets } from "../../src/core/secrets.js";
import { validateSpec } from "../../src/core/spec/validate.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES } from "../helpers/examples.js";

/**
 * Validation and the quoting helpers must agree: every value validation accepts renders without a
 * quoting error, and every value a format cannot carry is rejected by validation first (a spec
 * error with a path, never an exception from deep inside a generator).
 */
const hostile = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.string({ unit: fc.constantFrom("'", '"', "$", "`", "\\", " ", "\n", "\t", "#", ";", "{", "}", "=", ":", "/", "a", "Z", "0", "-", ".", "_", "é", "中", "😀"), maxLength: 16 }),
  fc.constantFrom("", "-rf", "--help", "a b", "x'y", 'x"y', "$(id)", "`id`", "a\nb", "ÄÖÜ", "name.with.dots", "UPPER", "9starts-digit"),
);

type Mutator = (spec: Record<string, any>, v: string) => void;
const FIELDS: Record<string, Mutator> = {
  "name": (s, v) => (s.name = v),
  "nodes[0].hostname": (s, v) => (s.nodes[0].hostname = v),
  "domain": (s, v) => (s.domain = v),
  "vip.hostname": (s, v) => (s.vip = { ...s.vip, hostname: v }),
  "networks.management.interface": (s, v) => (s.networks.management.interface = v),
  "ntp.upstream[0]": (s, v) => (s.ntp = { ...s.ntp, upstream: [v] }),
  "galera.clusterName": (s, v) => (s.galera = { ...s.galera, clusterName: v }),
  "clustercheck.user": (s, v) => (s.clustercheck = { user: v }),
  "rabbitmq.user": (s, v) => (s.rabbitmq = { user: v }),
  "rabbitmq.vhost": (s, v) => (s.rabbitmq = { vhost: v }),
  "rabbitmq.policy.pattern": (s, v) => (s.rabbitmq = { policy: { pattern: v } }),
  "rabbitmq.policy.definition": (s, v) => (s.rabbitmq = { policy: { definition: { "ha-mode": v } } }),
  "etcd.token": (s, v) => (s.etcd = { token: v }),
  "etcd.dataDir": (s, v) => (s.etcd = { dataDir: v }),
  "pacemaker.clusterName": (s, v) => (s.pacemaker = { clusterName: v }),
  "haproxy.stats.user": (s, v) => (s.haproxy = { stats: { user: v } }),
  "haproxy.stats.realm": (s, v) => (s.haproxy = { stats: { realm: v } }),
  "haproxy.services[0].name": (s, v) => (s.haproxy = { services: [{ name: v, port: 8080 }] }),
  "prepare.extraPackages[0]": (s, v) => (s.prepare = { extraPackages: [v] }),
  "prepare.centosMirror": (s, v) => (s.prepare = { centosMirror: `https://mirror.example/${v}` }),
};

function renderOrReject(spec: unknown, secrets: Secrets): "rendered" | "rejected" {
  const v = validateSpec(spec);
  if (!v.ok) return "rejected";
  renderCluster(spec, secrets); // must not throw
  return "rendered";
}

describe("hostile names", () => {
  for (const os of ["centos8", "debian12"] as const) {
    for (const [field, mutate] of Object.entries(FIELDS)) {
      it(`${os} ${field}: rejected by validation or rendered`, () => {
        fc.assert(
          fc.property(hostile, (value) => {
            const spec = structuredClone(EXAMPLES.lab) as Record<string, any>;
            spec.os = os;
            mutate(spec, value);
            renderOrReject(spec, FAKE_SECRETS);
          }),
          { numRuns: 60 },
        );
      });
    }
  }
});

describe("hostile secrets", () => {
  for (const key of SECRET_KEYS as readonly SecretKey[]) {
    it(`${key}: rejected by the secrets check or rendered into every file`, () => {
      fc.assert(
        fc.property(hostile, fc.string({ minLength: 8, maxLength: 12 }), (v, pad) => {
          const value = v.length >= 8 ? v : v + pad;
          if (checkSecret(key, value) !== undefined) return;
          const secrets = { ...FAKE_SECRETS, [key]: value };
          for (const spec of Object.values(EXAMPLES)) {
            const r = renderCluster(spec, secrets);
            // A secret that is used appears verbatim or quoted, and only in secret files.
            // (Only for values distinctive enough not to occur by chance, e.g. not eight spaces.)
            if (!/[^\s\-_.=]{6}/.test(value)) continue;
            for (const a of r.artifacts) if (a.content.includes(value)) expect(a.secret, `${a.node}:${a.path}`).toBe(true);
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});
