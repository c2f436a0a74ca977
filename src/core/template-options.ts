/** Nunjucks options shared by the build-time compiler and the run-time environment (they must agree). */
export const TEMPLATE_OPTIONS = {
  autoescape: false,
  throwOnUndefined: true,
  trimBlocks: true,
  lstripBlocks: true,
} as const;
