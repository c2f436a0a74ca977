import * as z from "zod";
import { clusterSpecSchema } from "./spec/schema.js";

/** JSON Schema of what users write (input side: defaults are optional). */
export function specJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(clusterSpecSchema, { io: "input", unrepresentable: "any" }),
    title: "ha-gen cluster spec",
  };
}
