import { join } from "node:path";

// CLIs the tests spawn keep Node's compile cache under the checkout, not in the user's cache home.
process.env.XDG_CACHE_HOME = join(import.meta.dirname, "../../node_modules/.cache/ha-gen-test-home");
