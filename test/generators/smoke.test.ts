import { describe, expect, it } from "vitest";
import { renderExample } from "../helpers/examples.js";

describe("smoke", () => {
  it("renders both examples", () => {
    for (const name of ["train-ha", "lab"] as const) {
      const r = renderExample(name);
      expect(r.artifacts.length).toBeGreaterThan(0);
    }
  });
});
