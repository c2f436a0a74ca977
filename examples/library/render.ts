/**
 * ha-gen as a library: validate a spec, render it in memory and look at what would be written,
 * without the CLI and without touching a file. Run it with any TypeScript runner, e.g.
 *   npx jiti examples/library/render.ts        (from a checkout, after `npm run build`)
 *   npx tsx render.ts                          (in your own project, after `npm i -D ha-gen`)
 */
import { fillSecrets, formatIssue, renderCluster, validateSpec } from "ha-gen";
import spec from "../lab/cluster.ts";

// 1. Validation never throws: every problem comes back as data, with its path and the reason.
const v = validateSpec(spec);
// A warning the spec acknowledges (safety.acknowledge) is reviewed: the CLI does not print it either.
for (const w of v.warnings) if (!w.acknowledged) console.error(formatIssue(w));
if (!v.ok) {
  for (const e of v.errors) console.error(formatIssue(e));
  process.exit(1);
}

// 2. Secrets. The CLI keeps them in a 0600 YAML file (fillSecrets reads its text and fills missing
// keys; serializeSecrets writes it back). Here they are generated in memory and never printed.
const { state } = fillSecrets(undefined);

// 3. Render: pure, no files, environment, clock or network. Artifacts are every node's files.
const { artifacts, plan, cluster } = renderCluster(spec, state.secrets);

for (const node of cluster.nodes) {
  const files = artifacts.filter((a) => a.node === node.hostname);
  const secret = files.filter((a) => a.secret);
  console.log(`${node.hostname}: ${files.length} files, ${secret.length} of them secret (mode 0600 or 0640)`);
}

// One file's content: the HAProxy listeners on the VIP.
const haproxy = artifacts.find((a) => a.node === cluster.controllers[0]!.hostname && a.path.endsWith("haproxy.cfg"));
const listeners = [...(haproxy?.content ?? "").matchAll(/^listen (\S+)\n\s+bind (\S+)/gm)].map(
  (m) => `${m[1]} ${m[2]}`,
);
console.log(`HAProxy listeners: ${listeners.join(", ")}`);

// The plan: the ordered steps `ha-gen deploy` runs.
console.log(`plan: ${plan.steps.length} steps`);
for (const s of plan.steps) console.log(`  ${s.id} (${s.mode}) on ${s.nodes.join(", ")}`);
