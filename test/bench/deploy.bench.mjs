#!/usr/bin/env node
// Benchmark of `ha-gen deploy` (npm run bench:deploy, after the build): push the train-ha example's
// rendered files (9 nodes) to 9 real sshd instances on loopback three ways — ha-gen deploy
// --only push, Ansible's copy module (if ansible-playbook is installed) and a sequential scp loop
// like the seed guide's — then time a no-change redeploy. Prints times and ratios. Loopback only;
// every server is started and stopped here by pid.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createJiti } from "jiti";

const repo = new URL("../..", import.meta.url).pathname;
const cli = join(repo, "dist/cli/bin.js");
const jiti = createJiti(import.meta.url);
const { startSshdLab } = await jiti.import(join(repo, "test/helpers/deploy-sshd.ts"));

const work = mkdtempSync(join(tmpdir(), "ha-gen-bench-"));
const rendered = join(work, "rendered");
const secrets = join(work, "bench.secrets.yaml");

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.slice(0, 4).join(" ")}… exited ${code}:\n${out.slice(-3000)}`));
      else resolve({ ms, out });
    });
  });
}

function files(dir) {
  const out = [];
  const rec = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else out.push(relative(dir, p));
    }
  };
  rec(dir);
  return out.sort();
}

function sameTree(a, b) {
  const fa = files(a);
  const fb = files(b).filter((f) => f !== "etc/passwd" && f !== "etc/group");
  if (JSON.stringify(fa) !== JSON.stringify(fb)) return false;
  return fa.every(
    (f) =>
      readFileSync(join(a, f)).equals(readFileSync(join(b, f))) &&
      (statSync(join(a, f)).mode & 0o7777) === (statSync(join(b, f)).mode & 0o7777),
  );
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
let lab;
try {
  await run(process.execPath, [
    cli,
    "render",
    join(repo, "examples/train-ha/cluster.ts"),
    "--out",
    rendered,
    "--secrets",
    secrets,
  ]);
  const nodes = readdirSync(rendered, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const plan = JSON.parse(readFileSync(join(rendered, "plan.json"), "utf8"));
  const order = [...new Set(plan.steps.flatMap((s) => s.nodes))];
  const nodeNames = [...order, ...nodes.filter((n) => !order.includes(n))];
  const totalFiles = nodeNames.reduce((n, node) => n + files(join(rendered, node)).length, 0);
  lab = await startSshdLab(nodeNames, { addressBase: 100 });
  console.log(
    `train-ha: ${nodeNames.length} nodes, ${totalFiles} files; ` +
      `${nodeNames.length} sshd instances on 127.0.0.100-${99 + nodeNames.length}`,
  );
  const results = {};

  // 1. ha-gen deploy --only push (a fresh process, as an operator runs it). Like a staged system
  // image, each tree has its own /etc/passwd and /etc/group naming the files' owners (e.g. the
  // CentOS group "nobody", unknown on this Debian host); ha-gen resolves owners there under --root.
  const hagenRoot = join(work, "hagen");
  const manifest = JSON.parse(readFileSync(join(rendered, "manifest.json"), "utf8"));
  const owners = [...new Set(manifest.files.map((f) => f.owner))];
  const groups = [...new Set(manifest.files.map((f) => f.group))];
  for (const n of nodeNames) {
    mkdirSync(join(hagenRoot, n, "etc"), { recursive: true });
    writeFileSync(
      join(hagenRoot, n, "etc/passwd"),
      owners
        .map(
          (o, i) =>
            `${o}:x:${o === "root" ? 0 : 900 + i}:${o === "root" ? 0 : 900 + i}::/nonexistent:/usr/sbin/nologin\n`,
        )
        .join(""),
    );
    writeFileSync(
      join(hagenRoot, n, "etc/group"),
      groups.map((g, i) => `${g}:x:${g === "root" ? 0 : 900 + i}:\n`).join(""),
    );
  }
  const deployArgs = [
    cli,
    "deploy",
    rendered,
    "--secrets",
    secrets,
    "--ssh-config",
    lab.sshConfig,
    "--known-hosts",
    lab.knownHosts,
    "--root",
    `${hagenRoot}/{node}`,
    "--only",
    "push",
    "--no-log",
  ];
  results.hagen = (await run(process.execPath, deployArgs)).ms;
  const redeploy = await run(process.execPath, deployArgs);
  if (!/no changes/.test(redeploy.out)) throw new Error(`the redeploy changed something:\n${redeploy.out}`);
  results.redeploy = redeploy.ms;
  for (const n of nodeNames)
    if (!sameTree(join(rendered, n), join(hagenRoot, n)))
      throw new Error(`ha-gen tree of ${n} differs from the rendered one`);

  const sshOpts = [
    "-o",
    `UserKnownHostsFile=${lab.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-i",
    lab.clientKey,
  ];

  // 2. Ansible copy module, one play over the 9 hosts (forks = 9 so it is not throttled to 5).
  const ansible = spawnSync("sh", ["-c", "command -v ansible-playbook"], { encoding: "utf8" });
  if (ansible.status === 0) {
    const ansRoot = join(work, "ansible");
    const inv = join(work, "inventory.ini");
    writeFileSync(
      inv,
      lab.instances
        .map(
          (s) =>
            `${s.name} ansible_host=${s.host} ansible_port=${s.port} ` +
            `ansible_user=root ansible_ssh_private_key_file=${lab.clientKey}`,
        )
        .join("\n") +
        `\n\n[all:vars]\n` +
        `ansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=yes'\n` +
        `ansible_python_interpreter=/usr/bin/python3\n`,
    );
    const book = join(work, "push.yml");
    writeFileSync(
      book,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: push the rendered tree\n` +
        `      copy:\n        src: "${rendered}/{{ inventory_hostname }}/"\n` +
        `        dest: "${ansRoot}/{{ inventory_hostname }}/"\n        mode: preserve\n`,
    );
    const env = {
      ...process.env,
      ANSIBLE_HOME: join(work, "ansible-home"),
      ANSIBLE_LOCAL_TEMP: join(work, "ansible-tmp"),
      ANSIBLE_NOCOWS: "1",
    };
    results.ansible = (await run("ansible-playbook", ["-i", inv, "-f", String(nodeNames.length), book], { env })).ms;
    for (const n of nodeNames)
      if (!sameTree(join(rendered, n), join(ansRoot, n))) throw new Error(`ansible tree of ${n} differs`);
  } else {
    console.log(
      "ansible: skipped — ansible-playbook is not installed (apt-get install -y --no-install-recommends ansible)",
    );
  }

  // 3. Sequential scp, one file at a time like the guide's loops (directories made beforehand, not timed).
  const scpRoot = join(work, "scp");
  for (const n of nodeNames)
    for (const f of files(join(rendered, n))) mkdirSync(join(scpRoot, n, f, ".."), { recursive: true });
  const t0 = process.hrtime.bigint();
  for (const s of lab.instances) {
    for (const f of files(join(rendered, s.name))) {
      await run("scp", [
        "-q",
        "-p",
        ...sshOpts,
        "-P",
        String(s.port),
        join(rendered, s.name, f),
        `root@${s.host}:${join(scpRoot, s.name, f)}`,
      ]);
    }
  }
  results.scp = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const n of nodeNames)
    if (!sameTree(join(rendered, n), join(scpRoot, n))) throw new Error(`scp tree of ${n} differs`);

  console.log("");
  console.log(`ha-gen deploy --only push      ${fmt(results.hagen)}`);
  if (results.ansible !== undefined)
    console.log(
      `ansible-playbook (copy)        ${fmt(results.ansible)}   ` +
        `ratio ${(results.ansible / results.hagen).toFixed(1)}x  (target >= 10x)`,
    );
  console.log(
    `sequential scp loop            ${fmt(results.scp)}   ` +
      `ratio ${(results.scp / results.hagen).toFixed(1)}x  (target >= 3x)`,
  );
  console.log(`no-change redeploy (9 nodes)   ${fmt(results.redeploy)}   (target <= 2 s)`);
  console.log(
    `load average: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}` +
      ` on ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores`,
  );
} finally {
  await lab?.stop();
  rmSync(work, { recursive: true, force: true });
}
