import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { file, labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * On a fresh host the users that own some files (rabbitmq, etcd, memcache...) are created by the
 * packages the first step installs. Such files wait, and are pushed before the node's next step;
 * a node where the owner still does not exist then fails that step with a clear message.
 */
const NODES = ["d1"];
let lab: SshdLab;
let roots: string;

beforeAll(async () => {
  lab = await startSshdLab(NODES, { addressBase: 70 });
  roots = join(lab.dir, "roots");
  const etc = join(roots, "d1", "etc");
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  writeFileSync(join(etc, "group"), "root:x:0:\n");
});
afterAll(async () => {
  await lab?.stop();
});

function plan(createUser: boolean) {
  const install = step("s1-install", NODES, "serial");
  const use = step("s2-use", NODES, "serial");
  const artifacts = [
    file("d1", "/var/lib/late/cookie", "late-content\n", { owner: "lateuser", group: "lateuser", mode: 0o400 }),
    // Stands for the package install that creates the user.
    ...scriptOn(
      install,
      createUser
        ? 'echo "lateuser:x:4242:4242::/nonexistent:/usr/sbin/nologin" >> "$HA_GEN_ROOT/etc/passwd"; ' +
            'echo "lateuser:x:4242:" >> "$HA_GEN_ROOT/etc/group"'
        : "true",
    ),
    ...scriptOn(use, 'test -s "$HA_GEN_ROOT/var/lib/late/cookie"'),
  ];
  return { steps: [install, use], artifacts };
}

describe("files whose owner appears only after the first step", () => {
  it("fails the second step clearly when the owner never appears", async () => {
    const rec = recorder();
    const { steps, artifacts } = plan(false);
    const transport = await labTransport(lab);
    const root = join(roots, "{node}");
    const r = await deploy({ artifacts, plan: { steps }, transport, root, rootSteps: true, onEvent: rec.sink });
    expect(r.ok).toBe(false);
    expect(r.failed).toMatchObject({ step: "s2-use", node: "d1" });
    expect(r.failed!.message).toBe(
      "owner lateuser:lateuser of /var/lib/late/cookie does not exist on d1 after the OS-preparation step",
    );
    expect(rec.of("warning").some((w) => w.message.includes("/var/lib/late/cookie lateuser:lateuser"))).toBe(true);
  });

  it("are pushed with their owner once the first step created it", async () => {
    const { steps, artifacts } = plan(true);
    const transport = await labTransport(lab);
    const r = await deploy({ artifacts, plan: { steps }, transport, root: join(roots, "{node}"), rootSteps: true });
    expect(r.failed).toBeUndefined();
    const p = join(roots, "d1", "var/lib/late/cookie");
    expect(readFileSync(p, "utf8")).toBe("late-content\n");
    const st = statSync(p);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([4242, 4242, 0o400]);
  });
});
