import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { requireTool } from "../helpers/checker.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { file, labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * A login user other than root, against real sshd and real sudo: first contact installs the
 * operator's key with a password taken from the environment (the CLI's --install-key), files go
 * through a private staging directory and `sudo -n` into place owned by root, steps run as root,
 * and nothing is left in the staging area. Creates a throw-away user with passwordless sudo and
 * removes it afterwards (the tests run as root, as CI does).
 */

const USER = "hagen-deploy-t";
const PASSWORD = `pw-${randomBytes(9).toString("hex")}`;
const CLI = new URL("../../dist/cli/bin.js", import.meta.url).pathname;
const SPEC = new URL("../../examples/lab/cluster.ts", import.meta.url).pathname;
const SUDOERS = `/etc/sudoers.d/${USER}`;
let lab: SshdLab;
let cfg: string;

function sh(cmd: string, args: string[], input?: string): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

function removeUser(): void {
  spawnSync("userdel", ["-r", "-f", USER], { encoding: "utf8" });
  spawnSync("rm", ["-f", SUDOERS]);
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const { SSH_AUTH_SOCK: _a, ...base } = process.env;
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => res({ code, out }));
  });
}

beforeAll(async () => {
  requireTool("sudo", "useradd", "userdel", "chpasswd", "visudo");
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js is missing: run `npm run build` (npm test does)");
  removeUser();
  sh("useradd", ["-m", "-s", "/bin/bash", USER]);
  sh("chpasswd", [], `${USER}:${PASSWORD}\n`);
  writeFileSync(SUDOERS, `${USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
  sh("visudo", ["-c", "-f", SUDOERS]);
  lab = await startSshdLab(["u1"], { addressBase: 70, password: true });
  const s = lab.instance("u1");
  cfg = join(lab.dir, "user_config");
  // No IdentityFile: before --install-key there is no key this user accepts.
  writeFileSync(cfg, `Host controller01 u1\n  HostName ${s.host}\n  Port ${s.port}\n  User ${USER}\n`);
});
afterAll(async () => {
  await lab?.stop();
  removeUser();
});

describe("non-root login with sudo", () => {
  it("--install-key refuses a wrong password", async () => {
    const r = await cli(
      [
        "deploy",
        SPEC,
        "--secrets",
        join(lab.dir, "s.yaml"),
        "--ssh-config",
        cfg,
        "--known-hosts",
        lab.knownHosts,
        "--root",
        join(lab.dir, "tree"),
        "--nodes",
        "controller01",
        "--no-log",
        "--install-key",
        `${lab.clientKey}.pub`,
      ],
      { HA_GEN_SSH_PASSWORD: "wrong-password" },
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain("installing the public key failed");
    expect(r.out).toContain("authentication failed");
    expect(existsSync(`/home/${USER}/.ssh/authorized_keys`)).toBe(false);
  });

  it("--install-key adds the key with a password from the environment, then deploys through sudo", async () => {
    const tree = join(lab.dir, "tree");
    const args = [
      "deploy",
      SPEC,
      "--secrets",
      join(lab.dir, "s.yaml"),
      "--ssh-config",
      cfg,
      "--known-hosts",
      lab.knownHosts,
      "--root",
      tree,
      "--nodes",
      "controller01",
      "--no-log",
    ];
    const r = await cli([...args, "--install-key", `${lab.clientKey}.pub`], { HA_GEN_SSH_PASSWORD: PASSWORD });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("controller01: public key installed in authorized_keys");
    expect(r.out).not.toContain(PASSWORD);
    expect(readFileSync(`/home/${USER}/.ssh/authorized_keys`, "utf8")).toContain(lab.clientPub.split(" ")[1]);
    // Files landed owned by root with their modes, although the login user is not root.
    const env = statSync(join(tree, "etc/ha-gen/secrets.env"));
    expect([env.uid, env.mode & 0o777]).toEqual([0, 0o600]);
    expect(statSync(join(tree, "etc/hosts")).uid).toBe(0);
    // Key installation is idempotent; the key alone now logs in.
    const again = await cli([...args, "-i", lab.clientKey, "--install-key", `${lab.clientKey}.pub`], {
      HA_GEN_SSH_PASSWORD: PASSWORD,
    });
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("already present");
    expect(readFileSync(`/home/${USER}/.ssh/authorized_keys`, "utf8").trim().split("\n")).toHaveLength(1);
    const keyOnly = await cli([...args, "-i", lab.clientKey], {});
    expect(keyOnly.code, keyOnly.out).toBe(0);
    expect(keyOnly.out).toContain("no changes");
  });

  it(
    "stages uploads privately, installs them as root, " + "runs steps as root and leaves no staging directory",
    async () => {
      const tree = join(lab.dir, "tree2");
      const s = step("50-whoami", ["u1"], "serial");
      const artifacts = [
        file("u1", "/etc/app.conf", "value=1\n", { mode: 0o640, group: "nogroup" }),
        ...scriptOn(s, `id -u > "$HA_GEN_ROOT/ran-as"`),
      ];
      const rec = recorder();
      const result = await deploy({
        artifacts,
        plan: { steps: [s] },
        transport: await labTransport(lab, {
          resolve: () => ({
            alias: "u1",
            hostname: lab.instance("u1").host,
            hostnameFromConfig: true,
            port: lab.instance("u1").port,
            user: USER,
            identityFiles: [lab.clientKey],
            identitiesOnly: true,
            proxyJump: [],
            ignored: [],
          }),
        }),
        root: tree,
        rootSteps: true,
        onEvent: rec.sink,
      });
      expect(result.ok, JSON.stringify(result.failed)).toBe(true);
      expect(rec.of("node-step-start")[0]!.command).toMatch(/^sudo -n -- timeout /);
      const conf = statSync(join(tree, "etc/app.conf"));
      expect([conf.uid, conf.mode & 0o777]).toEqual([0, 0o640]);
      expect(readFileSync(join(tree, "ran-as"), "utf8").trim()).toBe("0");
      const uid = Number(spawnSync("id", ["-u", USER], { encoding: "utf8" }).stdout.trim());
      const leftovers = readdirSync("/tmp").filter(
        (n) => n.startsWith("ha-gen-stage.") && statSync(join("/tmp", n)).uid === uid,
      );
      expect(leftovers).toEqual([]);
    },
  );
});
