import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXAMPLES } from "../helpers/examples.js";
import { fullSpec } from "../helpers/spec-fields.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { SpecError } from "../../src/core/errors.js";
import { renderCluster } from "../../src/render.js";
import { formatIssue, formatPath, validateSpec } from "../../src/core/spec/validate.js";

const messages = (input: unknown) => {
  const r = validateSpec(input);
  return { errors: r.ok ? [] : r.errors.map(formatIssue), warnings: r.warnings.map(formatIssue) };
};

/** A small valid spec to break one rule at a time. */
const base = () => ({
  networks: { management: { cidr: "10.15.253.0/24", interface: "ens192" } },
  nodes: [
    { hostname: "c1", roles: ["controller"], addresses: { management: "10.15.253.11" } },
    { hostname: "c2", roles: ["controller"], addresses: { management: "10.15.253.12" } },
    { hostname: "c3", roles: ["controller"], addresses: { management: "10.15.253.13" } },
  ],
  vip: { address: "10.15.253.10" },
});

const TIMER_TOO_LONG = "is longer than 2147483647 ms (about 24.8 days), more than HAProxy and Pacemaker timers hold";
const UNICODE_TEXT = "must be valid Unicode text (no lone \\uD800-\\uDFFF escapes)";

const STONITH_WARNING =
  "warning [stonith-disabled]: pacemaker.properties.stonith-enabled: is false: without fencing a hung node can keep " +
  "the VIP (acceptable only until a fence device is configured)";

