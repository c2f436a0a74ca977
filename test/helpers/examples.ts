import lab from "../../examples/lab/cluster.ts";
import trainHa from "../../examples/train-ha/cluster.ts";
import type { Artifact } from "../../src/core/artifact.js";
import { renderCluster, type RenderResult } from "../../src/render.js";
import type { Rendered } from "../../generators/synth.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";

export const EXAMPLES = { "train-ha": trainHa, lab } as const;
export type ExampleName = keyof typeof EXAMPLES;

/** Render a bundled example with the fake secrets fixture. */
export function renderExample(name: ExampleName): RenderResult {
  return renderCluster(EXAMPLES[name], FAKE_SECRETS);
}

export function artifactAt(r: Rendered, node: string, path: string): Artifact {
  const a = r.artifacts.find((x) => x.node === node && x.path === path);
  if (!a) throw new Error(`no artifact ${node}:${path}`);
  return a;
}
