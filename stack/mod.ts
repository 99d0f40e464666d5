/**
 * `deno task start` as a module: {@linkcode runStack} runs cassemdb,
 * cassemadm and cassemagent together (`run_stack.ts`), on the layout of
 * {@linkcode stackLayout} (`layout.ts`), with the flags of
 * {@linkcode parseStackFlags} (`flags.ts`).
 *
 * @module
 */

export { runStack, summary } from "./run_stack.ts";
export { type DbNodeLayout, type StackLayout, stackLayout } from "./layout.ts";
export {
  DEFAULT_PORT_BASE,
  MAX_CLUSTER,
  parseStackFlags,
  type StackFlags,
  TOP_PORT_OFFSET,
  USAGE,
} from "./flags.ts";
export * from "./errors.ts";