describe("validateSpec", () => {
  it("accepts both bundled examples, warning only about disabled fencing", () => {
    for (const spec of Object.values(EXAMPLES))
      expect(messages(spec)).toEqual({ errors: [], warnings: [STONITH_WARNING] });
  });

  it("reports every problem at once, each with path, value and reason", () => {
    const bad = parse(`
networks:
  management: { cidr: 10.15.253.0/24, interface: ens192 }
nodes:
  - { hostname: controller01, roles: [controller], addresses: { management: 10.15.253.163 } }
  - { hostname: controller02, roles: [controller], addresses: { management: 10.15.253.163 } }
  - { hostname: Bad_Name, roles: [controller], addresses: { management: 10.15.253.165 } }
  - { hostname: controller01, roles: [compute], addresses: { management: 10.16.0.5 } }
  - { hostname: compute02, roles: [compute], addresses: { management: 10.15.253.88 } }
  - { hostname: compute03, roles: [computer], adresses: { management: 10.15.253.99 } }
vip: { address: 10.15.253.88 }
ntp: { server: controller09 }
pacemaker: { properties: { no-quorum-policy: ignore } }
galera: { maxConections: 10 }
`);
    expect(messages(bad)).toEqual({
      errors: [
        "nodes[2].hostname: Bad_Name is not a valid RFC 1123 hostname",
        'nodes[5].roles[0]: computer must be one of "controller", "compute", "ceph"',
        "nodes[5].addresses: is required",
        "nodes[5].adresses: is not a known setting; did you mean addresses?",
        "galera.maxConections: is not a known setting; did you mean maxConnections?",
        "nodes[3].hostname: controller01 duplicates nodes[0].hostname",
        "nodes[1].addresses.management: 10.15.253.163 is already used by nodes[0].addresses.management",
        "nodes[3].addresses.management: 10.16.0.5 is outside networks.management.cidr 10.15.253.0/24",
        "nodes[4].addresses.management: 10.15.253.88 is the VIP",
        // No "ntp.server: controller09 is not the hostname of a node": nodes[2]'s hostname is broken,
        // and it may be the name the server refers to.
      ],
      warnings: [
        STONITH_WARNING,
        "warning [no-quorum-policy-ignore]: pacemaker.properties.no-quorum-policy: " +
          "ignore lets a partition without quorum " +
          "keep running resources: split brain, two nodes holding the VIP",
      ],
    });
  });

  const cases: [string, (s: ReturnType<typeof base>) => void, string[]][] = [
    [
      "VIP outside the management network",
      (s) => (s.vip.address = "10.15.254.10"),
      ["vip.address: 10.15.254.10 is outside the management network 10.15.253.0/24"],
    ],
    [
      "VIP is the broadcast address",
      (s) => (s.vip.address = "10.15.253.255"),
      ["vip.address: 10.15.253.255 is the network or broadcast address of 10.15.253.0/24"],
    ],
    [
      "CIDR with host bits",
      (s) => (s.networks.management.cidr = "10.15.253.163/12"),
      ["networks.management.cidr: 10.15.253.163/12 has host bits set; the network is 10.0.0.0/12"],
    ],
    [
      "bad interface name",
      (s) => (s.networks.management.interface = "eth 0"),
      ['networks.management.interface: "eth 0" is not a valid Linux interface name (1-15 of A-Z a-z 0-9 _ . @ -)'],
    ],
    [
      "vlan address without vlan network",
      (s) => ((s.nodes[0]!.addresses as Record<string, string>).vlan = "172.31.253.11"),
      ["nodes[0].addresses.vlan: 172.31.253.11 has no network: networks.vlan is not defined"],
    ],
    [
      "address that is not IPv4",
      (s) => (s.nodes[1]!.addresses.management = "10.15.253.300"),
      ["nodes[1].addresses.management: 10.15.253.300 is not an IPv4 address"],
    ],
    [
      "unknown top-level key",
      (s) => Object.assign(s, { noeds: [] }),
      ["noeds: is not a known setting; did you mean nodes?"],
    ],
    [
      "even number of controllers",
      (s) => s.nodes.push({ hostname: "c4", roles: ["controller"], addresses: { management: "10.15.253.14" } }),
      [
        "nodes: 4 controller(s): Galera, etcd, RabbitMQ and pacemaker need an odd number of at least 3 members " +
          "to keep quorum when one fails; set safety.allowUnsafeMemberCount: true to accept the risk",
      ],
    ],
    [
      "no controller",
      (s) => {
        for (const n of s.nodes) n.roles = ["compute"];
      },
      [
        "nodes: 3 node(s) given, but none has the role controller " +
          "(Galera, RabbitMQ, etcd, pacemaker and HAProxy run on controllers)",
      ],
    ],
    [
      "clashing VIP ports",
      (s) => Object.assign(s, { haproxy: { stats: { port: 3306 } } }),
      [
        "haproxy.services[1].port: 3306 is already bound on the VIP by haproxy.stats.port",
        "haproxy.stats.port: 3306 is also galera.port",
      ],
    ],
    [
      "check port without HTTP check",
      (s) => Object.assign(s, { haproxy: { services: [{ name: "db", port: 3306, mode: "tcp", checkPort: 9200 }] } }),
      [
        "haproxy.services[0].checkPort: 9200 needs httpCheck: true " +
          "(a TCP check on the check port keeps a desynced node in rotation)",
      ],
    ],
    [
      "Galera check port that is not clustercheck's",
      (s) => Object.assign(s, { clustercheck: { port: 9201 } }),
      [
        "haproxy.services[1].checkPort: 9200 differs from clustercheck.port 9201: " +
          "HAProxy would check a port nothing listens on",
      ],
    ],
    [
      "a cluster port on a reserved Galera port",
      (s) => Object.assign(s, { memcached: { port: 4567 } }),
      ["memcached.port: 4567 is reserved for Galera/Erlang/pcsd/corosync cluster traffic"],
    ],
    [
      "a port of YAML's .inf, shown as such (not as JSON's null)",
      (s) => Object.assign(s, { memcached: { port: Infinity } }),
      ["memcached.port: Infinity must be number"],
    ],
    [
      "a BigInt from a TypeScript spec (JSON cannot show it)",
      (s) => Object.assign(s, { memcached: { port: 11211n } }),
      ["memcached.port: is a BigInt: write a number or a string"],
    ],
    [
      "a node named like a file every render writes beside the node folders",
      (s) => void (s.nodes[0]!.hostname = "plan.json"),
      [
        "nodes[0].hostname: plan.json is the name of a file every render writes (plan.json, manifest.json): " +
          "choose another node name",
      ],
    ],
    [
      "a CentOS mirror URL that sed or a repo file could not carry",
      (s) => Object.assign(s, { prepare: { centosMirror: "https://mirror.example/centos|x&y/" } }),
      [
        "prepare.centosMirror: https://mirror.example/centos|x&y/ must be an http(s) URL with a lower-case host, " +
          "without a trailing slash, query or special characters, such as https://vault.centos.org",
      ],
    ],
    // Bounds of what the consumers take (any spec that validates renders, and deploys).
    [
      "a timeout HAProxy refuses as a timer overflow",
      (s) => {
        const service = { name: "x", port: 8080, timeoutClient: "2147484s", timeoutServer: "2147483647" };
        Object.assign(s, { haproxy: { services: [service] } });
      },
      [`haproxy.services[0].timeoutClient: 2147484s ${TIMER_TOO_LONG}`],
    ],
    [
      "a Pacemaker interval past 2^31-1 ms (a bare number is seconds there)",
      (s) => Object.assign(s, { pacemaker: { properties: { "cluster-recheck-interval": "2147484" } } }),
      [`pacemaker.properties["cluster-recheck-interval"]: 2147484 ${TIMER_TOO_LONG}`],
    ],
    [
      "an etcd data directory with ..",
      (s) => Object.assign(s, { etcd: { dataDir: "/var/lib/../etc" } }),
      ["etcd.dataDir: /var/lib/../etc must not contain . or .. segments"],
    ],
    [
      "an etcd data directory with //",
      (s) => Object.assign(s, { etcd: { dataDir: "//" } }),
      ["etcd.dataDir: // must be an absolute path of A-Z a-z 0-9 _ . / -"],
    ],
    [
      "an InnoDB buffer pool past MariaDB's limit",
      (s) => Object.assign(s, { galera: { innodbBufferPoolSize: "9999999999999999999G" } }),
      ["galera.innodbBufferPoolSize: 9999999999999999999G is larger than MariaDB's limit of 2^63-1 bytes"],
    ],
    [
      "a policy pattern with a lone surrogate (regression: validated, then the quoting helper threw)",
      (s) => Object.assign(s, { rabbitmq: { policy: { pattern: "^x\ud800" } } }),
      [`rabbitmq.policy.pattern: "^x\\ud800" ${UNICODE_TEXT}`],
    ],
    [
      "a policy definition key RabbitMQ does not have",
      (s) => Object.assign(s, { rabbitmq: { policy: { definition: { "Ha-Mode": "all" } } } }),
      [
        'rabbitmq.policy.definition["Ha-Mode"]: Ha-Mode is not a RabbitMQ policy key ' +
          "(a-z 0-9 -, starting with a letter)",
      ],
    ],
    [
      "a policy definition value with a lone surrogate",
      (s) => Object.assign(s, { rabbitmq: { policy: { definition: { "ha-mode": "\udc00all" } } } }),
      [`rabbitmq.policy.definition["ha-mode"]: "\\udc00all" ${UNICODE_TEXT}`],
    ],
    [
      "a mirror URL with a port outside 1-65535",
      (s) => Object.assign(s, { prepare: { centosMirror: "https://mirror.example:99999/centos" } }),
      ["prepare.centosMirror: https://mirror.example:99999/centos has a port outside 1-65535"],
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    it(`rejects: ${name}`, () => {
      const s = base();
      mutate(s);
      expect(messages(s).errors.sort()).toEqual([...expected].sort());
    });
  }

  it("accepts an unsafe member count only with the explicit override, and warns", () => {
    const s = { ...base(), safety: { allowUnsafeMemberCount: true } };
    s.nodes.pop();
    const m = messages(s);
    expect(m.errors).toEqual([]);
    expect(m.warnings).toContain(
      "warning [unsafe-member-count]: nodes: 2 controller(s): Galera, etcd, RabbitMQ and pacemaker " +
        "need an odd number " +
        "of at least 3 members to keep quorum when one fails (allowed by safety.allowUnsafeMemberCount)",
    );
  });

  it("safety.acknowledge marks the named warnings acknowledged and leaves the others alone", () => {
    const s = {
      ...base(),
      pacemaker: { properties: { "no-quorum-policy": "ignore" } },
      safety: { acknowledge: ["stonith-disabled"] },
    };
    const r = validateSpec(s);
    expect(r.ok).toBe(true);
    const byId = Object.fromEntries(r.warnings.map((w) => [w.id, w.acknowledged === true]));
    expect(byId).toEqual({ "stonith-disabled": true, "no-quorum-policy-ignore": false });
    // Acknowledging a warning the spec does not raise is allowed (the risk may come back later).
    expect(validateSpec({ ...base(), safety: { acknowledge: ["rabbitmq-ram-nodes"] } }).ok).toBe(true);
  });

  it("safety.acknowledge: an unknown warning id is an error with a did-you-mean", () => {
    const m = messages({ ...base(), safety: { acknowledge: ["stonith-disabled", "stonith-disbled", "zzz"] } });
    expect(m.errors).toHaveLength(2);
    expect(m.errors[0]).toMatch(
      /^safety\.acknowledge\[1\]: stonith-disbled is not a warning id; did you mean stonith-disabled\? \(known: /,
    );
    expect(m.errors[1]).toMatch(/^safety\.acknowledge\[2\]: zzz is not a warning id \(known: vip-prefix-differs, /);
  });

  it("rejects input that is not a spec object without throwing", () => {
    expect(messages(null).errors).toEqual(["(spec): null must be object"]);
    expect(messages([]).errors).toEqual(["(spec): [] must be object"]);
    expect(messages("spec").errors).toEqual(["(spec): spec must be object"]);
  });

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const r = validateSpec(x);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("nodes", "vip", "networks", "haproxy", "galera", "x"), fc.anything()),
        (x) => {
          validateSpec({ ...base(), ...x });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("cross-field rules skip inputs that are structurally broken", () => {
  /** Valid specs whose values differ from the defaults a repaired copy would fall back to. */
  const bases: [string, () => Record<string, any>][] = [
    ["the full spec", fullSpec],
    [
      "moved ports, fencing on, Debian with SELinux kept",
      () => ({
        ...base(),
        os: "debian12",
        galera: { port: 3307 },
        clustercheck: { port: 9201 },
        memcached: { port: 3306 },
        prepare: { disableSelinux: false },
        pacemaker: { properties: { "stonith-enabled": true } },
        haproxy: {
          stats: { port: 1081 },
          services: [
            { name: "galera_cluster", port: 3307, mode: "tcp", httpCheck: true, checkPort: 9201 },
            { name: "dashboard", port: 1080 },
          ],
        },
      }),
    ],
    [
      "one controller allowed by safety, NTP on it",
      () => ({
        ...base(),
        nodes: base().nodes.slice(0, 1),
        safety: { allowUnsafeMemberCount: true },
        ntp: { server: "c1" },
      }),
    ],
  ];

  /** Every path in a spec (containers and leaves), as segments. */
  const paths = (x: unknown, at: (string | number)[] = []): (string | number)[][] => {
    if (x === null || typeof x !== "object") return [at];
    const kids = Object.entries(x).flatMap(([k, v]) => paths(v, [...at, Array.isArray(x) ? Number(k) : k]));
    return [at, ...kids];
  };
  const setAt = (spec: Record<string, any>, path: (string | number)[], value: unknown) => {
    let cur: any = spec;
    for (const seg of path.slice(0, -1)) cur = cur[seg];
    cur[path.at(-1)!] = value;
  };
  const under = (issuePath: string, broken: string) =>
    issuePath === broken || issuePath.startsWith(`${broken}.`) || issuePath.startsWith(`${broken}[`);

  for (const [name, make] of bases) {
    it(`${name}: a typo key or a wrong type anywhere reports only that, and warns no more`, () => {
      const valid = validateSpec(make());
      expect(valid.ok ? [] : valid.errors.map(formatIssue)).toEqual([]);
      const baseWarnings = new Set(valid.warnings.map(formatIssue));
      let checked = 0;
      for (const path of paths(make())) {
        const breaks: [(string | number)[], unknown][] = [[path, [[]]]];
        const target = path.reduce<any>((o, p) => o[p], make());
        const isObject = target !== null && typeof target === "object" && !Array.isArray(target);
        if (isObject) breaks.push([[...path, "zzTypo"], 1]);
        for (const [at, value] of breaks) {
          if (at.length === 0) continue;
          const spec = make();
          setAt(spec, at, value);
          const r = validateSpec(spec);
          const shown = formatPath(at);
          if (r.ok) continue; // some breaks are valid (a record takes any key)
          const elsewhere = r.errors.filter((e) => !under(e.path, shown)).map(formatIssue);
          expect(elsewhere, `breaking ${shown}`).toEqual([]);
          expect(
            r.warnings.map(formatIssue).filter((w) => !baseWarnings.has(w)),
            `breaking ${shown}`,
          ).toEqual([]);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
    });
  }

  it("still checks what the broken part cannot affect (regression: a typo inside nodes[0])", () => {
    const s = fullSpec();
    s.ntp.server = "controller01";
    (s.nodes[0] as Record<string, unknown>).adresses = s.nodes[0].addresses;
    expect(messages(s).errors).toEqual(["nodes[0].adresses: is not a known setting; did you mean addresses?"]);
    s.ntp.server = "controller09";
    expect(messages(s).errors).toEqual([
      "nodes[0].adresses: is not a known setting; did you mean addresses?",
      "ntp.server: controller09 is not the hostname of a node",
    ]);
  });
});

describe("hostnames: one rule for every field naming a host", () => {
  /** Each field that names a host, and how to put a name into it. */
  const HOST_FIELDS: [string, (s: Record<string, any>, v: string) => void][] = [
    ["nodes[0].hostname", (s, v) => (s.nodes[0].hostname = v)],
    ["vip.hostname", (s, v) => (s.vip.hostname = v)],
    ["ntp.server", (s, v) => (s.ntp = { server: v })],
    ["domain", (s, v) => (s.domain = v)],
    ["ntp.upstream[0]", (s, v) => (s.ntp = { upstream: [v] })],
    ["prepare.centosMirror", (s, v) => (s.prepare = { centosMirror: `https://${v}/centos` })],
  ];
  const at = (path: string, errors: string[]) => errors.filter((e) => e.startsWith(`${path}: `)).join("\n");
  const errorsFor = (field: (s: Record<string, any>, v: string) => void, v: string) => {
    const s = base();
    field(s, v);
    return messages(s).errors;
  };

  it("refuses upper case in every field (regression: CONTROLLER01 validated, then resolveCluster threw)", () => {
    const s = structuredClone(EXAMPLES.lab) as Record<string, any>;
    s.nodes[0].hostname = "CONTROLLER01";
    expect(messages(s).errors).toEqual([
      "nodes[0].hostname: CONTROLLER01 must be lower case (DNS names ignore case; write the name in lower case)",
    ]);
    expect(() => renderCluster(s, FAKE_SECRETS)).toThrow(SpecError);
    for (const [path, set] of HOST_FIELDS) {
      const errors = errorsFor(set, "Controller01.Example.org");
      expect(
        errors.filter((e) => e.startsWith(`${path}: `)),
        path,
      ).toHaveLength(1);
      expect(errors.join("\n"), path).toMatch(/lower.case/);
    }
  });

  it("refuses names that look like IP addresses and loopback names, in every field", () => {
    const ipLike = ["10.15.253.163", "10.1", "167772161", "0x7f.0x1", "node.123"];
    const loopback = ["localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "localhost6"];
    loopback.push("localhost4.localdomain4", "db.localhost");
    for (const [path, set] of HOST_FIELDS) {
      // ntp.upstream and the mirror take IPv4 addresses too; a name that only looks like one is neither.
      const takesIp = path === "ntp.upstream[0]" || path === "prepare.centosMirror";
      for (const v of ipLike) {
        if (takesIp && v === "10.15.253.163") {
          expect(errorsFor(set, v), `${path} ${v}`).toEqual([]);
          continue;
        }
        const why = path === "ntp.upstream[0]" ? "is neither an IPv4 address nor a hostname" : "looks like an IP";
        expect(at(path, errorsFor(set, v)), `${path} ${v}`).toContain(why);
      }
      for (const v of loopback) {
        expect(at(path, errorsFor(set, v)), `${path} ${v}`).toContain("loopback name");
      }
    }
  });

  it("accepts ordinary names with digits", () => {
    for (const v of ["node1", "1node", "a1.b2", "xn--bcher-kva.example", "c-01.dc1.example.org"]) {
      const s = base();
      s.nodes[0]!.hostname = v;
      Object.assign(s, { domain: "dc1.example.org", ntp: { upstream: [v] } });
      expect(messages(s).errors, v).toEqual([]);
    }
  });

  it("refuses a hostname that with the domain is longer than 253 characters", () => {
    const s = { ...base(), domain: `${"d".repeat(60)}.${"e".repeat(60)}.${"f".repeat(60)}.example.org` };
    s.nodes[0]!.hostname = `${"h".repeat(60)}.x`;
    const name = `${"h".repeat(60)}.x`;
    const why = "with the domain appended is longer than 253 characters";
    expect(messages(s).errors).toEqual([`nodes[0].hostname: ${name} ${why}`]);
  });

  it("any spec with mixed-case names either fails validation or renders (property)", () => {
    const flip = (name: string) =>
      fc
        .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
        .map((up) => [...name].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(""));
    fc.assert(
      fc.property(flip("controller01"), flip("controller01"), flip("controller02"), (n0, server, n1) => {
        const s = structuredClone(EXAMPLES.lab) as Record<string, any>;
        s.nodes[0].hostname = n0;
        s.nodes[1].hostname = n1;
        s.ntp = { ...s.ntp, server };
        if (validateSpec(s).ok) renderCluster(s, FAKE_SECRETS);
      }),
      { numRuns: 200 },
    );
  });
});

describe("networks", () => {
  const withVlan = (cidr: string) => {
    const s = base();
    Object.assign(s.networks, { vlan: { cidr, interface: "ens224" } });
    return messages(s).errors;
  };
  it("refuses a vlan network that overlaps the management network", () => {
    for (const cidr of ["10.15.253.0/25", "10.15.253.0/24", "10.0.0.0/8", "10.15.253.128/30"]) {
      expect(withVlan(cidr)).toEqual([`networks.vlan.cidr: ${cidr} overlaps the management network 10.15.253.0/24`]);
    }
  });
  it("accepts adjacent networks", () => {
    expect(withVlan("10.15.254.0/24")).toEqual([]);
    expect(withVlan("10.15.252.0/24")).toEqual([]);
  });
});

describe("pacemaker.corosync.token", () => {
  const withToken = (token: unknown) => messages({ ...base(), pacemaker: { corosync: { token } } }).errors;
  it("accepts 500 to 60000 ms and defaults to 1000", () => {
    expect(withToken(500)).toEqual([]);
    expect(withToken(60_000)).toEqual([]);
    const v = validateSpec(base());
    expect(v.ok && v.spec.pacemaker.corosync.token).toBe(1000);
  });
  it("refuses a token a busy node would trip, one past a minute, and a fraction", () => {
    expect(withToken(499)).toEqual([
      "pacemaker.corosync.token: 499 is below 500 ms: a busy node would be declared dead (membership flaps)",
    ]);
    expect(withToken(60_001)).toHaveLength(1);
    expect(withToken(60_001)[0]).toMatch(/^pacemaker\.corosync\.token: 60001 /);
    expect(withToken(1000.5)).toHaveLength(1);
  });
});

describe("galera.suspectTimeout", () => {
  const withSuspect = (suspectTimeout: unknown) => messages({ ...base(), galera: { suspectTimeout } }).errors;
  it("accepts 3000 to 15000 ms, what Galera starts with, and defaults to 3000", () => {
    expect(withSuspect(3000)).toEqual([]);
    expect(withSuspect(15_000)).toEqual([]);
    const v = validateSpec(base());
    expect(v.ok && v.spec.galera.suspectTimeout).toBe(3000);
  });
  it("refuses what Galera refuses at start: below 3 keepalive periods, above the inactive timeout", () => {
    expect(withSuspect(2999)).toEqual([
      "galera.suspectTimeout: 2999 is below 3000 ms: Galera needs at least 3 × its evs.keepalive_period (1 s)",
    ]);
    expect(withSuspect(15_001)).toEqual([
      "galera.suspectTimeout: 15001 is above Galera's evs.inactive_timeout (15000 ms)",
    ]);
    expect(withSuspect(3500.5)).toHaveLength(1);
  });
});

describe("pacemaker.corosync.tokenCoefficient", () => {
  const withCoefficient = (tokenCoefficient: unknown) =>
    messages({ ...base(), pacemaker: { corosync: { tokenCoefficient } } }).errors;
  it("accepts 0 to 10000 ms and defaults to 0 (the token as set, whatever the node count)", () => {
    expect(withCoefficient(0)).toEqual([]);
    expect(withCoefficient(650)).toEqual([]);
    expect(withCoefficient(10_000)).toEqual([]);
    const v = validateSpec(base());
    expect(v.ok && v.spec.pacemaker.corosync.tokenCoefficient).toBe(0);
  });
  it("refuses a negative, an oversized and a fractional coefficient", () => {
    expect(withCoefficient(-1)).toHaveLength(1);
    expect(withCoefficient(-1)[0]).toMatch(/^pacemaker\.corosync\.tokenCoefficient: -1 /);
    expect(withCoefficient(10_001)).toHaveLength(1);
    expect(withCoefficient(0.5)).toHaveLength(1);
  });
});
