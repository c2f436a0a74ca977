import nunjucks from "nunjucks";
import { TEMPLATE_OPTIONS } from "./template-options.js";

/**
 * Build-time only (tsup and vitest load *.njk through this): compiles a template to the module
 * nunjucks itself would build at run time, so the CLI never parses templates when it starts.
 */
export function precompiledModule(source: string, name: string): string {
  const code = (
    nunjucks as unknown as {
      compiler: {
        compile(src: string, asyncFilters: string[], extensions: unknown[], name: string, opts: object): string;
      };
    }
  ).compiler.compile(source, [], [], name, TEMPLATE_OPTIONS);
  return `export default { type: "code", obj: (function () {\n${code}\n})() };\n`;
}
