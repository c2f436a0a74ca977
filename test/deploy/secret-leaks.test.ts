import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { recoverGalera } from "../../deploy/recover.js";
import { sh } from "../../src/core/quote.js";
import { SECRET_KEYS } from "../../src/core/secrets.js";
import type { Connection, ExecOptions, ExecResult, Transport } from "../../deploy/transport.js";
import { ConnectError, UsageError } from "../../src/core/errors.js";
import type { PlanStep } from "../../src/core/artifact.js";
import { GALERA_RECOVER_SCRIPT } from "../../src/core/galera-recovery.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { file, labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * No secret value leaves a deploy or recover run through its events, run log, result or thrown
 * errors, whatever carries it: a step's output, remote stderr inside a RemoteError (from the
 * push, from the late push of a file whose owner appeared, from a guard probe), a ConnectError, a
 * dry-run diff of a file someone put a secret in. Every secret is planted in each of those, raw
 * and in the forms a script prints it (shell-quoted, JSON- and backslash-escaped), over real sshd;
 * the failures that real nodes cannot be made to produce come from a transport wrapped around it.
 */

// Values with quotes, `$` and spaces, so the quoted and escaped forms differ from the raw one.
const SECRETS = SECRET_KEYS.map((k, i) => `pw${i}-${k}-q'u"o$te d\\x`);
const forms = (s: string) => [s, sh(s), JSON.stringify(s).slice(1, -1), s.replace(/[\\"'$`\s]/g, "\\$&")];
const ALL_FORMS = SECRETS.flatMap(forms);
/** Every secret in every form, one per line: what a leaky script or tool would print. */
const PLANTED = ALL_FORMS.join("\n");

const NODES = ["x1", "x2"];
let lab: SshdLab;
let roots: string;
let logs: string;

beforeAll(async () => {
  lab = await startSshdLab(NODES, { addressBase: 120 });
  roots = join(lab.dir, "roots");
  logs = join(lab.dir, "logs");
  mkdirSync(roots);
});
afterAll(async () => {
  await lab?.stop();
});

/** The lab's SSH transport, with `fail(node, command)` deciding which commands fail and how. */
async function plantingTransport(o: {
  connect?: (node: string) => Error | undefined;
  exec?: (node: string, command: string, n: number) => ExecResult | Error | undefined;
}): Promise<Transport> {
  const real = await labTransport(lab);
  const calls = new Map<string, number>();
  return {
    async connect(node) {
      const refused = o.connect?.(node);
      if (refused) throw refused;
      const c = await real.connect(node);
      const wrapped: Connection = {
        user: c.user,
        exec(command: string, eo?: ExecOptions) {
          const key = `${node} ${command.slice(0, 40)}`;
          const n = (calls.get(key) ?? 0) + 1;
          calls.set(key, n);
          const planted = o.exec?.(node, command, n);
          if (planted instanceof Error) return Promise.reject(planted);
          if (planted) return Promise.resolve(planted);
          return c.exec(command, eo);
        },
        writeFile: (p, b, m) => c.writeFile(p, b, m),
        ...(c.lstat ? { lstat: (p: string) => c.lstat!(p) } : {}),
        ...(c.readFile ? { readFile: (p: string) => c.readFile!(p) } : {}),
        close: () => c.close(),
      };
      return wrapped;
    },
    close: () => real.close(),
  };
}

/** Everything a run left behind in text form. */
function leftovers(events: unknown[], extra: unknown[] = []): string {
  let text = JSON.stringify(events) + JSON.stringify(extra);
  if (existsSync(logs)) {
    for (const e of readdirSync(logs, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) text += readFileSync(join(e.parentPath, e.name), "utf8");
    }
  }
  return text;
}

function expectNoSecret(text: string): void {
  for (const f of ALL_FORMS) expect(text.includes(f), `leaked: ${f}`).toBe(false);
  expect(text).toContain("[redacted]");
}

/** deploy() with the secrets, a run log, and a thrown error caught as part of the outcome. */
async function run(
  transport: Transport,
  steps: PlanStep[],
  artifacts: Parameters<typeof deploy>[0]["artifacts"],
  extra: Partial<Parameters<typeof deploy>[0]> = {},
) {
  const rec = recorder();
  let thrown: unknown;
  const result = await deploy({
    artifacts,
    plan: { steps },
    transport,
    secrets: SECRETS,
    root: join(roots, "{node}"),
    rootSteps: true,
    logDir: join(logs, `run-${Math.random().toString(16).slice(2)}`),
    onEvent: rec.sink,
    ...extra,
  }).catch((e: unknown) => {
    thrown = e;
    return undefined;
  });
  const error = thrown instanceof Error ? { ...thrown, message: thrown.message, stack: thrown.stack } : thrown;
  return { rec, result, error, text: leftovers(rec.events, [result ?? null, error ?? null]) };
}

const STDERR_WITH_SECRETS: ExecResult = { code: 1, stdout: "", stderr: `boom\n${PLANTED}\n` };

describe("no secret in deploy and recover output", () => {
  it("a failing step that prints every secret to stdout and stderr", async () => {
    const s = step("leaky", NODES, "parallel");
    const printf = `printf '%s\\n' ${ALL_FORMS.map((f) => sh(f)).join(" ")}`;
    const r = await run(await labTransport(lab), [s], scriptOn(s, `${printf}\n${printf} >&2\nexit 4`));
    expect(r.result?.failed?.step).toBe("leaky");
    expect(r.result?.failed?.tail).toContain("[redacted]");
    expectNoSecret(r.text);
  });

  it("remote stderr in a RemoteError of the push", async () => {
    const t = await plantingTransport({
      exec: (node, cmd) => (node === "x2" && cmd.includes("ha-gen-install") ? STDERR_WITH_SECRETS : undefined),
    });
    const r = await run(
      t,
      [],
      NODES.map((n) => file(n, "/etc/push-me", `${n} v2\n`)),
    );
    expect(r.result?.failed?.step).toBe("push");
    expectNoSecret(r.text);
  });

  it("remote stderr when a file that waited for its owner is pushed before a step (regression: thrown)", async () => {
    // The owner does not exist on the node: the file waits, and is inspected again before the step.
    const late = file("x1", "/etc/late.conf", "late\n", { owner: "hagen-no-such-user" });
    const s = step("after-late", ["x1"], "serial");
    const t = await plantingTransport({
      exec: (_node, cmd, n) => (cmd.includes("ha-gen-inspect") && n >= 2 ? STDERR_WITH_SECRETS : undefined),
    });
    const r = await run(t, [s], [late, ...scriptOn(s, "exit 0")]);
    expect(r.error).toBeUndefined();
    expect(r.result?.failed?.step).toBe("after-late");
    expectNoSecret(r.text);
  });

  it("a guard probe whose connection fails with secrets in the message (regression: thrown raw)", async () => {
    const s: PlanStep = {
      ...step("20-galera-bootstrap", ["x1"], "serial"),
      guard: {
        kind: "galera-bootstrap",
        nodes: ["x1", "x2"],
        probe: { secretsEnv: join(lab.dir, "none.env"), rootPasswordVar: "MARIADB_ROOT_PASS", port: 4567 },
      },
    };
    const t = await plantingTransport({
      exec: (node, cmd) =>
        cmd.includes("wsrep_cluster_status") ? new ConnectError(node, `${node}: lost: ${PLANTED}`, false) : undefined,
    });
    const r = await run(t, [s], scriptOn(s, "exit 0"));
    expect(r.error).toBeUndefined();
    expect(r.result?.failed?.step).toBe("20-galera-bootstrap");
    expectNoSecret(r.text);
  });

  it("a ConnectError whose message carries secrets", async () => {
    const t = await plantingTransport({
      connect: (node) => (node === "x2" ? new ConnectError(node, `x2: refused: ${PLANTED}`, false) : undefined),
    });
    const r = await run(
      t,
      [],
      NODES.map((n) => file(n, "/etc/c", "c\n")),
    );
    expect(r.result?.failed?.step).toBe("connect");
    expectNoSecret(r.text);
  });

  it("an error deploy() throws instead of reporting (a usage mistake found while connecting)", async () => {
    const t = await plantingTransport({
      connect: (node) => (node === "x2" ? new UsageError(`identity file /k/${PLANTED} is a directory`) : undefined),
    });
    const r = await run(
      t,
      [],
      NODES.map((n) => file(n, "/etc/c", "c\n")),
    );
    expect(r.error).toBeInstanceOf(Object);
    expect((r.error as { message: string }).message).toContain("[redacted]");
    expectNoSecret(r.text);
  });

  it("a dry-run diff of a file someone put a secret in", async () => {
    mkdirSync(join(roots, "x1", "etc"), { recursive: true });
    writeFileSync(join(roots, "x1", "etc", "app.conf"), `a=1\n${PLANTED}\n`);
    const r = await run(await labTransport(lab), [], [file("x1", "/etc/app.conf", "a=2\n")], { dryRun: true });
    expect(r.result?.ok).toBe(true);
    expect(r.rec.of("push-end")[0]?.changed[0]?.diff).toContain("-[redacted]");
    expectNoSecret(r.text);
  });

  it("recover galera: a report failing with secrets, and a connect error with secrets", async () => {
    for (const n of NODES) {
      const p = join(roots, n, GALERA_RECOVER_SCRIPT);
      mkdirSync(join(p, ".."), { recursive: true });
      writeFileSync(p, `#!/usr/bin/env bash\nprintf '%s\\n' ${ALL_FORMS.map((f) => sh(f)).join(" ")} >&2\nexit 1\n`);
    }
    const rec = recorder();
    const t = await plantingTransport({
      connect: (node) => (node === "x2" ? new ConnectError(node, `x2: refused: ${PLANTED}`, false) : undefined),
    });
    const r = await recoverGalera({
      controllers: NODES,
      transport: t,
      secrets: SECRETS,
      root: join(roots, "{node}"),
      onEvent: rec.sink,
    });
    expect(r.ok).toBe(false);
    expectNoSecret(JSON.stringify(rec.events));
  });
});
