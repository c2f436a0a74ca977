import { mkdirSync } from "node:fs";
import { join } from "node:path";

// CLIs the tests spawn keep Node's compile cache under the checkout, not in the user's cache home.
// Created here because a fresh clone has no node_modules/.cache and tests put work dirs beside it.
const home = join(import.meta.dirname, "../../node_modules/.cache/ha-gen-test-home");
mkdirSync(home, { recursive: true });
process.env.XDG_CACHE_HOME = home;
